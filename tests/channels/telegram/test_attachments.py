"""An officer on Telegram opens a citizen's files: a Telegram file goes by its file id with the send method of its
kind (a voice note as a voice note), and a web chat citizen's photo is uploaded from the desk's own disk."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime

from handlers.conversation.messages import Attachment, Reply
from storage.models import OutboxMessage
from tests.channels.telegram.conftest import RigFactory
from tests.channels.telegram.fake_api import FakeBotAPI

CHAT = 7301
WEB_CHAT = "w" + "c" * 40
FILE = "d" * 32 + ".png"


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


async def test_opened_attachments_reach_a_telegram_officer(rig_factory: RigFactory, fake: FakeBotAPI) -> None:
    rig = await rig_factory(start=False)
    folder = rig.process.data_dir / "uploads" / WEB_CHAT
    folder.mkdir(parents=True)
    (folder / FILE).write_bytes(tiny_png())
    await rig.start()
    now = datetime.now(UTC)
    files = [
        ("voice", "tg-voice-file-id", "附件 1/3（语音）"),
        ("photo", f"webchat:{WEB_CHAT}/{FILE}", "附件 2/3（照片）"),
        ("document", "tg-document-file-id", "附件 3/3（文件）"),
    ]
    async with rig.db() as uow:
        for kind, ref, caption in files:
            reply = Reply(text=caption, attachment=Attachment(kind=kind, ref=ref))
            await uow.outbox.enqueue(
                OutboxMessage(channel="telegram", recipient=str(CHAT), payload=reply.to_payload(), priority=0,
                              essential=True, kind="reply", status="pending", attempts=0, not_before=now,
                              created_at=now)
            )  # fmt: skip
        await uow.commit()
    await fake.wait_until(lambda: len([s for s in fake.sent if s.chat_id == CHAT]) >= 6, 30)
    sent = [(s.kind, s.media, s.text) for s in fake.sent if s.chat_id == CHAT]
    media = [(kind, ref) for kind, ref, _ in sent if kind != "text"]
    assert [m[0] for m in media] == ["voice", "photo", "document"]
    assert media[0][1] == "tg-voice-file-id" and media[2][1] == "tg-document-file-id"  # by file id, no upload
    upload = media[1][1] or ""
    assert upload.startswith("attach://")  # the web chat photo went up as a file of its own
    [call] = fake.calls_of("sendPhoto")
    assert call.params[upload.removeprefix("attach://")] == FILE
    assert [text for kind, _, text in sent if kind == "text"] == [caption for *_, caption in files]

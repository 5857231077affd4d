"""Photos and voice notes a web chat citizen uploads: checked by their first bytes, stored under a random name,
counted against quotas per chat, per client address and overall, and removed after a day unless a ticket holds
them."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import BodyPartReader

from storage.models import Upload
from storage.repositories.webchat import (
    add_upload,
    attachment_refs,
    forget_uploads,
    known_uploads,
    lock_uploads,
    stale_uploads,
    upload_usage,
)
from storage.uow import Database

log = logging.getLogger(__name__)

# The first bytes decide what a file is; the browser's declared type only has to agree on photo vs voice.
# No SVG or HTML: nothing stored here may ever run as a script if someone later serves it.
PHOTO, VOICE = "photo", "voice"
NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|gif|webp|heic|ogg|webm|mp3|m4a|wav|amr|aac)$")
CHAT = re.compile(r"^w[0-9a-f]{40}$")
KIND_OF_EXTENSION = {
    **dict.fromkeys(("jpg", "png", "gif", "webp", "heic"), PHOTO),
    **dict.fromkeys(("ogg", "webm", "mp3", "m4a", "wav", "amr", "aac"), VOICE),
}
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def sniff(head: bytes, declared: str) -> str | None:
    """The file extension for these first bytes, or None when it is not a photo or voice format we take."""
    family = declared.split("/", 1)[0].strip().lower()
    found: str | None = None
    if head.startswith(b"\xff\xd8\xff"):
        found = "jpg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        found = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        found = "gif"
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = "webp"
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        found = "wav"
    elif head[4:8] == b"ftyp":
        # ISO media: HEIF photos by brand; otherwise only audio the browser says is audio (a phone's m4a).
        found = "heic" if head[8:12] in _HEIF_BRANDS else ("m4a" if family == "audio" else None)
    elif head.startswith(b"OggS"):
        found = "ogg"
    elif head.startswith(b"\x1a\x45\xdf\xa3"):
        found = "webm" if family == "audio" else None
    elif head.startswith(b"#!AMR"):
        found = "amr"
    elif head.startswith(b"ID3"):
        found = "mp3"
    elif len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        found = "aac"  # ADTS
    elif len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        found = "mp3"  # an MPEG audio frame without an ID3 tag
    if found is None:
        return None
    expected = "image" if KIND_OF_EXTENSION[found] == PHOTO else "audio"
    return found if family == expected else None


@dataclass(frozen=True)
class Stored:
    name: str
    kind: str
    size: int


class UploadRefused(Exception):
    def __init__(self, status: int, msgid: str) -> None:
        super().__init__(msgid)
        self.status, self.msgid = status, msgid


KEEP = timedelta(days=1)  # a file no ticket holds after this long is removed
SWEEP_EVERY = 3600.0  # seconds between clean-ups
ADDRESS_WINDOW = timedelta(days=1)  # the per-address quota counts what came in this long


@dataclass(frozen=True)
class UploadQuota:
    per_chat: int  # files one chat (web chat session) may keep
    per_address: int  # files one client address may upload per ADDRESS_WINDOW, whatever its sessions
    per_address_bytes: int
    unattached_bytes: int  # bytes of files no ticket holds yet, from everyone together


class Uploads:
    """`<data dir>/uploads/<chat id>/<32 hex>.<ext>`: a chat can only attach what it uploaded itself. Each file has
    a row (storage.models.Upload) with its chat, address and size, so the quotas hold across processes."""

    def __init__(self, root: Path, max_bytes: int, quota: UploadQuota) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.quota = quota
        # Uploads on their way in this process, counted at their largest size until their row is written: a burst
        # of requests at the same instant cannot all pass the quota before any of them is recorded.
        self._coming_chat: Counter[str] = Counter()
        self._coming_address: Counter[str] = Counter()
        self._coming = 0

    def folder(self, chat_id: str) -> Path:
        return self.root / chat_id

    def find(self, chat_id: str, name: str) -> Stored | None:
        if not NAME.fullmatch(name):
            return None
        path = self.folder(chat_id) / name
        if not path.is_file():
            return None
        return Stored(name=name, kind=KIND_OF_EXTENSION[name.rsplit(".", 1)[1]], size=path.stat().st_size)

    async def store(
        self,
        db: Database,
        chat_id: str,
        address: str,
        part: BodyPartReader,
        clock: Callable[[], datetime],
        deadline: float,
    ) -> Stored:
        """Check the quotas, stream one multipart part to disk, record it; refuse a foreign type, an oversize file
        or one over a quota, leaving nothing behind. `address` is a keyed hash of the client address."""
        declared = part.headers.get("Content-Type", "")
        if not declared.lower().startswith(("image/", "audio/")):
            raise UploadRefused(415, "webchat.upload_type")
        async with asyncio.timeout(deadline):
            await self._admit(db, chat_id, address, clock())
        try:
            stored = await self._write(chat_id, part, declared)
            try:
                async with asyncio.timeout(deadline):
                    await self._record(db, chat_id, address, stored, clock())
            except BaseException:
                (self.folder(chat_id) / stored.name).unlink(missing_ok=True)
                raise
            return stored
        finally:
            for counter, key in ((self._coming_chat, chat_id), (self._coming_address, address)):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]
            self._coming -= 1

    async def _admit(self, db: Database, chat_id: str, address: str, now: datetime) -> None:
        """Refuse an upload over a quota, or count it as coming. After the one read, the checks and the counting
        happen without a pause, so uploads arriving at the same instant are admitted one after the other."""
        async with db.reading() as uow:
            usage = await upload_usage(uow.session, chat_id, address, now - ADDRESS_WINDOW)
        quota, largest = self.quota, self.max_bytes  # one on its way counts as the largest it may be
        if usage.chat_files + self._coming_chat[chat_id] >= quota.per_chat:
            raise UploadRefused(429, "webchat.upload_quota")
        coming = self._coming_address[address]
        if (
            usage.address_files + coming >= quota.per_address
            or usage.address_bytes + (coming + 1) * largest > quota.per_address_bytes
        ):
            raise UploadRefused(429, "webchat.upload_later")
        if usage.unattached_bytes + (self._coming + 1) * largest > quota.unattached_bytes:
            log.warning("web chat uploads: the overall quota is reached; refusing uploads for now")
            raise UploadRefused(503, "webchat.upload_later")
        self._coming_chat[chat_id] += 1
        self._coming_address[address] += 1
        self._coming += 1

    async def _record(self, db: Database, chat_id: str, address: str, stored: Stored, now: datetime) -> None:
        async with db() as uow:
            dialect = "sqlite" if db.sqlite else "postgresql"
            await lock_uploads(uow.session, dialect)
            usage = await upload_usage(uow.session, chat_id, address, now - ADDRESS_WINDOW)
            if usage.chat_files >= self.quota.per_chat:  # another process took the last place meanwhile
                raise UploadRefused(429, "webchat.upload_quota")
            if usage.address_files >= self.quota.per_address:
                raise UploadRefused(429, "webchat.upload_later")
            row = Upload(chat_id=chat_id, name=stored.name, address=address, size=stored.size, created_at=now)
            await add_upload(uow.session, row)
            await uow.commit()

    async def _write(self, chat_id: str, part: BodyPartReader, declared: str) -> Stored:
        folder = self.folder(chat_id)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{secrets.token_hex(16)}.part"
        size, extension = 0, None
        try:
            with partial.open("wb") as handle:
                while chunk := await part.read_chunk(64 * 1024):
                    if extension is None:
                        extension = sniff(chunk[:32], declared)
                        if extension is None:
                            raise UploadRefused(415, "webchat.upload_type")
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadRefused(413, "webchat.upload_too_large")
                    handle.write(chunk)
            if extension is None:
                raise UploadRefused(400, "webchat.upload_empty")
            name = f"{secrets.token_hex(16)}.{extension}"
            os.replace(partial, folder / name)
        finally:
            partial.unlink(missing_ok=True)
        return Stored(name=name, kind=KIND_OF_EXTENSION[extension], size=size)

    # ---- the clean-up: files no ticket holds are removed after a day

    async def sweep_forever(self, db: Database, clock: Callable[[], datetime], every: float = SWEEP_EVERY) -> None:
        while True:
            try:
                removed = await self.sweep(db, clock())
                if removed:
                    log.info("web chat uploads: removed %d files no ticket holds", removed)
            except Exception as error:
                log.warning("web chat uploads: clean-up failed (%s); trying again later", type(error).__name__)
            await asyncio.sleep(every)

    async def sweep(self, db: Database, now: datetime) -> int:
        """Remove every file kept longer than KEEP that no ticket holds (its row too); mark the held ones kept for
        good. Files without a row (a crash between the file and its row, or older than the rows) are judged the
        same way. Returns how many files were removed."""
        before = now - KEEP
        on_disk = await asyncio.to_thread(self._old_files, before)
        removed = 0
        async with db() as uow:
            stale = await stale_uploads(uow.session, before)
            known = await known_uploads(uow.session, on_disk)
            orphans = {name: found for name, found in on_disk.items() if name not in known}
            if not stale and not orphans:
                return 0
            oldest = min([*(u.created_at for u in stale), *(changed for _, changed in orphans.values())])
            held = await attachment_refs(uow.session, oldest - timedelta(hours=1))
            gone: list[str] = []
            for upload in stale:
                if f"webchat:{upload.chat_id}/{upload.name}" in held:
                    upload.attached_at = now
                else:
                    (self.folder(upload.chat_id) / upload.name).unlink(missing_ok=True)
                    gone.append(upload.name)
            for name, (path, changed) in orphans.items():
                chat_id = path.parent.name
                if f"webchat:{chat_id}/{name}" in held and NAME.fullmatch(name):
                    size = path.stat().st_size
                    row = Upload(chat_id=chat_id, name=name, address="", size=size, created_at=changed)
                    row.attached_at = now
                    await add_upload(uow.session, row)
                else:
                    path.unlink(missing_ok=True)
                    removed += 1
            await forget_uploads(uow.session, gone)
            await uow.commit()
        return removed + len(gone)

    def _old_files(self, before: datetime) -> dict[str, tuple[Path, datetime]]:
        """Files (and partial files) last changed before `before`: name → (path, when)."""
        found: dict[str, tuple[Path, datetime]] = {}
        if not self.root.is_dir():
            return found
        limit = before.timestamp()
        for folder in self.root.iterdir():
            if not folder.is_dir() or not CHAT.fullmatch(folder.name):
                continue
            for path in folder.iterdir():
                try:
                    changed = path.stat().st_mtime
                except OSError:
                    continue
                if path.is_file() and changed < limit:
                    found[path.name] = (path, datetime.fromtimestamp(changed, UTC))
        return found


def upload_path(root: Path, ref: str) -> Path | None:
    """The file behind an attachment ref `webchat:<chat id>/<name>`, for whoever needs to open it later."""
    prefix, _, rest = ref.partition(":")
    chat_id, _, name = rest.partition("/")
    if prefix != "webchat" or not CHAT.fullmatch(chat_id) or not NAME.fullmatch(name):
        return None
    path = root / chat_id / name
    return path if path.is_file() else None

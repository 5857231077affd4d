"""Reply → what WeChat shows: text with the choices written out as numbered lines, split under the 2048-byte limit
of a text message, and images by their WeChat media id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.channels import text_menu
from bot.channels.wechat.updates import MEDIA_PREFIX
from handlers.conversation.messages import Reply

TEXT_LIMIT = 2000  # bytes of UTF-8: WeChat refuses text over 2048 (45002), passive or customer-service


@dataclass(frozen=True)
class Part:
    """One WeChat message: a text, or an image by media id."""

    text: str | None = None
    media_id: str | None = None
    media: str = "image"  # image | voice | video: WeChat's message type for the media id

    def custom(self) -> dict[str, object]:
        """The body of a customer-service message (/cgi-bin/message/custom/send), less `touser`."""
        if self.media_id is not None:
            return {"msgtype": self.media, self.media: {"media_id": self.media_id}}
        return {"msgtype": "text", "text": {"content": self.text or ""}}


Say = Callable[..., str]


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Chunks of at most `limit` UTF-8 bytes, cut at a paragraph, line or space where one is near."""
    chunks: list[str] = []
    rest = text
    while len(rest.encode()) > limit:
        cut = _fit(rest, limit)
        head = rest[:cut]
        for sep in ("\n\n", "\n", " ", "。", "，"):
            at = head.rfind(sep)
            if at > cut // 2:
                cut = at + len(sep)
                break
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest.strip() or not chunks:
        chunks.append(rest)
    return chunks


def _fit(text: str, limit: int) -> int:
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(text[:middle].encode()) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def written(reply: Reply, say: Say, *, with_menu: bool = True) -> str:
    """The reply as one text: its choices numbered, a hint where the desk asks for a phone or a location."""
    text = text_menu.render(reply, say) if with_menu else reply.text
    if reply.request:
        text = f"{text}\n\n{say(f'wechat.request_hint.{reply.request}')}"
    return text


def render(reply: Reply, say: Say) -> list[Part]:
    parts: list[Part] = []
    if reply.photo and reply.photo.startswith(MEDIA_PREFIX):
        parts.append(Part(media_id=reply.photo.removeprefix(MEDIA_PREFIX)))
    found = reply.attachment
    if found is not None and found.ref.startswith(MEDIA_PREFIX):  # a citizen's file an officer opened
        media = {"photo": "image", "voice": "voice", "video": "video"}.get(found.kind, "image")
        parts.append(Part(media_id=found.ref.removeprefix(MEDIA_PREFIX), media=media))
    parts.extend(Part(text=chunk) for chunk in split_text(written(reply, say)))
    return parts


def passive_text(replies: Sequence[Reply], say_for: Callable[[Reply], Say]) -> str | None:
    """A turn's replies as the one text message a passive answer can carry: only the last choices are written out
    (they are what a typed number answers); None when that does not fit or a reply holds an image."""
    if not replies or any((r.photo and r.photo.startswith(MEDIA_PREFIX)) or r.attachment for r in replies):
        return None
    last_menu = max((i for i, r in enumerate(replies) if r.buttons), default=-1)
    texts = [written(r, say_for(r), with_menu=i == last_menu) for i, r in enumerate(replies)]
    combined = "\n\n".join(t for t in texts if t.strip())
    return combined if combined and len(combined.encode()) <= TEXT_LIMIT else None

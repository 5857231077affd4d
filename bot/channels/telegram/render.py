"""Reply → the Telegram messages that show it: escaped HTML, split under 4096, inline buttons, request keyboards."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.channels.telegram.callbacks import CallbackSigner, CallbackTooLong
from handlers.conversation.messages import Reply

log = logging.getLogger(__name__)

TEXT_LIMIT = 4000  # Telegram allows 4096 UTF-16 units after entities; keep a margin
CAPTION_LIMIT = 1024

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class Part:
    """One Bot API call: a text message, or a photo."""

    text: str | None  # HTML, already escaped
    markup: Markup | None = None
    photo: str | None = None  # a file id (or a web chat upload's ref) sent as `media`
    media: str = "photo"  # photo | voice | audio | video | document: which send method carries it


@dataclass(frozen=True)
class Rendered:
    parts: tuple[Part, ...]
    keyboard_shown: bool  # whether a reply keyboard stays open in the chat after these parts


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Escaped chunks, each under `limit` UTF-16 units, cut at paragraph, line or word breaks where possible."""
    chunks: list[str] = []
    rest = text
    while utf16_len(escape(rest)) > limit:
        cut = _fit(rest, limit)
        head = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            at = head.rfind(sep)
            if at > cut // 2:
                cut = at + len(sep)
                break
        chunks.append(escape(rest[:cut].rstrip()))
        rest = rest[cut:].lstrip("\n")
    if rest.strip() or not chunks:
        chunks.append(escape(rest))
    return chunks


def _fit(text: str, limit: int) -> int:
    """The longest prefix whose escaped form fits; a surrogate pair or '&amp;' is never cut in half."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if utf16_len(escape(text[:middle])) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def inline_keyboard(reply: Reply, chat_id: str, signer: CallbackSigner) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    for row in reply.buttons:
        cells = []
        for button in row:
            try:
                data = signer.sign(chat_id, button.data)
            except CallbackTooLong:
                log.error("button data over 64 bytes left out: %d bytes", len(button.data.encode()))
                continue
            cells.append(InlineKeyboardButton(text=button.label, callback_data=data))
        if cells:
            rows.append(cells)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def request_keyboard(reply: Reply) -> ReplyKeyboardMarkup:
    label = reply.request_label or reply.request or ""
    button = KeyboardButton(
        text=label, request_contact=reply.request == "contact", request_location=reply.request == "location"
    )
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)


def render(
    reply: Reply,
    *,
    chat_id: str,
    signer: CallbackSigner,
    keyboard_shown: bool,
    request_hint: Callable[[Reply], str],
) -> Rendered:
    """A reply keyboard (contact / location request) and inline buttons cannot share one message, so a reply that
    needs both gets a short second message for the request; an open request keyboard is removed by the next message
    that can carry the removal."""
    parts: list[Part] = []
    if reply.photo:
        parts.append(Part(text=None, photo=reply.photo))
    if reply.attachment is not None:  # a citizen's file an officer opened: by its file id, or uploaded from the disk
        parts.append(Part(text=None, photo=reply.attachment.ref, media=reply.attachment.kind))
    chunks = split_text(reply.text)
    inline = inline_keyboard(reply, chat_id, signer)
    if reply.request:
        keyboard = request_keyboard(reply)
        if inline is None:
            parts.extend(Part(c) for c in chunks[:-1])
            parts.append(Part(chunks[-1], keyboard))
        else:
            parts.extend(Part(c) for c in chunks[:-1])
            parts.append(Part(chunks[-1], inline))
            parts.append(Part(escape(request_hint(reply)), keyboard))
        return Rendered(tuple(parts), keyboard_shown=True)
    if not keyboard_shown:
        parts.extend(Part(c) for c in chunks[:-1])
        parts.append(Part(chunks[-1], inline))
        return Rendered(tuple(parts), keyboard_shown=False)
    if inline is None:
        parts.append(Part(chunks[0], ReplyKeyboardRemove(remove_keyboard=True)))
        parts.extend(Part(c) for c in chunks[1:])
        return Rendered(tuple(parts), keyboard_shown=False)
    if len(chunks) == 1:
        chunks = _split_last_line(reply.text) or chunks
    if len(chunks) == 1:
        # Nowhere to put the removal: the keyboard is one-time, so it is already folded away on the phone.
        parts.append(Part(chunks[0], inline))
        return Rendered(tuple(parts), keyboard_shown=True)
    parts.append(Part(chunks[0], ReplyKeyboardRemove(remove_keyboard=True)))
    parts.extend(Part(c) for c in chunks[1:-1])
    parts.append(Part(chunks[-1], inline))
    return Rendered(tuple(parts), keyboard_shown=False)


def _split_last_line(text: str) -> list[str] | None:
    head, sep, tail = text.rstrip().rpartition("\n")
    if not sep or not head.strip() or not tail.strip():
        return None
    return [escape(head.rstrip()), escape(tail.strip())]

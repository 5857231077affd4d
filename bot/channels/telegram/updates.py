"""A Telegram Update → one Incoming for the desk. Nothing here decides anything: it only translates."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import CallbackQuery, Message, Update

from handlers.conversation.messages import Attachment, Contact, Incoming, Location

CHANNEL = "telegram"


def update_key(update_id: int, where: str) -> str:
    """The update id, plus what it carries: Telegram picks update ids at random after a quiet week, so the id alone
    could one day match an old inbox entry and a new message would be dropped as a repeat."""
    return f"{update_id}:{where}"


def update_id_of(key: str) -> int:
    return int(key.split(":", 1)[0])


ALLOWED_UPDATES = ["message", "callback_query"]


@dataclass(frozen=True)
class Received:
    """What the channel needs besides the Incoming: who sent it, and the button press to answer."""

    incoming: Incoming
    user_id: int | None
    callback: CallbackQuery | None = None
    signed_choice: str | None = None  # raw callback data, still to be verified


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        found.append(Attachment(kind="photo", ref=largest.file_id, size=largest.file_size))
    if message.voice:
        found.append(Attachment(kind="voice", ref=message.voice.file_id, size=message.voice.file_size))
    if message.audio:
        found.append(
            Attachment(
                kind="audio", ref=message.audio.file_id, name=message.audio.file_name, size=message.audio.file_size
            )
        )
    if message.video:
        found.append(Attachment(kind="video", ref=message.video.file_id, size=message.video.file_size))
    if message.document:
        document = message.document
        found.append(
            Attachment(kind="document", ref=document.file_id, name=document.file_name, size=document.file_size)
        )
    return tuple(found)


def from_message(update_id: int, message: Message) -> Received:
    user = message.from_user
    contact = None
    if message.contact is not None:
        own = user is not None and message.contact.user_id == user.id
        contact = Contact(phone=message.contact.phone_number, own=own)
    location = None
    if message.location is not None:
        location = Location(latitude=message.location.latitude, longitude=message.location.longitude)
    incoming = Incoming(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        update_key=update_key(update_id, f"{message.chat.id}/{message.message_id}"),
        text=message.text if message.text is not None else message.caption,
        contact=contact,
        location=location,
        attachments=attachments_of(message),
        language=user.language_code if user else None,
    )
    return Received(incoming=incoming, user_id=user.id if user else None)


def from_callback(update_id: int, query: CallbackQuery) -> Received | None:
    message = query.message
    if message is None:  # a button under an inline-mode message: no chat of ours
        return None
    incoming = Incoming(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        update_key=update_key(update_id, f"q{query.id}"),
        language=query.from_user.language_code,
    )
    return Received(incoming=incoming, user_id=query.from_user.id, callback=query, signed_choice=query.data)


def receive(update: Update) -> Received | None:
    """None for updates the desk has no use for (edits, polls, anything from a group or channel): they are
    acknowledged and dropped. The desk serves private chats only: a group is not a person, and a welcome or a
    privacy notice posted into one would tell everyone there that someone turned to the desk."""
    if update.message is not None:
        if update.message.chat.type != "private":
            return None
        return from_message(update.update_id, update.message)
    if update.callback_query is not None:
        message = update.callback_query.message
        if message is not None and message.chat.type != "private":
            return None
        return from_callback(update.update_id, update.callback_query)
    return None


def chat_of(update: Update) -> str:
    """Updates of one chat are handled in order; different chats in parallel."""
    if update.message is not None:
        return str(update.message.chat.id)
    if update.callback_query is not None and update.callback_query.message is not None:
        return str(update.callback_query.message.chat.id)
    return f"update:{update.update_id}"

"""A WeChat message or event → one Incoming for the desk, with the inbox key WeChat's retries repeat. Nothing here
decides anything: it only translates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.channels.wechat.wire import Message
from handlers.conversation.messages import Attachment, Incoming, Location

CHANNEL = "wechat"
MEDIA_PREFIX = "wechat:"  # an attachment's ref: WeChat's temporary media id (3 days; /cgi-bin/media/get)

# What opens the customer-service window, and how far (the 2023 rules): a message 5 sends in 48 h; a menu click,
# a follow or a QR scan 3 sends in one minute. VIEW (a link in the menu) opens nothing.
WINDOW_MESSAGE = (5, 48 * 3600)
WINDOW_EVENT = (3, 60)


@dataclass(frozen=True)
class Received:
    openid: str
    key: str  # the inbox key: MsgId for messages; FromUserName + CreateTime + event for events
    incoming: Incoming | None = None  # None: nothing for the desk (a link opened, a location report, …)
    window: tuple[int, int] | None = None  # (sends, seconds) this update allows, None when it opens none
    unfollowed: bool = False
    grants: tuple[tuple[str, str], ...] = ()  # (template id, accept | reject) of subscription notifications


def event_key(message: Message) -> str:
    parts = [message.get("FromUserName"), message.get("CreateTime"), message.get("Event").lower()]
    if message.get("EventKey"):
        parts.append(hashlib.sha1(message.get("EventKey").encode()).hexdigest()[:12])
    return "e:" + ":".join(parts)


def _incoming(message: Message, key: str, **content: object) -> Incoming:
    return Incoming(channel=CHANNEL, chat_id=message.get("FromUserName"), update_key=key, **content)  # type: ignore[arg-type]


def _number(raw: str) -> float | None:
    try:
        return float(raw)
    except ValueError:
        return None


def receive(message: Message) -> Received | None:
    """None when the message names no sender (not something WeChat pushes)."""
    openid = message.get("FromUserName")
    kind = message.get("MsgType").lower()
    if not openid or not kind:
        return None
    if kind == "event":
        return _event(message, openid)
    key = "m:" + (message.get("MsgId") or f"{openid}:{message.get('CreateTime')}")
    if kind == "text":
        incoming = _incoming(message, key, text=message.get("Content"))
    elif kind in ("image", "voice", "video", "shortvideo"):
        attachment = Attachment(
            kind={"image": "photo", "voice": "voice"}.get(kind, "video"), ref=MEDIA_PREFIX + message.get("MediaId")
        )
        incoming = _incoming(message, key, attachments=(attachment,))
    elif kind == "location":
        latitude, longitude = _number(message.get("Location_X")), _number(message.get("Location_Y"))
        if latitude is None or longitude is None:
            incoming = _incoming(message, key, text="")
        else:
            incoming = _incoming(message, key, location=Location(latitude, longitude))
    elif kind == "link":
        incoming = _incoming(message, key, text=message.get("Url"))
    else:
        incoming = _incoming(message, key, text="")  # a kind the desk cannot read: it says what it can
    return Received(openid, key, incoming, window=WINDOW_MESSAGE)


def _event(message: Message, openid: str) -> Received:
    key = event_key(message)
    event = message.get("Event")
    name = event.lower()
    if name in ("subscribe", "scan"):
        # A follow (possibly by a QR code) or a scan by a follower: the desk greets them as /start does.
        return Received(openid, key, _incoming(message, key, text="/start"), window=WINDOW_EVENT)
    if name == "unsubscribe":
        return Received(openid, key, unfollowed=True)
    if name == "click":
        data = message.get("EventKey")
        content = {"text": data} if data.startswith("/") else {"choice": data}
        return Received(openid, key, _incoming(message, key, **content), window=WINDOW_EVENT)
    if name in ("subscribe_msg_popup_event", "subscribe_msg_change_event"):
        grants = tuple(
            (item.get("TemplateId", ""), item.get("SubscribeStatusString", "").lower())
            for item in message.items
            if item.get("TemplateId")
        )
        return Received(openid, key, grants=grants)
    return Received(openid, key)  # VIEW, LOCATION reports, send reports: acknowledged, nothing to do

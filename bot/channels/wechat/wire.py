"""WeChat's XML on the wire: a hardened parser for what arrives (no DTD, no entities, nothing external, a size
limit) and the passive replies that go back in the HTTP response."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_FIELDS = 64  # a real message has a dozen; more is not WeChat
MAX_LIST_ITEMS = 32  # subscription events list one entry per template
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Unreadable(Exception):
    """Malformed, hostile (DTD, entities, external references) or not a WeChat message."""


@dataclass(frozen=True)
class Message:
    """The flat fields of one pushed message, and the repeated <List> items of subscription events."""

    fields: dict[str, str]
    items: tuple[dict[str, str], ...] = field(default=())

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


def parse(body: bytes) -> Message:
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError, UnicodeError) as error:
        raise Unreadable(type(error).__name__) from error
    if root.tag != "xml" or len(root) > MAX_FIELDS:
        raise Unreadable("not a WeChat message")
    fields: dict[str, str] = {}
    items: list[dict[str, str]] = []
    for child in root:
        if len(child):
            items.extend(_items(child))
        else:
            fields[str(child.tag)] = (child.text or "").strip()
    return Message(fields, tuple(items[:MAX_LIST_ITEMS]))


def _items(parent: Element) -> list[dict[str, str]]:
    """<SubscribeMsgPopupEvent><List><TemplateId/>…</List>…</SubscribeMsgPopupEvent> → one dict per <List>."""
    found = []
    for item in list(parent)[:MAX_LIST_ITEMS]:
        found.append({str(leaf.tag): (leaf.text or "").strip() for leaf in list(item)[:MAX_FIELDS]})
    return found


def cdata(text: str) -> str:
    """Text as CDATA; characters XML cannot carry are dropped and ']]>' is split so it cannot close the section."""
    clean = _NOT_XML.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _envelope(to_user: str, from_user: str, kind: str, inner: str, now: int | None = None) -> str:
    created = int(time.time()) if now is None else now
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>{cdata(kind)}</MsgType>{inner}</xml>"
    )


def text_reply(to_user: str, from_user: str, content: str, now: int | None = None) -> str:
    return _envelope(to_user, from_user, "text", f"<Content>{cdata(content)}</Content>", now)


def image_reply(to_user: str, from_user: str, media_id: str, now: int | None = None) -> str:
    return _envelope(to_user, from_user, "image", f"<Image><MediaId>{cdata(media_id)}</MediaId></Image>", now)


def encrypted_reply(encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
    return (
        f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )

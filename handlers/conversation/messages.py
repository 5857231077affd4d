"""What every channel turns its platform's updates into (Incoming), and what it renders back (Reply)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

Request = Literal["contact", "location"]

# The notices that matter to a citizen (issue #13/#14): a ticket accepted, an officer asking to talk, a decision, the
# satisfaction callback. They may go as a WeChat subscription notification, a web push or an SMS when no chat can
# deliver them now; anything else waits for the person's next message.
ESSENTIAL_NOTICES: Final = frozenset({"accepted", "message", "decision", "callback"})


@dataclass(frozen=True)
class Contact:
    phone: str
    own: bool = True


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Attachment:
    kind: str  # photo | voice | document | video | audio
    ref: str  # the platform's file id, or an upload id of the web chat
    name: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "name": self.name, "size": self.size}


# C0 and C1 controls but tab, line feed and carriage return; bidirectional overrides and isolates (they can make a
# text read differently from what it says); U+FEFF. NUL in particular cannot be stored by PostgreSQL.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean(text: str) -> str:
    """What every channel's door does to typed text: a lone surrogate (possible in JSON and some platform payloads,
    and unencodable as UTF-8, so it would break sealing the conversation state) becomes U+FFFD; control characters
    but tab and newlines, and bidi overrides, are removed."""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _UNWANTED.sub("", text)


@dataclass(frozen=True)
class Incoming:
    channel: str
    chat_id: str
    update_key: str
    text: str | None = None
    choice: str | None = None
    contact: Contact | None = None
    location: Location | None = None
    attachments: tuple[Attachment, ...] = ()
    language: str | None = None
    origin: str | None = None  # where it came from as the channel sees it (a client address), for per-origin limits

    def __post_init__(self) -> None:
        for name in ("text", "choice"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, clean(value))

    @property
    def command(self) -> tuple[str, str] | None:
        """('/start', 'args') for a slash command; the '@botname' suffix is dropped."""
        if not self.text or not self.text.startswith("/"):
            return None
        head, _, args = self.text.strip().partition(" ")
        return head.split("@", 1)[0].lower(), args.strip()


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    """One message out. `sensitive` seals its outbox row at rest (a revealed phone, an invite code); `menu` tells the
    channel that the chat's command menu changed to that staff role's; `edit_of` replaces an earlier message (our
    outbox id, and the platform's id of it where the platform edits in place). `notice` says which notice a message
    that matters is (ESSENTIAL_NOTICES, or "alert" for an officer's ticket alert) and `facts` the few values a
    notification, a push or an SMS may carry in its place (the ticket `number`, a short `status`)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    request: Request | None = None
    request_label: str | None = None
    photo: str | None = None
    sensitive: bool = False
    typed: bool = False  # the answer is typed (a text, a number): a text-only channel must not number the buttons
    menu: str | None = None
    edit_of: int | None = None
    edit_message_id: str | None = None
    notice: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    # A file the message carries (an attachment an officer opens): each channel shows it as it can.
    attachment: Attachment | None = None
    # Its buttons are actions that stay usable (an officer's card, an alert, guide results), not a question that the
    # next one retires: a page that greys out answered questions leaves these alone.
    lasting: bool = False
    locale: str | None = None  # the chat's language changed to this: channels that show their own words follow

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": self.text}
        if self.buttons:
            payload["buttons"] = [[{"label": b.label, "data": b.data} for b in row] for row in self.buttons]
        if self.request:
            payload["request"] = self.request
            payload["request_label"] = self.request_label
        if self.typed:
            payload["typed"] = True
        for name in ("photo", "menu", "edit_of", "edit_message_id", "notice"):
            if getattr(self, name) is not None:
                payload[name] = getattr(self, name)
        if self.facts:
            payload["facts"] = dict(self.facts)
        if self.attachment is not None:
            payload["attachment"] = self.attachment.to_dict()
        if self.lasting:
            payload["lasting"] = True
        if self.locale is not None:
            payload["locale"] = self.locale
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Reply:
        rows = tuple(tuple(Button(label=b["label"], data=b["data"]) for b in row) for row in payload.get("buttons", []))
        return cls(
            text=payload["text"],
            buttons=rows,
            request=payload.get("request"),
            request_label=payload.get("request_label"),
            photo=payload.get("photo"),
            typed=bool(payload.get("typed")),
            menu=payload.get("menu"),
            edit_of=payload.get("edit_of"),
            edit_message_id=payload.get("edit_message_id"),
            notice=payload.get("notice"),
            facts={str(k): str(v) for k, v in (payload.get("facts") or {}).items()},
            attachment=Attachment(**payload["attachment"]) if payload.get("attachment") else None,
            lasting=bool(payload.get("lasting")),
            locale=payload.get("locale"),
        )

    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]

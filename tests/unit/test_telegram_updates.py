"""The channel's pure parts, table-driven on raw payloads: update → Incoming, Reply → messages, signed buttons."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from aiogram.types import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.telegram.callbacks import CallbackSigner, CallbackTooLong
from bot.channels.telegram.render import TEXT_LIMIT, render, split_text, utf16_len
from bot.channels.telegram.updates import receive
from handlers.conversation.messages import Attachment, Button, Contact, Location, Reply
from handlers.router import INTERVIEWS
from tests.channels.telegram.fake_api import parse_html

USER = {"id": 77, "is_bot": False, "first_name": "A", "language_code": "en"}
PRIVATE = {"id": 77, "type": "private", "first_name": "A"}
GROUP = {"id": -1001234567890, "type": "supergroup", "title": "G"}


def message(**content: Any) -> dict[str, Any]:
    return {"message_id": 5, "date": 1, "chat": PRIVATE, "from": USER, **content}


def photo_sizes() -> list[dict[str, Any]]:
    return [
        {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 200},
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 67, "file_size": 10},
    ]


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("text", {"message": message(text="你好")}, {"text": "你好"}),
    (
        "command",
        {"message": message(text="/start@shishi_bot x")},
        {"command": ("/start", "x"), "text": "/start@shishi_bot x"},
    ),
    (
        "own contact",
        {"message": message(contact={"phone_number": "+8613800138000", "first_name": "A", "user_id": 77})},
        {"contact": Contact("+8613800138000", own=True)},
    ),
    (
        "someone else's contact",
        {"message": message(contact={"phone_number": "13900000000", "first_name": "B", "user_id": 78})},
        {"contact": Contact("13900000000", own=False)},
    ),
    (
        "contact card without a user",
        {"message": message(contact={"phone_number": "13900000000", "first_name": "B"})},
        {"contact": Contact("13900000000", own=False)},
    ),
    (
        "location",
        {"message": message(location={"latitude": 33.07, "longitude": 107.02})},
        {"location": Location(33.07, 107.02)},
    ),
    (
        "photo with caption: the largest size",
        {"message": message(photo=photo_sizes(), caption="证据")},
        {"attachments": (Attachment("photo", "big", size=200),), "text": "证据"},
    ),
    (
        "voice",
        {"message": message(voice={"file_id": "v1", "file_unique_id": "v", "duration": 2, "file_size": 30})},
        {"attachments": (Attachment("voice", "v1", size=30),)},
    ),
    (
        "document",
        {
            "message": message(
                document={"file_id": "d1", "file_unique_id": "d", "file_name": "合同.pdf", "file_size": 999}
            )
        },
        {"attachments": (Attachment("document", "d1", name="合同.pdf", size=999),)},
    ),
]


@pytest.mark.parametrize(("name", "payload", "expected"), CASES, ids=[c[0] for c in CASES])
def test_update_becomes_one_incoming(name: str, payload: dict[str, Any], expected: dict[str, Any]) -> None:
    received = receive(Update.model_validate({"update_id": 900, **payload}))
    assert received is not None
    incoming = received.incoming
    assert (incoming.channel, incoming.update_key, incoming.language) == ("telegram", f"900:{incoming.chat_id}/5", "en")
    assert received.user_id == 77
    defaults = {"chat_id": "77", "text": None, "contact": None, "attachments": ()}
    for key, value in {**defaults, **expected}.items():
        assert getattr(incoming, key) == value, key


def test_anything_from_a_group_is_not_for_the_desk() -> None:
    """The desk serves private chats: a group's messages, its service messages and presses under its messages are
    acknowledged and dropped before the desk."""
    joined = {"new_chat_members": [USER], "chat": GROUP}
    under = {**message(text="q"), "chat": GROUP}
    query = {"id": "q2", "from": USER, "message": under, "chat_instance": "c", "data": "x"}
    for payload in (
        {"message": {**message(text="hi"), "chat": GROUP}},
        {"message": {**message(text="/start"), "chat": {**GROUP, "type": "group"}}},
        {"message": {**message(), **joined}},
        {"callback_query": query},
    ):
        assert receive(Update.model_validate({"update_id": 903, **payload})) is None, payload


def test_button_press_carries_the_raw_data_to_verify_and_edits_are_ignored() -> None:
    query = {"id": "q1", "from": USER, "message": message(text="q"), "chat_instance": "c", "data": "abc"}
    received = receive(Update.model_validate({"update_id": 901, "callback_query": query}))
    assert received is not None and received.callback is not None
    assert received.signed_choice == "abc" and received.incoming.choice is None
    assert receive(Update.model_validate({"update_id": 902, "edited_message": message(text="x", edit_date=2)})) is None


def test_signed_button_data_round_trips_and_refuses_tampering_and_other_chats() -> None:
    signer = CallbackSigner.derive(b"k" * 32)
    signed = signer.sign("77", "nav:submit")
    assert len(signed.encode()) <= 64
    assert signer.verify("77", signed) == "nav:submit"
    assert signer.verify("78", signed) is None  # a button copied into another chat
    assert signer.verify("77", signed[:-1] + ("x" if signed[-1] != "x" else "y")) is None
    assert signer.verify("77", "A" + signed[1:]) is None or signed[0] == "A"
    assert signer.verify("77", "nav:submit") is None  # unsigned
    assert CallbackSigner.derive(b"other" * 8).verify("77", signed) is None
    with pytest.raises(CallbackTooLong):
        signer.sign("77", "x" * 60)


def test_every_button_the_desk_makes_fits_in_64_bytes_when_signed() -> None:
    signer = CallbackSigner.derive(b"k" * 32)
    data = {"menu:continue", "menu:status", "menu:lang", "menu:help", "nav:submit", "nav:summary", "consent:decline"}
    for interview in INTERVIEWS.values():
        data.add(f"menu:{interview.name}")
        for step in interview.steps:
            data.add(f"edit:{step.key}")
            for option in getattr(step.expects, "options", ()):
                data.add(option.value)
    for value in data:
        assert signer.verify("-1001234567890", signer.sign("-1001234567890", value)) == value


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <>&\n中文😀\"'")), min_size=0, max_size=12_000))
def test_long_text_splits_under_the_limit_and_loses_nothing(text: str) -> None:
    chunks = split_text(text)
    assert all(utf16_len(c) <= TEXT_LIMIT for c in chunks)
    assert [parse_html(c) for c in chunks] == [unescape(c) for c in chunks]  # valid HTML, no tag from the text
    joined = "".join(unescape(c) for c in chunks)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", text)


def hint(reply: Reply) -> str:
    return "share below"


def test_contact_request_beside_buttons_then_removed_by_the_next_reply() -> None:
    signer = CallbackSigner.derive(b"k" * 32)
    asking = Reply(
        text="Your phone?",
        buttons=((Button("Cancel", "nav:cancel"),),),
        request="contact",
        request_label="Share my phone",
    )
    first = render(asking, chat_id="77", signer=signer, keyboard_shown=False, request_hint=hint)
    assert [p.text for p in first.parts] == ["Your phone?", "share below"]
    keyboard = first.parts[1].markup
    assert isinstance(keyboard, ReplyKeyboardMarkup) and keyboard.keyboard[0][0].request_contact
    assert first.keyboard_shown
    summary = Reply(text="Check:\n• phone 138****8000\nSubmit?", buttons=((Button("Submit", "nav:submit"),),))
    second = render(summary, chat_id="77", signer=signer, keyboard_shown=True, request_hint=hint)
    assert isinstance(second.parts[0].markup, ReplyKeyboardRemove)
    assert second.parts[-1].text == "Submit?" and second.parts[-1].markup is not None
    assert not second.keyboard_shown
    plain = render(Reply(text="x <b>"), chat_id="77", signer=signer, keyboard_shown=False, request_hint=hint)
    assert [p.text for p in plain.parts] == ["x &lt;b&gt;"]

"""/sms: the phone SMS may reach when no chat can (issue #14), confirmed with a one-time code sent to it. A landline is
kept too, only so that officers know to call: an SMS cannot reach it."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from handlers.citizen.consent import privacy_notice
from handlers.conversation import engine
from handlers.conversation.inputs import Accepted, Parsed, Rejected, is_landline, normalise_mobile, typed_text
from handlers.conversation.interview import Answers, Step, form
from handlers.conversation.messages import Button, Incoming, Reply
from handlers.conversation.outbox import PRIORITY_REPLY
from handlers.conversation.turn import Turn
from storage.crypto import mask_phone
from storage.models import ConfirmedPhone

CODE_TTL: Final = timedelta(minutes=10)
CODE_TRIES: Final = 5
CODE_KIND: Final = "code"  # the outbox row of a code: the SMS rung sends it with the code template


@dataclass(frozen=True)
class SmsPhone:
    """A mainland mobile ("138 0013 8000") or a fixed line ("0916-2626110")."""

    request: Any = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        raw = incoming.contact.phone if incoming.contact is not None else typed_text(incoming)
        if isinstance(raw, Rejected):
            return raw
        mobile = normalise_mobile(raw)
        if mobile is not None:
            return Accepted({"phone": mobile, "landline": False})
        if is_landline(raw):
            return Accepted({"phone": re.sub(r"\D", "", raw), "landline": True})
        return Rejected("input.phone_invalid")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return mask_phone(str(value.get("phone", "")))


def _code_hash(turn: Turn, person_id: int, code: str) -> str:
    return turn.uow.cipher.lookup_hash(f"sms-code:{person_id}:{code}")


async def _phone_given(turn: Turn, answers: Answers) -> None:
    given, now = answers["phone"], turn.now
    phone, landline = str(given["phone"]), bool(given["landline"])
    row = ConfirmedPhone(person_id=turn.person.id, phone_sealed=turn.uow.cipher.encrypt(phone),
                         phone_masked=mask_phone(phone), landline=landline, code_hash=None, code_expires_at=None,
                         code_tries=0, confirmed_at=None, updated_at=now)  # fmt: skip
    if landline:
        await turn.uow.reach.set_phone(row)
        turn.say("sms.landline", phone=mask_phone(phone))
        return
    code = f"{secrets.randbelow(10**6):06d}"
    row.code_hash, row.code_expires_at = _code_hash(turn, turn.person.id, code), now + CODE_TTL
    await turn.uow.reach.set_phone(row)
    # The code goes on the SMS rung only, never into a chat's transcript (reading it there would confirm any phone).
    sent = turn.outbox.to_chat("sms", f"person:{turn.person.id}", Reply(text="", sensitive=True), kind=CODE_KIND,
                               priority=PRIORITY_REPLY, essential=True, person_id=turn.person.id)  # fmt: skip
    sent.rung, sent.payload = "sms", turn.uow.outbox.seal({"text": "", "code": code})
    engine.begin(turn, CODE_FORM, lead=turn.t("sms.code_sent", phone=mask_phone(phone)))


async def _code_given(turn: Turn, answers: Answers) -> None:
    phone = await turn.uow.reach.phone(turn.person.id, for_update=True)
    if phone is None or phone.code_hash is None or phone.code_expires_at is None or phone.code_expires_at < turn.now:
        turn.say("sms.code_expired")
        return
    if _code_hash(turn, turn.person.id, str(answers["code"])) != phone.code_hash:
        phone.code_tries += 1
        if phone.code_tries >= CODE_TRIES:
            phone.code_hash, phone.code_expires_at = None, None
            turn.say("sms.code_expired")
            return
        engine.begin(turn, CODE_FORM, lead=turn.t("sms.code_wrong"))
        return
    phone.code_hash, phone.code_expires_at, phone.confirmed_at, phone.updated_at = None, None, turn.now, turn.now
    turn.say("sms.confirmed", phone=phone.phone_masked)


@dataclass(frozen=True)
class Code:
    request: Any = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = typed_text(incoming)
        if isinstance(text, Rejected):
            return text
        digits = re.sub(r"\s", "", text)
        return Accepted(digits) if re.fullmatch(r"\d{6}", digits) else Rejected("sms.code_format")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return "******"


PHONE_FORM: Final = form("sms_phone", (Step("phone", ask="sms.ask_phone", expects=SmsPhone()),), _phone_given)
CODE_FORM: Final = form("sms_code", (Step("code", ask="sms.ask_code", expects=Code()),), _code_given)


async def start(turn: Turn, args: str = "") -> None:
    """/sms: which phone SMS may reach, and confirming it."""
    if turn.person.consent_at is None:
        turn.reply(privacy_notice(turn))
        return
    phone = await turn.uow.reach.phone(turn.person.id)
    if phone is not None and phone.confirmed_at is not None:
        lead = turn.t("sms.now", phone=phone.phone_masked)
    elif phone is not None and phone.landline:
        lead = turn.t("sms.landline", phone=phone.phone_masked)
    else:
        lead = turn.t("sms.intro")
    engine.begin(turn, PHONE_FORM, lead=lead)

"""Correction (PIPL Art. 46): the citizen corrects the phone officers call them on (every open ticket of theirs
takes it; the event says what changed, masked), or adds a correction to one of their tickets. The officer in
charge is told. The phone SMS go to is confirmed by a code, so it is changed with /sms, not here."""

from __future__ import annotations

from typing import Final

from handlers.citizen.mytickets import TICKET, not_found, own_ticket, tell_officer
from handlers.conversation import engine
from handlers.conversation.buttons import data
from handlers.conversation.inputs import Phone, Text
from handlers.conversation.interview import Answers, Interview, Step
from handlers.conversation.messages import Button, Reply
from handlers.conversation.personal import conceal
from handlers.conversation.turn import Turn
from handlers.tickets import lifecycle
from storage.crypto import mask_phone

PREFIX: Final = "pv"
PHONE_CORRECTED: Final = "phone_corrected"
CORRECTION: Final = "citizen_correction"


async def ask_phone(turn: Turn) -> None:
    if turn.person.consent_at is None:
        turn.say("privacy.fix.consent")
        return
    engine.begin(turn, PHONE_FORM)


async def save_phone(turn: Turn, answers: Answers) -> None:
    phone = str(answers["phone"])
    cipher, changed = turn.uow.cipher, []
    for ticket in await turn.uow.tickets.open_of_citizen(turn.person.id, lifecycle.OPEN):
        locked = await turn.uow.tickets.get_for_update(ticket.id)
        if locked is None:
            continue
        old = locked.phone_masked or "—"
        locked.phone_sealed, locked.phone_hash = cipher.encrypt(phone), cipher.lookup_hash(phone)
        locked.phone_masked = mask_phone(phone)
        note = f"{old} → {locked.phone_masked}"
        await lifecycle.record(turn.uow, locked, PHONE_CORRECTED, actor_person_id=turn.person.id, now=turn.now,
                               note=note, citizen_visible=True)  # fmt: skip
        await tell_officer(turn, locked, "privacy.alert.phone")
        changed.append(locked.number)
    if changed:
        turn.say("privacy.fix.phone_done", phone=mask_phone(phone), numbers="、".join(changed))
    else:
        turn.say("privacy.fix.phone_none")


async def choose_ticket(turn: Turn) -> None:
    tickets = await turn.uow.tickets.of_citizen(turn.person.id, limit=10)
    if not tickets:
        turn.say("status.none")
        return
    rows = tuple((Button(t.number, data(PREFIX, "fixon", t.id)),) for t in tickets)
    turn.reply(Reply(text=turn.t("privacy.fix.choose"), buttons=rows))


async def begin_fix(turn: Turn, ticket_id: int | None) -> None:
    ticket = await own_ticket(turn, ticket_id)
    if ticket is None:
        not_found(turn)
        return
    engine.begin(turn, FIX_FORM, context={TICKET: ticket.id})


async def save_fix(turn: Turn, answers: Answers) -> None:
    ticket = await own_ticket(turn, answers.get(TICKET), for_update=True)
    if ticket is None:
        not_found(turn)
        return
    await lifecycle.record(turn.uow, ticket, CORRECTION, actor_person_id=turn.person.id, now=turn.now,
                           note=conceal(str(answers["correction"]))[0], citizen_visible=True,
                           original=str(answers["correction"]))  # fmt: skip
    await tell_officer(turn, ticket, "privacy.alert.correction")
    turn.say("privacy.fix.done", number=ticket.number)


PHONE_FORM = Interview(
    name="privacy_phone",
    title="privacy.fix.phone_title",
    steps=(Step("phone", ask="privacy.fix.phone_ask", expects=Phone()),),
    on_done=save_phone,
    in_menu=False,
    confirm=False,
)

FIX_FORM = Interview(
    name="privacy_fix",
    title="privacy.fix.title",
    steps=(Step("correction", ask="privacy.fix.ask", expects=Text(min_len=2, max_len=1000)),),
    on_done=save_fix,
    in_menu=False,
    confirm=False,
)

FORMS: Final = (PHONE_FORM, FIX_FORM)

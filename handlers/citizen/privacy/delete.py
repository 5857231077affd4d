"""`/delete` (PIPL Art. 47): the person is told what deletion does and confirms; their open tickets are closed as
withdrawn (the officer in charge is told), every ticket is scrubbed to what statistics need, and their chats and
personal rows go. A record a law requires (a legal-aid decision, a judicial-relief payment) is kept alone, sealed,
and the answer says which and under what law. Staff accounts are not deleted here (admins remove officers)."""

from __future__ import annotations

from typing import Final

from handlers.citizen.privacy.erase import erase_person
from handlers.conversation.buttons import data
from handlers.conversation.messages import Reply
from handlers.conversation.turn import Turn
from handlers.tickets import lifecycle
from handlers.tickets.retention import basis_text

PREFIX: Final = "pv"
ERASED_AUDIT: Final = "erased_person"
CONFIRM: Final = "yes"


async def _staff(turn: Turn) -> bool:
    return await turn.uow.officers.of_person(turn.person.id) is not None


async def ask(turn: Turn, args: str = "") -> None:
    if await _staff(turn):
        turn.say("privacy.delete.staff")
        return
    open_tickets = await turn.uow.tickets.open_of_citizen(turn.person.id, lifecycle.OPEN)
    lines = [turn.t("privacy.delete.ask")]
    if open_tickets:
        lines.append(turn.t("privacy.delete.open", numbers="、".join(t.number for t in open_tickets)))
    turn.reply(
        Reply(
            text="\n".join(lines),
            buttons=(
                (turn.button("privacy.delete.confirm", data(PREFIX, "erase", CONFIRM)),),
                (turn.button("privacy.delete.keep", "menu:continue"),),
            ),
        )
    )


async def confirmed(turn: Turn, answer: str) -> None:
    if answer != CONFIRM:
        await ask(turn)
        return
    if await _staff(turn):
        turn.say("privacy.delete.staff")
        return
    policy = turn.rules.retention
    person_id = turn.person.id
    erased = await erase_person(turn, policy)
    await turn.uow.audit.add(person_id, ERASED_AUDIT, None, turn.now)
    lines = [turn.t("privacy.delete.done", tickets=erased.tickets)]
    if erased.withdrawn:
        lines.append(turn.t("privacy.delete.withdrawn", numbers="、".join(erased.withdrawn)))
    for number, keep in erased.kept:
        lines.append(turn.t("privacy.delete.kept", number=number, basis=basis_text(keep.basis, turn.locale)))
    lines.append(turn.t("privacy.delete.after"))
    turn.reply(Reply(text="\n".join(lines)))

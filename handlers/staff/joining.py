"""Becoming staff: `/join CODE [name]` with a one-time invite turns this chat's person into an officer of the code's
unit (the name asked for when missing), and admins make codes with `/invite UNIT [role] [72h]`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from handlers.conversation import engine
from handlers.conversation.inputs import Accepted, Parsed, Rejected, Text, has_meaning
from handlers.conversation.interview import Answers, Step, form
from handlers.conversation.messages import Button, Incoming, Reply, Request
from handlers.conversation.turn import Turn
from handlers.conversation.words import stamp, unit_label
from handlers.staff import invites
from handlers.staff.context import refuse_command
from handlers.staff.forms import FORM_TTL
from handlers.tickets.policy import Action, Role, actor_for, allows

CODE: Final = "_code"
NAME_TEXT: Final = Text(min_len=1, max_len=40)


@dataclass(frozen=True)
class Name:
    """An officer's display name: 1–40 characters with at least one letter or character, spaces folded."""

    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        parsed = NAME_TEXT.parse(turn, incoming)
        name = " ".join(str(parsed.value).split()) if isinstance(parsed, Accepted) else ""
        return Accepted(name) if valid_name(name) else Rejected("desk.join.bad_name")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return str(value)


def valid_name(name: str) -> bool:
    return 1 <= len(name) <= 40 and has_meaning(name)


def role_label(turn: Turn, role: str) -> str:
    return turn.t(f"desk.role.{role}")


async def join(turn: Turn, args: str) -> None:
    uow, now = turn.uow, turn.now
    actor = await actor_for(uow, turn.person.id)
    if actor.is_officer:
        unit = await uow.units.get(actor.unit_id) if actor.unit_id else None
        turn.say("desk.join.already", name=actor.name or "", unit=unit_label(turn.translator, turn.locale, unit))
        return
    code, _, name = args.strip().partition(" ")
    if not code:
        turn.say("desk.join.usage")
        return
    if not allows(actor, Action.JOIN):
        refuse_command(turn)
        return
    if await invites.locked_out(uow, turn.person.id, now, turn.incoming.origin):
        turn.say("desk.join.locked")
        return
    checked = await invites.check(uow, code, now)
    if checked.invite is None:
        await invites.record_failure(uow, turn.person.id, now, turn.incoming.origin)
        turn.say(f"desk.join.{checked.problem}")
        return
    name = " ".join(name.split())
    if not name:
        engine.begin(turn, ASK_NAME, context={CODE: invites.normalise(code)})
        return
    await complete_join(turn, code, name)


async def _named(turn: Turn, answers: Answers) -> None:
    await complete_join(turn, str(answers.get(CODE, "")), str(answers["name"]))


ASK_NAME: Final = form("desk_join", (Step("name", ask="desk.join.ask_name", expects=Name()),), _named, ttl=FORM_TTL)


async def complete_join(turn: Turn, code: str, name: str) -> None:
    uow, now = turn.uow, turn.now
    if not valid_name(name):
        engine.begin(turn, ASK_NAME, context={CODE: invites.normalise(code)}, lead=turn.t("desk.join.bad_name"))
        return
    checked = await invites.check(uow, code, now)  # again: the code may have been used while a name was typed
    if checked.invite is None:
        await invites.record_failure(uow, turn.person.id, now, turn.incoming.origin)
        turn.say(f"desk.join.{checked.problem}")
        return
    officer = await invites.redeem(uow, checked.invite, turn.person.id, name, now)
    unit = await uow.units.get(officer.unit_id)
    text = turn.t(
        "desk.join.done",
        name=name,
        unit=unit_label(turn.translator, turn.locale, unit),
        role=role_label(turn, officer.role),
    )
    turn.reply(Reply(text=text, menu=officer.role))  # the chat's command menu changes to the role's


async def invite(turn: Turn, args: str = "") -> None:
    """`/invite UNIT [officer|leader|admin] [72h]` — admins only; answers with a one-time code."""
    uow = turn.uow
    actor = await actor_for(uow, turn.person.id)
    if not allows(actor, Action.INVITE):
        refuse_command(turn)
        return
    parts = args.split()
    if not parts:
        turn.say("desk.invite.usage")
        return
    unit = await uow.units.by_code(parts[0])
    if unit is None or not unit.active:
        turn.say("desk.invite.bad_unit", code=parts[0][:48])
        return
    try:
        role = invites.parse_role(parts[1]) if len(parts) > 1 else Role.OFFICER
    except invites.InviteError:
        turn.say("desk.invite.bad_role")
        return
    try:
        ttl = invites.parse_ttl(parts[2]) if len(parts) > 2 else invites.DEFAULT_TTL
    except invites.InviteError:
        turn.say("desk.invite.bad_ttl")
        return
    code = await invites.create_invite(uow, unit, role, ttl, turn.now)
    await uow.audit.add(turn.person.id, "invite_created", None, turn.now)
    turn.say_sensitive(
        "desk.invite.created",
        unit=unit_label(turn.translator, turn.locale, unit),
        role=role_label(turn, role.value),
        expires=stamp(turn.now + ttl, turn.rules.zone),
        code=code,
    )

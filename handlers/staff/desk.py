"""The officer desk: joining, the duty list, the overview, the ticket card, every ticket action, and the relay.

Every ticket button is `t:<verb>:<ticket id>[:<arg>]`. A verb names one policy Action; the dispatcher loads the
ticket (locked), asks the policy, and shows a refusal exactly like a missing ticket. Typed follow-ups (a reason, a
note, a message) wait in `State.extra["desk"]` and ask the policy again when the text arrives.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from handlers.conversation import engine
from handlers.conversation.inputs import Accepted, Parsed, Rejected, Text, has_meaning
from handlers.conversation.messages import Button, Incoming, Reply
from handlers.conversation.turn import Turn
from handlers.conversation.words import (
    category_label,
    kind_label,
    label,
    place_label,
    short,
    stamp,
    status_label,
    unit_label,
)
from handlers.staff import invites
from handlers.staff.alerts import alert_unit
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action, Actor, Role, actor_for, allows
from storage.models import Officer, Ticket, Unit

PENDING: Final = "desk"
PENDING_TTL: Final = timedelta(minutes=30)
RELAY_TTL: Final = timedelta(days=7)
SHOWN: Final = 10
HISTORY: Final = 8
MAX_ID_DIGITS: Final = 12

WORKING: Final = frozenset(
    {lifecycle.CLAIMED, lifecycle.IN_PROGRESS, lifecycle.MEDIATION_SCHEDULED, lifecycle.REOPENED}
)
OUTCOMES: Final = (
    "mediation_agreement",
    "referred_to_court",
    "legal_aid_granted",
    "relief_granted",
    "advice_given",
    "not_handled",
)
# Cross-agency handoff: the political-legal agencies of the ticket's county, then those of the city.
TRANSFER_KINDS: Final = ("court", "procuratorate", "police", "justice", "judicial_office", "legal_aid", "petition")
RELAY_EVENTS: Final = ("message_out", "message_in", "reassigned", "relay_closed")


# --- context -----------------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    turn: Turn
    actor: Actor
    ticket: Ticket
    pending: dict[str, Any] | None = None

    @property
    def now(self) -> datetime:
        return self.turn.now

    def say(self, msgid: str, **params: object) -> None:
        self.turn.say(msgid, **params)


def _when(turn: Turn, moment: datetime | None) -> str:
    return stamp(moment, turn.rules.zone)


def not_found(turn: Turn) -> None:
    """The one answer to a missing ticket AND to a forbidden one: same text, same (no) buttons."""
    turn.reply(Reply(text=turn.t("desk.not_found")))


def _illegal(ctx: Ctx, to_status: str) -> None:
    tr, locale = ctx.turn.translator, ctx.turn.locale
    ctx.say(
        "desk.illegal",
        number=ctx.ticket.number,
        status=status_label(tr, locale, ctx.ticket.status),
        to=status_label(tr, locale, to_status),
    )


async def _move(
    ctx: Ctx, to_status: str, *, action: str | None = None, note: str | None = None, visible: bool = True
) -> bool:
    try:
        await lifecycle.transition(
            ctx.turn.uow,
            ctx.ticket,
            to_status,
            actor_person_id=ctx.actor.person_id,
            now=ctx.now,
            action=action,
            note=note,
            citizen_visible=visible,
        )
    except lifecycle.IllegalTransition:
        _illegal(ctx, to_status)
        return False
    return True


async def _unit(ctx: Ctx) -> Unit | None:
    return await ctx.turn.uow.units.get(ctx.ticket.unit_id) if ctx.ticket.unit_id else None


async def _tell_citizen(
    ctx: Ctx,
    msgid: str,
    extra: Callable[[str], Mapping[str, object]] | None = None,
    buttons: Callable[[str], tuple[tuple[Button, ...], ...]] | None = None,
) -> bool:
    """A citizen-visible change, in the citizen's own language, on their latest reachable chat."""
    tr, ticket, unit = ctx.turn.translator, ctx.ticket, await _unit(ctx)

    def render(locale: str) -> Reply:
        params: dict[str, object] = {"number": ticket.number, "unit": unit_label(tr, locale, unit)}
        if extra:
            params.update(extra(locale))
        return Reply(text=tr(locale, msgid, **params), buttons=buttons(locale) if buttons else ())

    return await ctx.turn.send_to_person(ticket.citizen_id, render, kind="update")


def _reply_row(ctx: Ctx, locale: str) -> tuple[tuple[Button, ...], ...]:
    return ((Button(ctx.turn.translator(locale, "desk.btn.reply"), f"t:reply:{ctx.ticket.id}"),),)


async def _tell_officer(ctx: Ctx, officer_id: int | None, msgid: str, **params: object) -> None:
    if officer_id is None:
        return
    officer = await ctx.turn.uow.officers.get(officer_id)
    if officer is None or not officer.active or officer.person_id == ctx.actor.person_id:
        return
    tr, ticket = ctx.turn.translator, ctx.ticket

    def render(locale: str) -> Reply:
        view = Button(tr(locale, "desk.btn.view"), f"t:view:{ticket.id}")
        return Reply(text=tr(locale, msgid, number=ticket.number, **params), buttons=((view,),))

    await ctx.turn.send_to_person(officer.person_id, render)


# --- pending typed input ------------------------------------------------------------------------------------------


def _set_pending(ctx: Ctx | Turn, key: str, ticket_id: int | None, data: Mapping[str, Any] | None = None) -> None:
    turn = ctx.turn if isinstance(ctx, Ctx) else ctx
    turn.state.extra[PENDING] = {
        "await": key,
        "ticket": ticket_id,
        "data": dict(data or {}),
        "at": turn.now.isoformat(),
    }


def _take_pending(turn: Turn) -> dict[str, Any] | None:
    pending = turn.state.extra.pop(PENDING, None)
    if not isinstance(pending, dict):
        return None
    try:
        at = datetime.fromisoformat(str(pending.get("at")))
    except ValueError:
        return None
    return pending if turn.now - at <= PENDING_TTL else None


def drop_pending(turn: Turn) -> bool:
    return turn.state.extra.pop(PENDING, None) is not None


def on_command(turn: Turn, name: str) -> bool:
    """Any command abandons a half-typed desk input; /cancel then only says so (True: the command is handled)."""
    dropped = _take_pending(turn) is not None
    if dropped and name == "/cancel":
        turn.say("desk.aborted")
        return True
    return False


def _abort_row(turn: Turn, ticket_id: int | None, *, skip: bool = False) -> tuple[Button, ...]:
    row = [turn.button("nav.skip", f"t:skip:{ticket_id or 0}")] if skip else []
    row.append(turn.button("nav.cancel", f"t:abort:{ticket_id or 0}"))
    return tuple(row)


def _ask(ctx: Ctx, key: str, data: Mapping[str, Any] | None = None, *, lead: str | None = None) -> None:
    waiting = AWAITING[key]
    _set_pending(ctx, key, ctx.ticket.id, data)
    text = ctx.turn.t(waiting.prompt, number=ctx.ticket.number)
    ctx.turn.reply(
        Reply(
            text=f"{lead}\n\n{text}" if lead else text,
            buttons=(_abort_row(ctx.turn, ctx.ticket.id, skip=waiting.skippable),),
        )
    )


WHEN: Final = re.compile(
    r"(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:\s*(上午|下午)?\s*(\d{1,2})\s*[:：点时]\s*(\d{1,2})?\s*分?)?"
)


class When:
    """A date and time for a mediation session, in the future: '2026-12-03 09:30', '12月3日 下午3点', '12-03'."""

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = (incoming.text or "").strip()
        match = WHEN.fullmatch(text)
        if not match:
            return Rejected("desk.when_invalid")
        local_now = turn.local(turn.now)
        year = int(match[1]) if match[1] else local_now.year
        hour, minute = int(match[5] or 9), int(match[6] or 0)
        if match[4] == "下午" and hour < 12:
            hour += 12
        try:
            moment = datetime(year, int(match[2]), int(match[3]), hour, minute, tzinfo=turn.rules.zone)
        except ValueError:
            return Rejected("desk.when_invalid")
        if not match[1] and moment < local_now:
            moment = moment.replace(year=year + 1)
        if moment <= local_now or moment > local_now + timedelta(days=366):
            return Rejected("desk.when_past")
        return Accepted(moment.strftime("%Y-%m-%d %H:%M"))


Expect = Text | When


@dataclass(frozen=True)
class Awaiting:
    action: Action
    prompt: str
    expects: Expect
    run: Callable[[Ctx, Any, dict[str, Any]], Awaitable[None]]
    skippable: bool = False


async def take_text(turn: Turn) -> bool:
    """Typed input for the desk: a pending answer (reason, note, message), or a citizen writing back to an officer.

    Returns False when the input is not the desk's, so the interview or the menu gets it."""
    incoming = turn.incoming
    typed = incoming.text is not None or bool(incoming.attachments) or incoming.location is not None
    pending = turn.state.extra.get(PENDING)
    if pending is not None and typed:
        pending = _take_pending(turn)
        if pending is not None:
            if pending.get("await") == "join_name":
                await _join_name(turn, pending)
                return True
            waiting = AWAITING.get(str(pending.get("await")))
            if waiting is not None:
                await _answer(turn, waiting, pending)
                return True
    if turn.state.interview is None and incoming.text is not None and incoming.choice is None:
        return await _relay_in(turn)
    return False


async def _load(turn: Turn, ticket_id: object, action: Action) -> Ctx | None:
    if not isinstance(ticket_id, int) and not (isinstance(ticket_id, str) and ticket_id.isdigit()):
        return None
    if len(str(ticket_id)) > MAX_ID_DIGITS:
        return None
    actor = await actor_for(turn.uow, turn.person.id)
    ticket = await turn.uow.tickets.get_for_update(int(ticket_id))
    if ticket is None or not allows(actor, action, ticket):
        return None
    return Ctx(turn, actor, ticket)


async def _answer(turn: Turn, waiting: Awaiting, pending: dict[str, Any]) -> None:
    ctx = await _load(turn, pending.get("ticket"), waiting.action)
    if ctx is None:
        not_found(turn)
        return
    ctx.pending = pending
    data = dict(pending.get("data") or {})
    parsed = waiting.expects.parse(turn, turn.incoming)
    if isinstance(parsed, Rejected):
        key = str(pending["await"])
        _ask(ctx, key, data, lead=turn.t(parsed.msgid, **parsed.params))
        return
    assert isinstance(parsed, Accepted)
    await waiting.run(ctx, parsed.value, data)


# --- buttons ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verb:
    action: Action
    run: Callable[[Ctx, str], Awaitable[None]]


async def on_button(turn: Turn, data: str) -> None:
    """Router entry for every `t:` button. Nothing reaches a verb without the policy's yes."""
    pending = _take_pending(turn)
    name, _, rest = data.partition(":")
    ticket_id, _, arg = rest.partition(":")
    if name == "abort":
        turn.say("desk.aborted" if pending else "desk.nothing_pending")
        return
    verb = VERBS.get(name)
    ctx = await _load(turn, ticket_id, verb.action) if verb else None
    if verb is None or ctx is None:
        not_found(turn)
        return
    ctx.pending = pending
    await verb.run(ctx, arg)


# --- the ticket card ----------------------------------------------------------------------------------------------

# (verb, action, status it leads to, label): a button shows only when the policy and the state machine both agree.
CARD: Final[tuple[tuple[str, Action, str | None, str], ...]] = (
    ("claim", Action.CLAIM, lifecycle.CLAIMED, "desk.btn.claim"),
    ("phone", Action.REVEAL_PHONE, None, "desk.btn.phone"),
    ("msg", Action.MESSAGE, None, "desk.btn.message"),
    ("note", Action.NOTE, None, "desk.btn.note"),
    ("work", Action.START_WORK, lifecycle.IN_PROGRESS, "desk.btn.work"),
    ("mediate", Action.SCHEDULE_MEDIATION, lifecycle.MEDIATION_SCHEDULED, "desk.btn.mediate"),
    ("resolve", Action.RESOLVE, lifecycle.RESOLVED, "desk.btn.resolve"),
    ("transfer", Action.TRANSFER, lifecycle.TRANSFERRED, "desk.btn.transfer"),
    ("reject", Action.REJECT, lifecycle.REJECTED, "desk.btn.reject"),
    ("reassign", Action.REASSIGN, None, "desk.btn.reassign"),
    ("close", Action.CLOSE, lifecycle.CLOSED, "desk.btn.close"),
    ("reopen", Action.REOPEN, lifecycle.REOPENED, "desk.btn.reopen"),
    ("reply", Action.MESSAGE, None, "desk.btn.reply"),
    ("cancel", Action.CANCEL, lifecycle.CANCELLED, "desk.btn.withdraw"),
)


def _staff_view(actor: Actor, ticket: Ticket) -> bool:
    return actor.is_officer and ticket.citizen_id != actor.person_id


def _offered(actor: Actor, ticket: Ticket, verb: str, action: Action, to_status: str | None) -> bool:
    if not allows(actor, action, ticket):
        return False
    if to_status is not None and not lifecycle.allowed(ticket.status, to_status):
        return False
    staff = _staff_view(actor, ticket)
    if verb == "claim":
        return ticket.officer_id is None
    if verb == "msg":
        return staff and ticket.status in WORKING and ticket.officer_id == actor.officer_id
    if verb == "reply":
        return not staff and ticket.status in WORKING and ticket.officer_id is not None
    if verb == "phone":
        return ticket.phone_sealed is not None
    if verb == "reassign":
        return ticket.status in WORKING | lifecycle.UNCLAIMED
    return staff or verb in ("cancel", "reopen")


def card_buttons(turn: Turn, actor: Actor, ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    cells = [
        turn.button(msgid, f"t:{verb}:{ticket.id}")
        for verb, action, to_status, msgid in CARD
        if _offered(actor, ticket, verb, action, to_status)
    ]
    return tuple(tuple(cells[i : i + 3]) for i in range(0, len(cells), 3))


async def card(ctx: Ctx, *, lead: str | None = None) -> Reply:
    turn, ticket, tr, locale = ctx.turn, ctx.ticket, ctx.turn.translator, ctx.turn.locale
    unit = await _unit(ctx)
    staff = _staff_view(ctx.actor, ticket)
    lines = [lead] if lead else []
    lines.append(turn.t("desk.card.title", number=ticket.number, status=status_label(tr, locale, ticket.status)))
    lines.append(
        turn.t(
            "desk.card.what",
            kind=kind_label(tr, locale, ticket.kind),
            category=category_label(tr, locale, ticket.kind, ticket.category),
            place=place_label(tr, locale, ticket),
        )
    )
    lines.append(turn.t("desk.card.unit", unit=unit_label(tr, locale, unit)))
    if staff:
        holder = await turn.uow.officers.get(ticket.officer_id) if ticket.officer_id else None
        lines.append(turn.t("desk.card.officer", officer=holder.name) if holder else turn.t("desk.card.unclaimed"))
        lines.append(turn.t("desk.card.created", at=_when(turn, ticket.created_at)))
        if ticket.officer_id is None and ticket.claim_due_at:
            lines.append(turn.t("desk.card.claim_due", at=_when(turn, ticket.claim_due_at)))
        if ticket.due_at:
            lines.append(turn.t("desk.card.due", at=_when(turn, ticket.due_at)))
        lines.append(turn.t("desk.card.phone", phone=ticket.phone_masked or turn.t("desk.phone.none")))
        lines.append(turn.t("desk.card.summary", summary=ticket.summary))
    mediation = (ticket.details or {}).get("mediation")
    if isinstance(mediation, dict):
        lines.append(turn.t("desk.card.mediation", when=mediation.get("at", ""), place=mediation.get("place", "")))
    if ticket.outcome:
        lines.append(turn.t("desk.card.outcome", outcome=turn.t(f"desk.outcome.{ticket.outcome}")))
    events = await turn.uow.tickets.events(ticket.id, citizen_visible_only=not staff)
    if events:
        lines.append(turn.t("desk.card.history"))
        for event in list(events)[-HISTORY:]:
            shown_note = staff or event.action in ("message_out", "message_in", "rejected")
            note = f" — {short(event.note, 120)}" if event.note and shown_note else ""
            action = label(tr, locale, f"desk.event.{event.action}", event.action)
            lines.append(f"• {_when(turn, event.created_at)} {action}{note}")
    return Reply(text="\n".join(lines), buttons=card_buttons(turn, ctx.actor, ticket))


async def _view(ctx: Ctx, arg: str) -> None:
    ctx.turn.reply(await card(ctx))


async def _show_card(ctx: Ctx, msgid: str, **params: object) -> None:
    ctx.turn.reply(await card(ctx, lead=ctx.turn.t(msgid, number=ctx.ticket.number, **params)))


# --- claim, phone, note, relay ------------------------------------------------------------------------------------


async def _claim(ctx: Ctx, arg: str) -> None:
    """The ticket row is locked (SELECT … FOR UPDATE; SQLite serialises writers): the second presser sees the first."""
    ticket = ctx.ticket
    if ticket.officer_id is not None:
        holder = await ctx.turn.uow.officers.get(ticket.officer_id)
        if holder is not None and holder.id == ctx.actor.officer_id:
            await _show_card(ctx, "desk.claim.yours")
        else:
            ctx.say("desk.claim.taken", number=ticket.number, by=holder.name if holder else "—")
        return
    if not await _move(ctx, lifecycle.CLAIMED):
        return
    ticket.officer_id = ctx.actor.officer_id
    await _show_card(ctx, "desk.claim.won")
    await _tell_citizen(ctx, "desk.tell.accepted")


async def _phone(ctx: Ctx, arg: str) -> None:
    ticket = ctx.ticket
    if not ticket.phone_sealed:
        ctx.say("desk.phone.none")
        return
    phone = ctx.turn.uow.cipher.decrypt(ticket.phone_sealed)
    await ctx.turn.uow.tickets.audit(ctx.actor.person_id, "reveal_phone", ticket.id, ctx.now)
    await lifecycle.record(ctx.turn.uow, ticket, "phone_revealed", actor_person_id=ctx.actor.person_id, now=ctx.now)
    ctx.turn.say_sensitive("desk.phone.full", number=ticket.number, phone=phone)


async def _note(ctx: Ctx, arg: str) -> None:
    _ask(ctx, "note")


async def _save_note(ctx: Ctx, text: str, data: dict[str, Any]) -> None:
    await lifecycle.record(
        ctx.turn.uow, ctx.ticket, "note", actor_person_id=ctx.actor.person_id, now=ctx.now, note=text
    )
    await _show_card(ctx, "desk.note.saved")


async def _message(ctx: Ctx, arg: str) -> None:
    if ctx.ticket.status not in WORKING or ctx.ticket.officer_id != ctx.actor.officer_id:
        ctx.say("desk.message.closed", number=ctx.ticket.number)
        return
    _ask(ctx, "message")


async def _send_message(ctx: Ctx, text: str, data: dict[str, Any]) -> None:
    ticket = ctx.ticket
    if ticket.status not in WORKING or ticket.officer_id != ctx.actor.officer_id:
        ctx.say("desk.message.closed", number=ticket.number)
        return
    await lifecycle.record(
        ctx.turn.uow,
        ticket,
        "message_out",
        actor_person_id=ctx.actor.person_id,
        now=ctx.now,
        note=text,
        citizen_visible=True,
    )
    delivered = await _tell_citizen(
        ctx,
        "desk.tell.message",
        extra=lambda locale: {"text": text},
        buttons=lambda locale: _reply_row(ctx, locale),
    )
    ctx.say("desk.message.sent" if delivered else "desk.message.unreachable", number=ticket.number)


async def _reply(ctx: Ctx, arg: str) -> None:
    if ctx.ticket.status not in WORKING or ctx.ticket.officer_id is None:
        ctx.say("desk.tell.reply_closed", number=ctx.ticket.number)
        return
    _ask(ctx, "reply")


async def _citizen_message(ctx: Ctx, text: str, data: dict[str, Any]) -> None:
    """The citizen's words go on the ticket's record and to the officer who holds it now."""
    ticket, turn = ctx.ticket, ctx.turn
    if ticket.status not in WORKING or ticket.officer_id is None:
        ctx.say("desk.tell.reply_closed", number=ticket.number)
        return
    await lifecycle.record(
        turn.uow,
        ticket,
        "message_in",
        actor_person_id=ctx.actor.person_id,
        now=ctx.now,
        note=text,
        citizen_visible=True,
    )
    officer = await turn.uow.officers.get(ticket.officer_id)
    if officer is not None and officer.active:
        tr = turn.translator

        def render(locale: str) -> Reply:
            return Reply(
                text=tr(locale, "desk.message.from_citizen", number=ticket.number, text=text),
                buttons=(
                    (
                        Button(tr(locale, "desk.btn.message"), f"t:msg:{ticket.id}"),
                        Button(tr(locale, "desk.btn.view"), f"t:view:{ticket.id}"),
                        Button(tr(locale, "desk.btn.hush"), f"t:hush:{ticket.id}"),
                    ),
                ),
            )

        await turn.send_to_person(officer.person_id, render)
    ctx.say("desk.tell.reply_sent", number=ticket.number)
    interview = engine.current(turn)
    if interview is not None:
        engine.reask(turn, interview)


async def open_relay(turn: Turn) -> Ticket | None:
    """The citizen's ticket an officer last wrote about, while that conversation is still open."""
    best: tuple[int, Ticket] | None = None
    for ticket in await turn.uow.duty.open_of_citizen(turn.person.id, WORKING):
        if ticket.officer_id is None:
            continue
        last = await turn.uow.duty.last_event(ticket.id, RELAY_EVENTS)
        if last is None or last.action not in ("message_out", "message_in"):
            continue
        if last.created_at < turn.now - RELAY_TTL:
            continue
        if best is None or last.id > best[0]:
            best = (last.id, ticket)
    return best[1] if best else None


async def _relay_in(turn: Turn) -> bool:
    found = await open_relay(turn)
    if found is None:
        return False
    ctx = await _load(turn, found.id, Action.MESSAGE)
    if ctx is None:
        return False
    parsed = MESSAGE_TEXT.parse(turn, turn.incoming)
    if isinstance(parsed, Rejected):
        turn.say(parsed.msgid, **parsed.params)
        return True
    assert isinstance(parsed, Accepted)
    await _citizen_message(ctx, parsed.value, {})
    return True


async def _hush(ctx: Ctx, arg: str) -> None:
    if ctx.ticket.officer_id != ctx.actor.officer_id:
        not_found(ctx.turn)
        return
    await lifecycle.record(ctx.turn.uow, ctx.ticket, "relay_closed", actor_person_id=ctx.actor.person_id, now=ctx.now)
    ctx.say("desk.relay_closed", number=ctx.ticket.number)


# --- status changes -----------------------------------------------------------------------------------------------


async def _work(ctx: Ctx, arg: str) -> None:
    if await _move(ctx, lifecycle.IN_PROGRESS):
        await _show_card(
            ctx, "desk.status.changed", status=status_label(ctx.turn.translator, ctx.turn.locale, "in_progress")
        )
        await _tell_citizen(ctx, "desk.tell.in_progress")


def _can_move(ctx: Ctx, to_status: str) -> bool:
    if lifecycle.allowed(ctx.ticket.status, to_status):
        return True
    _illegal(ctx, to_status)
    return False


async def _mediate(ctx: Ctx, arg: str) -> None:
    if _can_move(ctx, lifecycle.MEDIATION_SCHEDULED):
        _ask(ctx, "mediation_when")


async def _mediation_when(ctx: Ctx, when: str, data: dict[str, Any]) -> None:
    _ask(ctx, "mediation_place", {"when": when})


async def _mediation_place(ctx: Ctx, place: str, data: dict[str, Any]) -> None:
    when = str(data.get("when", ""))
    if not await _move(ctx, lifecycle.MEDIATION_SCHEDULED, note=f"{when} @ {place}"):
        return
    ctx.ticket.details = {**(ctx.ticket.details or {}), "mediation": {"at": when, "place": place}}
    await _show_card(ctx, "desk.mediation.set", when=when, place=place)
    await _tell_citizen(
        ctx,
        "desk.tell.mediation",
        extra=lambda locale: {"when": when, "place": place},
        buttons=lambda locale: _reply_row(ctx, locale),
    )


async def _resolve(ctx: Ctx, arg: str) -> None:
    if not _can_move(ctx, lifecycle.RESOLVED):
        return
    turn = ctx.turn
    cells = [turn.button(f"desk.outcome.{code}", f"t:outcome:{ctx.ticket.id}:{code}") for code in OUTCOMES]
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append(_abort_row(turn, ctx.ticket.id))
    turn.reply(Reply(text=turn.t("desk.ask.outcome", number=ctx.ticket.number), buttons=tuple(rows)))


async def _outcome(ctx: Ctx, code: str) -> None:
    if code not in OUTCOMES:
        await _resolve(ctx, "")
        return
    if not _can_move(ctx, lifecycle.RESOLVED):
        return
    if code == "not_handled":
        _ask(ctx, "not_handled")
        return
    await _finish(ctx, code, None)


async def _not_handled(ctx: Ctx, reason: str, data: dict[str, Any]) -> None:
    await _finish(ctx, "not_handled", reason)


async def _finish(ctx: Ctx, outcome: str, reason: str | None) -> None:
    if not await _move(ctx, lifecycle.RESOLVED, note=reason):
        return
    ctx.ticket.outcome = outcome
    tr = ctx.turn.translator

    def extra(locale: str) -> Mapping[str, object]:
        said = tr(locale, f"desk.outcome.{outcome}")
        more = tr(locale, f"desk.tell.outcome.{outcome}", reason=reason or "")
        return {"outcome": said, "more": "" if more == f"desk.tell.outcome.{outcome}" else more}

    await _show_card(ctx, "desk.status.changed", status=status_label(tr, ctx.turn.locale, "resolved"))
    await _tell_citizen(ctx, "desk.tell.resolved", extra=extra)


async def _reject(ctx: Ctx, arg: str) -> None:
    if _can_move(ctx, lifecycle.REJECTED):
        _ask(ctx, "reject")


async def _do_reject(ctx: Ctx, reason: str, data: dict[str, Any]) -> None:
    if not await _move(ctx, lifecycle.REJECTED, note=reason):
        return
    ctx.say("desk.rejected", number=ctx.ticket.number)
    await _tell_citizen(ctx, "desk.tell.rejected", extra=lambda locale: {"reason": reason})


async def _close(ctx: Ctx, arg: str) -> None:
    if await _move(ctx, lifecycle.CLOSED):
        ctx.say("desk.closed", number=ctx.ticket.number)
        await _tell_citizen(ctx, "desk.tell.closed")


async def _reopen(ctx: Ctx, arg: str) -> None:
    if not await _move(ctx, lifecycle.REOPENED):
        return
    if ctx.ticket.citizen_id == ctx.actor.person_id:
        ctx.say("desk.tell.reopened_ack", number=ctx.ticket.number)
        await _tell_officer(ctx, ctx.ticket.officer_id, "desk.reopened_by_citizen")
    else:
        await _show_card(
            ctx, "desk.status.changed", status=status_label(ctx.turn.translator, ctx.turn.locale, "reopened")
        )
        await _tell_citizen(ctx, "desk.tell.reopened")


async def _cancel(ctx: Ctx, arg: str) -> None:
    if not await _move(ctx, lifecycle.CANCELLED, action="withdrawn"):
        return
    ctx.say("desk.tell.withdrawn", number=ctx.ticket.number)
    await _tell_officer(ctx, ctx.ticket.officer_id, "desk.withdrawn_by_citizen")


# --- transfer and reassign ----------------------------------------------------------------------------------------


async def transfer_targets(ctx: Ctx) -> list[Unit]:
    uow, ticket = ctx.turn.uow, ctx.ticket
    local = list(await uow.duty.units_in(ticket.county)) if ticket.county else []
    city = list(await uow.duty.units_in(None))
    order = {kind: i for i, kind in enumerate(TRANSFER_KINDS)}
    local.sort(key=lambda u: (order.get(u.kind, 99), u.id))
    city.sort(key=lambda u: (order.get(u.kind, 99), u.id))
    return [u for u in local + city if u.id != ticket.unit_id]


async def _transfer(ctx: Ctx, arg: str) -> None:
    if not _can_move(ctx, lifecycle.TRANSFERRED):
        return
    turn, locale = ctx.turn, ctx.turn.locale
    cells = [
        Button(unit_label(turn.translator, locale, unit), f"t:to:{ctx.ticket.id}:{unit.id}")
        for unit in await transfer_targets(ctx)
    ]
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append(_abort_row(turn, ctx.ticket.id))
    turn.reply(Reply(text=turn.t("desk.ask.transfer_unit", number=ctx.ticket.number), buttons=tuple(rows)))


async def _transfer_to(ctx: Ctx, arg: str) -> None:
    if not _can_move(ctx, lifecycle.TRANSFERRED):
        return
    target = await ctx.turn.uow.units.get(int(arg)) if arg.isdigit() and len(arg) <= MAX_ID_DIGITS else None
    if target is None or not target.active or target.id == ctx.ticket.unit_id:
        await _transfer(ctx, "")
        return
    _ask(ctx, "transfer_reason", {"unit": target.id})


async def _transfer_reason(ctx: Ctx, reason: str, data: dict[str, Any]) -> None:
    _ask(ctx, "transfer_receiver", {**data, "reason": reason})


async def _transfer_receiver(ctx: Ctx, receiver: str, data: dict[str, Any]) -> None:
    await _hand_over(ctx, data, receiver)


async def _skip(ctx: Ctx, arg: str) -> None:
    pending = ctx.pending
    if pending is None or pending.get("await") != "transfer_receiver" or pending.get("ticket") != ctx.ticket.id:
        ctx.say("desk.nothing_pending")
        return
    await _hand_over(ctx, dict(pending.get("data") or {}), None)


async def _hand_over(ctx: Ctx, data: dict[str, Any], receiver: str | None) -> None:
    uow, ticket = ctx.turn.uow, ctx.ticket
    target_id = data.get("unit")
    target = await uow.units.get(int(target_id)) if isinstance(target_id, int) else None
    reason = str(data.get("reason", ""))
    if target is None or not target.active or target.id == ticket.unit_id:
        await _transfer(ctx, "")
        return
    source = await _unit(ctx)
    if not await _move(ctx, lifecycle.TRANSFERRED):
        return
    # The reason is for the receiving unit, not for the citizen's story of the ticket.
    note = reason if not receiver else f"{reason} / {receiver}"
    await lifecycle.record(uow, ticket, "transfer_reason", actor_person_id=ctx.actor.person_id, now=ctx.now, note=note)
    ticket.unit_id, ticket.officer_id = target.id, None
    tr = ctx.turn.translator
    await alert_unit(
        ctx.turn,
        ticket,
        target,
        lead="desk.alert.transferred",
        lead_params=lambda locale: {
            "from_unit": unit_label(tr, locale, source),
            "reason": reason,
            "receiver": receiver or "—",
        },
    )
    ctx.say("desk.transferred", number=ticket.number, unit=unit_label(tr, ctx.turn.locale, target))
    await _tell_citizen(ctx, "desk.tell.transferred")


async def _reassign(ctx: Ctx, arg: str) -> None:
    turn, ticket = ctx.turn, ctx.ticket
    if ticket.unit_id is None or ticket.status not in WORKING | lifecycle.UNCLAIMED:
        _illegal(ctx, lifecycle.CLAIMED)
        return
    cells = [
        Button(officer.name + (" ✓" if officer.id == ticket.officer_id else ""), f"t:assign:{ticket.id}:{officer.id}")
        for officer in await turn.uow.officers.of_unit(ticket.unit_id)
    ]
    if not cells:
        ctx.say("desk.assign.nobody")
        return
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append(_abort_row(turn, ticket.id))
    turn.reply(Reply(text=turn.t("desk.ask.assignee", number=ticket.number), buttons=tuple(rows)))


async def _assign(ctx: Ctx, arg: str) -> None:
    uow, ticket = ctx.turn.uow, ctx.ticket
    officer = await uow.officers.get(int(arg)) if arg.isdigit() and len(arg) <= MAX_ID_DIGITS else None
    if officer is None or not officer.active or officer.unit_id != ticket.unit_id:
        await _reassign(ctx, "")
        return
    if officer.id == ticket.officer_id:
        ctx.say("desk.assign.same", name=officer.name)
        return
    if ticket.status in lifecycle.UNCLAIMED:
        if not await _move(ctx, lifecycle.CLAIMED, action="assigned"):
            return
        await _tell_citizen(ctx, "desk.tell.accepted")
    elif ticket.status in WORKING:
        before = await uow.officers.get(ticket.officer_id) if ticket.officer_id else None
        await lifecycle.record(
            uow,
            ticket,
            "reassigned",
            actor_person_id=ctx.actor.person_id,
            now=ctx.now,
            note=f"{before.name if before else '—'} → {officer.name}",
        )
    else:
        _illegal(ctx, lifecycle.CLAIMED)
        return
    previous, ticket.officer_id = ticket.officer_id, officer.id
    ctx.say("desk.assign.done", number=ticket.number, name=officer.name)
    await _tell_officer(ctx, officer.id, "desk.assigned_to_you")
    await _tell_officer(ctx, previous, "desk.assigned_away", name=officer.name)


VERBS: Final[dict[str, Verb]] = {
    "view": Verb(Action.VIEW, _view),
    "claim": Verb(Action.CLAIM, _claim),
    "phone": Verb(Action.REVEAL_PHONE, _phone),
    "msg": Verb(Action.MESSAGE, _message),
    "reply": Verb(Action.MESSAGE, _reply),
    "hush": Verb(Action.MESSAGE, _hush),
    "note": Verb(Action.NOTE, _note),
    "work": Verb(Action.START_WORK, _work),
    "mediate": Verb(Action.SCHEDULE_MEDIATION, _mediate),
    "resolve": Verb(Action.RESOLVE, _resolve),
    "outcome": Verb(Action.RESOLVE, _outcome),
    "transfer": Verb(Action.TRANSFER, _transfer),
    "to": Verb(Action.TRANSFER, _transfer_to),
    "skip": Verb(Action.TRANSFER, _skip),
    "reject": Verb(Action.REJECT, _reject),
    "reassign": Verb(Action.REASSIGN, _reassign),
    "assign": Verb(Action.REASSIGN, _assign),
    "close": Verb(Action.CLOSE, _close),
    "reopen": Verb(Action.REOPEN, _reopen),
    "cancel": Verb(Action.CANCEL, _cancel),
}

REASON_TEXT: Final = Text(min_len=2, max_len=500)
MESSAGE_TEXT: Final = Text(min_len=1, max_len=2000)

AWAITING: Final[dict[str, Awaiting]] = {
    "note": Awaiting(Action.NOTE, "desk.ask.note", MESSAGE_TEXT, _save_note),
    "message": Awaiting(Action.MESSAGE, "desk.ask.message", MESSAGE_TEXT, _send_message),
    "reply": Awaiting(Action.MESSAGE, "desk.tell.ask.reply", MESSAGE_TEXT, _citizen_message),
    "mediation_when": Awaiting(Action.SCHEDULE_MEDIATION, "desk.ask.mediation_when", When(), _mediation_when),
    "mediation_place": Awaiting(Action.SCHEDULE_MEDIATION, "desk.ask.mediation_place", REASON_TEXT, _mediation_place),
    "not_handled": Awaiting(Action.RESOLVE, "desk.ask.not_handled", REASON_TEXT, _not_handled),
    "reject": Awaiting(Action.REJECT, "desk.ask.reject", REASON_TEXT, _do_reject),
    "transfer_reason": Awaiting(Action.TRANSFER, "desk.ask.transfer_reason", REASON_TEXT, _transfer_reason),
    "transfer_receiver": Awaiting(
        Action.TRANSFER, "desk.ask.transfer_receiver", Text(min_len=1, max_len=120), _transfer_receiver, skippable=True
    ),
}


# --- commands -----------------------------------------------------------------------------------------------------


def _role_label(turn: Turn, role: str) -> str:
    return turn.t(f"desk.role.{role}")


def _refuse_command(turn: Turn) -> None:
    turn.say("desk.command_refused")


NAME: Final = Text(min_len=1, max_len=40)


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 40 and has_meaning(name)


async def join(turn: Turn, args: str) -> None:
    """`/join CODE [display name]`: a valid one-time code makes this chat's person an officer of the code's unit."""
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
        _refuse_command(turn)
        return
    if await invites.locked_out(uow, turn.person.id, now):
        turn.say("desk.join.locked")
        return
    checked = await invites.check(uow, code, now)
    if checked.invite is None:
        await invites.record_failure(uow, turn.person.id, now)
        turn.say(f"desk.join.{checked.problem}")
        return
    name = " ".join(name.split())
    if not name:
        _set_pending(turn, "join_name", None, {"code": invites.normalise(code)})
        turn.reply(Reply(text=turn.t("desk.join.ask_name"), buttons=(_abort_row(turn, None),)))
        return
    await _complete_join(turn, code, name)


async def _join_name(turn: Turn, pending: dict[str, Any]) -> None:
    code = str((pending.get("data") or {}).get("code", ""))
    parsed = NAME.parse(turn, turn.incoming)
    name = " ".join(str(parsed.value).split()) if isinstance(parsed, Accepted) else ""
    await _complete_join(turn, code, name)


async def _complete_join(turn: Turn, code: str, name: str) -> None:
    uow, now = turn.uow, turn.now
    if not _valid_name(name):
        _set_pending(turn, "join_name", None, {"code": invites.normalise(code)})
        turn.reply(
            Reply(
                text=f"{turn.t('desk.join.bad_name')}\n\n{turn.t('desk.join.ask_name')}",
                buttons=(_abort_row(turn, None),),
            )
        )
        return
    checked = await invites.check(uow, code, now)  # again: the code may have been used while a name was typed
    if checked.invite is None:
        await invites.record_failure(uow, turn.person.id, now)
        turn.say(f"desk.join.{checked.problem}")
        return
    officer = await invites.redeem(uow, checked.invite, turn.person.id, name, now)
    unit = await uow.units.get(officer.unit_id)
    # `menu` tells a channel that this chat's command menu changed (Telegram refreshes it after a join).
    turn.reply(
        Reply(
            text=turn.t(
                "desk.join.done",
                name=name,
                unit=unit_label(turn.translator, turn.locale, unit),
                role=_role_label(turn, officer.role),
            ),
            menu=officer.role,
        )
    )


def _due(turn: Turn, ticket: Ticket) -> str:
    moment = ticket.due_at if ticket.officer_id is not None else (ticket.claim_due_at or ticket.due_at)
    return _when(turn, moment)


def _line(turn: Turn, ticket: Ticket, holder: str | None = None) -> str:
    tr, locale = turn.translator, turn.locale
    text = turn.t(
        "desk.duty.line",
        number=ticket.number,
        kind=kind_label(tr, locale, ticket.kind),
        status=status_label(tr, locale, ticket.status),
        due=_due(turn, ticket),
    )
    if ticket.urgent:
        text = f"❗{text}"
    return f"{text} · {holder}" if holder else text


async def duty(turn: Turn, args: str = "") -> None:
    """履职清单: my open tickets by deadline, then my unit's unclaimed ones, most urgent first."""
    uow = turn.uow
    actor = await actor_for(uow, turn.person.id)
    if not allows(actor, Action.DUTY) or actor.officer_id is None or actor.unit_id is None:
        _refuse_command(turn)
        return
    mine = await uow.duty.assigned(actor.officer_id, WORKING)
    waiting = await uow.duty.unclaimed(actor.unit_id, lifecycle.UNCLAIMED)
    lines = [turn.t("desk.duty.title", name=actor.name or "")]
    rows: list[tuple[Button, ...]] = []
    lines.append(turn.t("desk.duty.mine", count=len(mine)))
    for ticket in mine[:SHOWN]:
        lines.append(_line(turn, ticket))
        rows.append((turn.button("desk.btn.open", f"t:view:{ticket.id}", number=ticket.number),))
    if len(mine) > SHOWN:
        lines.append(turn.t("desk.duty.more", count=len(mine) - SHOWN))
    lines.append(turn.t("desk.duty.unclaimed", count=len(waiting)))
    for ticket in waiting[:SHOWN]:
        lines.append(_line(turn, ticket))
        rows.append(
            (
                turn.button("desk.btn.open", f"t:view:{ticket.id}", number=ticket.number),
                turn.button("desk.btn.claim", f"t:claim:{ticket.id}"),
            )
        )
    if len(waiting) > SHOWN:
        lines.append(turn.t("desk.duty.more", count=len(waiting) - SHOWN))
    if not mine and not waiting:
        lines.append(turn.t("desk.duty.empty"))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows)))


async def overview(turn: Turn, args: str = "") -> None:
    """Leaders: their unit's counts and open tickets. Admins: every unit's counts."""
    uow = turn.uow
    actor = await actor_for(uow, turn.person.id)
    if not allows(actor, Action.OVERVIEW) or actor.unit_id is None:
        _refuse_command(turn)
        return
    tr, locale = turn.translator, turn.locale
    open_statuses = lifecycle.OPEN
    overdue = await uow.duty.overdue_counts(turn.now, open_statuses)
    if actor.role == Role.ADMIN:
        counts = await uow.duty.status_counts(None)
        units = await uow.duty.units_by_id({u for u, _, _ in counts if u is not None})
        per_unit: dict[int | None, dict[str, int]] = {}
        for unit_id, status, n in counts:
            per_unit.setdefault(unit_id, {})[status] = n
        lines = [turn.t("desk.overview.all_title")]
        total_open = total_unclaimed = 0
        for unit_id, by_status in sorted(per_unit.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
            n_open = sum(n for s, n in by_status.items() if s in open_statuses)
            n_unclaimed = sum(n for s, n in by_status.items() if s in lifecycle.UNCLAIMED)
            total_open, total_unclaimed = total_open + n_open, total_unclaimed + n_unclaimed
            lines.append(
                turn.t(
                    "desk.overview.unit_line",
                    unit=unit_label(tr, locale, units.get(unit_id) if unit_id else None),
                    open=n_open,
                    unclaimed=n_unclaimed,
                    overdue=overdue.get(unit_id, 0),
                    total=sum(by_status.values()),
                )
            )
        lines.append(
            turn.t("desk.overview.totals", open=total_open, unclaimed=total_unclaimed, overdue=sum(overdue.values()))
        )
        turn.reply(Reply(text="\n".join(lines)))
        return
    unit = await uow.units.get(actor.unit_id)
    counts = await uow.duty.status_counts(actor.unit_id)
    lines = [turn.t("desk.overview.title", unit=unit_label(tr, locale, unit))]
    for _, status, n in sorted(
        counts, key=lambda c: lifecycle.STATUSES.index(c[1]) if c[1] in lifecycle.STATUSES else 99
    ):
        lines.append(turn.t("desk.overview.status_line", status=status_label(tr, locale, status), count=n))
    lines.append(turn.t("desk.overview.overdue", count=overdue.get(actor.unit_id, 0)))
    tickets = await uow.duty.of_unit(actor.unit_id, open_statuses)
    names: dict[int, Officer] = {o.id: o for o in await uow.officers.of_unit(actor.unit_id)}
    rows: list[tuple[Button, ...]] = []
    for ticket in tickets[:SHOWN]:
        holder = names.get(ticket.officer_id) if ticket.officer_id else None
        lines.append(_line(turn, ticket, holder.name if holder else turn.t("desk.card.unclaimed")))
        rows.append(
            (
                turn.button("desk.btn.open", f"t:view:{ticket.id}", number=ticket.number),
                turn.button("desk.btn.reassign", f"t:reassign:{ticket.id}"),
            )
        )
    if len(tickets) > SHOWN:
        lines.append(turn.t("desk.duty.more", count=len(tickets) - SHOWN))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows)))


async def invite(turn: Turn, args: str = "") -> None:
    """`/invite UNIT [officer|leader|admin] [72h]` — admins only; answers with a one-time code."""
    uow = turn.uow
    actor = await actor_for(uow, turn.person.id)
    if not allows(actor, Action.INVITE):
        _refuse_command(turn)
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
    await uow.tickets.audit(turn.person.id, "invite_created", None, turn.now)
    turn.say_sensitive(
        "desk.invite.created",
        unit=unit_label(turn.translator, turn.locale, unit),
        role=_role_label(turn, role.value),
        expires=_when(turn, turn.now + ttl),
        code=code,
    )

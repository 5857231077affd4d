"""Broadcasts in chat: compose, ask for approval, approve or reject (two-person rule), cancel, list.

A broadcast moves draft → awaiting_approval → scheduled → sending → done; cancelled and rejected end it early.
Only the author asks for approval and cancels; only another admin approves. handlers/fanout.py takes it from
scheduled on.
"""

from __future__ import annotations

from functools import partial

from handlers.conversation import engine
from handlers.conversation.buttons import Data, data
from handlers.conversation.menu import main_menu
from handlers.conversation.messages import Button, Reply
from handlers.conversation.outbox import PRIORITY_ALERT
from handlers.conversation.turn import Turn
from handlers.outreach.compose import COMPOSE
from handlers.outreach.rules import (
    AWAITING,
    CANCELLABLE,
    CANCELLED,
    DRAFT,
    REJECTED,
    SCHEDULED,
    describe,
    may,
    photo_for,
    text_for,
)
from handlers.tickets.policy import Action, actor_for
from storage.models import Broadcast

PREFIX = "bc"
LISTED = 10


async def compose(turn: Turn, args: str = "") -> None:
    """`/broadcast`: admins only; everyone else is told plainly that it is not for them."""
    if not await may(turn.uow, turn.person.id, Action.BROADCAST):
        turn.reply(main_menu(turn, lead=turn.t("broadcast.not_admin")))
        return
    engine.begin(turn, COMPOSE)


def _approval_request(
    turn: Turn, broadcast: Broadcast, author: str, audience: int, locale: str, channel: str | None
) -> Reply:
    translator = turn.translator
    facts = describe(translator, locale, broadcast, turn.rules.zone, audience)
    texts = [broadcast.text_zh] + ([broadcast.text_en] if broadcast.text_en else [])
    return Reply(
        text="\n\n".join([translator(locale, "broadcast.approve_ask", author=author), facts, *texts]),
        photo=photo_for(broadcast, channel) if channel else None,
        buttons=(
            (
                Button(translator(locale, "broadcast.approve"), data(PREFIX, "approve", broadcast.id)),
                Button(translator(locale, "broadcast.reject"), data(PREFIX, "reject", broadcast.id)),
            ),
        ),
    )


async def request_approval(turn: Turn, broadcast: Broadcast) -> None:
    if broadcast.author_person_id != turn.person.id:
        turn.say("broadcast.not_yours", id=broadcast.id)
        return
    if broadcast.status != DRAFT:
        turn.say("broadcast.already", id=broadcast.id, status=turn.t(f"broadcast.status.{broadcast.status}"))
        return
    broadcast.status = AWAITING
    actor = await actor_for(turn.uow, turn.person.id)
    audience = await turn.uow.subscriptions.count_audience(broadcast.topic, broadcast.county)
    asked = 0
    for person_id in await turn.uow.broadcasts.admins():
        if person_id == turn.person.id:
            continue
        address = (await turn.uow.subscriptions.addresses([person_id])).get(person_id)
        channel = address.channel if address else None
        asked += await turn.outbox.to_person(
            person_id,
            partial(_approval_request, turn, broadcast, actor.name or "", audience, channel=channel),
            kind="alert",
            priority=PRIORITY_ALERT,
        )
    lead = turn.t("broadcast.requested", id=broadcast.id, count=asked) if asked else turn.t("broadcast.no_approver")
    turn.reply(Reply(text=lead, buttons=((turn.button("broadcast.cancel", data(PREFIX, "cancel", broadcast.id)),),)))


async def _tell_author(turn: Turn, broadcast: Broadcast, msgid: str) -> None:
    def render(locale: str) -> Reply:
        return Reply(text=turn.translator(locale, msgid, id=broadcast.id))

    await turn.outbox.to_person(broadcast.author_person_id, render, kind="alert", priority=PRIORITY_ALERT)


async def decide(turn: Turn, broadcast: Broadcast, approve: bool) -> None:
    """The two-person rule: an admin who is not the author approves or rejects; the author never can."""
    if not await may(turn.uow, turn.person.id, Action.APPROVE_BROADCAST):
        turn.reply(main_menu(turn, lead=turn.t("broadcast.not_admin")))
        return
    if broadcast.author_person_id == turn.person.id:
        turn.say("broadcast.two_person", id=broadcast.id)
        return
    if broadcast.status != AWAITING:
        turn.say("broadcast.already", id=broadcast.id, status=turn.t(f"broadcast.status.{broadcast.status}"))
        return
    broadcast.approved_by_person_id, broadcast.approved_at = turn.person.id, turn.now
    if not approve:
        broadcast.status = REJECTED
        turn.say("broadcast.rejected", id=broadcast.id)
        await _tell_author(turn, broadcast, "broadcast.rejected_author")
        return
    if broadcast.send_at <= broadcast.created_at:
        broadcast.send_at = turn.now  # "send now" means now that it may go
    broadcast.status = SCHEDULED
    audience = await turn.uow.subscriptions.count_audience(broadcast.topic, broadcast.county)
    turn.say("broadcast.approved", facts=describe(turn.translator, turn.locale, broadcast, turn.rules.zone, audience))
    await _tell_author(turn, broadcast, "broadcast.approved_author")


async def cancel(turn: Turn, broadcast: Broadcast) -> None:
    """The author may stop a broadcast until its sending ends; what is still queued is withdrawn."""
    if broadcast.author_person_id != turn.person.id:
        turn.say("broadcast.not_yours", id=broadcast.id)
        return
    if broadcast.status not in CANCELLABLE:
        turn.say("broadcast.already", id=broadcast.id, status=turn.t(f"broadcast.status.{broadcast.status}"))
        return
    started = broadcast.started_at is not None
    broadcast.status, broadcast.cancelled_at = CANCELLED, turn.now
    withdrawn = await turn.uow.broadcasts.withdraw_pending(broadcast.id)
    if not started:
        broadcast.finished_at = turn.now
    turn.say("broadcast.cancelled", id=broadcast.id, withdrawn=withdrawn)


async def show_list(turn: Turn, args: str = "") -> None:
    """`/broadcasts`: the latest ones with their state, and the buttons each admin may press on them."""
    if not await may(turn.uow, turn.person.id, Action.BROADCAST):
        turn.reply(main_menu(turn, lead=turn.t("broadcast.not_admin")))
        return
    recent = await turn.uow.broadcasts.recent(LISTED)
    if not recent:
        turn.say("broadcast.none")
        return
    for broadcast in recent:
        audience = broadcast.recipients or await turn.uow.subscriptions.count_audience(
            broadcast.topic, broadcast.county
        )
        lines = [describe(turn.translator, turn.locale, broadcast, turn.rules.zone, audience)]
        lines.append(text_for(broadcast, turn.locale)[:80])
        row: list[Button] = []
        own = broadcast.author_person_id == turn.person.id
        if broadcast.status == DRAFT and own:
            row.append(turn.button("broadcast.request", data(PREFIX, "request", broadcast.id)))
        if broadcast.status == AWAITING and not own:
            row.append(turn.button("broadcast.approve", data(PREFIX, "approve", broadcast.id)))
            row.append(turn.button("broadcast.reject", data(PREFIX, "reject", broadcast.id)))
        if broadcast.status in CANCELLABLE and own:
            row.append(turn.button("broadcast.cancel", data(PREFIX, "cancel", broadcast.id)))
        turn.reply(Reply(text="\n".join(lines), buttons=(tuple(row),) if row else ()))


async def on_button(turn: Turn, pressed: Data) -> None:
    """Buttons `bc:request|approve|reject|cancel:<id>`. To anyone but an admin, every id looks unknown."""
    verb, broadcast_id = pressed.part(0), pressed.id(1)
    admin = await may(turn.uow, turn.person.id, Action.BROADCAST)
    broadcast = await turn.uow.broadcasts.get_for_update(broadcast_id) if admin and broadcast_id else None
    if broadcast is None:
        turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))
        return
    if verb == "request":
        await request_approval(turn, broadcast)
    elif verb in ("approve", "reject"):
        await decide(turn, broadcast, approve=verb == "approve")
    elif verb == "cancel":
        await cancel(turn, broadcast)
    else:
        turn.reply(main_menu(turn, lead=turn.t("input.stale_button")))

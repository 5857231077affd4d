"""The authorization matrix: seven actors × every policy action, asked of the policy and played through the desk.

Only the allowed cells succeed; every refused ticket action answers exactly like a missing ticket and changes
nothing. A new Action without a row here fails `test_every_action_has_a_row`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from handlers.conversation.messages import Reply
from handlers.staff import card, forms
from handlers.staff import routes as officers
from handlers.tickets.policy import Action, Actor, actor_for, allows
from storage.models import AuditEntry, Invite, Officer, TicketEvent
from tests.conftest import Chat, DeskDriver
from tests.support.officer_world import (
    PHONE,
    SUMMARY,
    UNIT_A,
    UNIT_B,
    Staff,
    invite_code,
    person_of,
    plant_ticket,
    staff,
    ticket,
    unit_id,
)

ACTORS = ("unlinked", "owner", "other_citizen", "officer_a", "officer_b", "leader_a", "admin")
STAFF = frozenset({"officer_a", "officer_b", "leader_a", "admin"})

# action → (the state the ticket is in when the action is tried, or None for actions on no ticket; who may).
# "new" is unit A's unclaimed ticket; "claimed" and "resolved" are held by officer_a of unit A.
MATRIX: dict[Action, tuple[str | None, frozenset[str]]] = {
    Action.VIEW: ("claimed", frozenset({"owner", "officer_a", "leader_a", "admin"})),
    Action.VIEW_SENSITIVE: ("claimed", frozenset({"officer_a", "leader_a"})),
    Action.REVEAL_PHONE: ("claimed", frozenset({"officer_a"})),
    Action.CLAIM: ("new", frozenset({"officer_a", "leader_a"})),
    Action.MESSAGE: ("claimed", frozenset({"owner", "officer_a"})),
    Action.NOTE: ("claimed", frozenset({"officer_a", "leader_a", "admin"})),
    Action.START_WORK: ("claimed", frozenset({"officer_a", "leader_a"})),
    Action.SCHEDULE_MEDIATION: ("claimed", frozenset({"officer_a", "leader_a"})),
    Action.RESOLVE: ("claimed", frozenset({"officer_a", "leader_a"})),
    Action.CLOSE: ("resolved", frozenset({"officer_a", "leader_a", "admin"})),
    Action.REOPEN: ("resolved", frozenset({"owner", "leader_a", "admin"})),
    Action.CANCEL: ("claimed", frozenset({"owner"})),
    Action.TRANSFER: ("claimed", frozenset({"officer_a", "leader_a", "admin"})),
    Action.REJECT: ("claimed", frozenset({"officer_a", "leader_a"})),
    Action.REASSIGN: ("claimed", frozenset({"leader_a", "admin"})),
    Action.RATE: ("resolved", frozenset({"owner"})),
    Action.DUTY: (None, STAFF),
    Action.OVERVIEW: (None, frozenset({"leader_a", "admin"})),
    Action.INVITE: (None, frozenset({"admin"})),
    Action.JOIN: (None, frozenset({"unlinked", "owner", "other_citizen"})),
    Action.BROADCAST: (None, frozenset({"admin"})),
    Action.APPROVE_BROADCAST: (None, frozenset({"admin"})),
    Action.LEDGER: (None, frozenset({"leader_a", "admin"})),
    Action.EXPORT: (None, frozenset({"leader_a", "admin"})),
    Action.DASHBOARD: (None, frozenset({"leader_a", "admin"})),
    Action.LINK_CASE: ("claimed", frozenset({"officer_a", "leader_a", "admin"})),
    Action.AUDIT: (None, frozenset({"admin"})),
}

# While a ticket is unclaimed, every officer of its unit may look at it, pass it on or turn it down.
UNCLAIMED_ROWS: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset({"owner", "officer_a", "leader_a", "admin"}),
    Action.TRANSFER: frozenset({"officer_a", "leader_a", "admin"}),
    Action.REJECT: frozenset({"officer_a", "leader_a"}),
}

# Broadcasts (#7), the satisfaction callback (#6) and a cluster's joint case (#17, played in
# tests/desk/test_ledger_clusters.py) are other desks' screens; here the policy alone answers them.
POLICY_ONLY = frozenset({Action.BROADCAST, Action.APPROVE_BROADCAST, Action.RATE, Action.LINK_CASE})


def test_every_action_has_a_row() -> None:
    assert set(MATRIX) == set(Action), f"add a matrix row for {set(Action) - set(MATRIX)}"
    for action, (setup, allowed) in MATRIX.items():
        assert allowed <= set(ACTORS), action
        assert setup in (None, "new", "claimed", "resolved"), action


def test_every_button_verb_asks_the_policy_for_a_known_action() -> None:
    assert {verb.action for verb in officers.VERBS.values()} <= set(Action)
    assert {verb for verb, *_ in card.CARD} <= set(officers.VERBS)
    assert {forms.ACTIONS[form.name] for form in officers.FORMS if form.name in forms.ACTIONS} <= set(Action)
    ticket_actions = {a for a in Action if MATRIX[a][0] is not None} - POLICY_ONLY
    assert ticket_actions <= {verb.action for verb in officers.VERBS.values()}


def test_nobody_may_do_anything() -> None:
    for action in Action:
        assert not allows(Actor.nobody(), action, None)


@dataclass
class World:
    chats: dict[str, Chat]
    staff: Staff


@pytest.fixture
async def world(driver: DeskDriver) -> World:
    from tests.support.officer_world import load_demo

    await load_demo(driver)
    team = await staff(driver)
    chats = {
        "unlinked": driver.chat("stranger"),
        "owner": driver.chat("owner"),
        "other_citizen": driver.chat("other"),
        "officer_a": team.officer_a,
        "officer_b": team.officer_b,
        "leader_a": team.leader_a,
        "admin": team.admin,
    }
    await driver.agree(chats["owner"])
    await driver.agree(chats["other_citizen"])
    return World(chats, team)


async def plant(driver: DeskDriver, world: World, setup: str) -> int:
    officer = world.staff.officer_a if setup != "new" else None
    planted = await plant_ticket(driver, world.chats["owner"], UNIT_A, status=setup, officer=officer)
    return planted.id


async def test_the_policy_answers_the_matrix(driver: DeskDriver, world: World) -> None:
    wrong = []
    for action, (setup, allowed) in MATRIX.items():
        target = await ticket(driver, await plant(driver, world, setup)) if setup else None
        for name in ACTORS:
            if name == "unlinked":
                await driver.say(world.chats[name], "/start")
            async with driver.db.reading() as uow:
                actor = await actor_for(uow, await person_of(driver, world.chats[name]))
            if allows(actor, action, target) != (name in allowed):
                wrong.append((action.value, name))
    for action, allowed in UNCLAIMED_ROWS.items():
        target = await ticket(driver, await plant(driver, world, "new"))
        for name in ACTORS:
            async with driver.db.reading() as uow:
                actor = await actor_for(uow, await person_of(driver, world.chats[name]))
            if allows(actor, action, target) != (name in allowed):
                wrong.append((f"{action.value} (unclaimed)", name))
    assert wrong == []


# --- the same matrix, played through the desk ----------------------------------------------------------------------

Step = tuple[str, str]  # ("press", data) or ("say", text)
Plan = Callable[[World, int, str], Awaitable[list[Step]]]


async def _events(driver: DeskDriver, ticket_id: int, action: str) -> int:
    async with driver.db.reading() as uow:
        stmt = select(func.count()).where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == action)
        return int((await uow.session.execute(stmt)).scalar_one())


def _plans(driver: DeskDriver) -> dict[Action, tuple[Plan, Callable[[int, str], Awaitable[bool]]]]:
    async def status_is(ticket_id: int, status: str) -> bool:
        return (await ticket(driver, ticket_id)).status == status

    def press(verb: str) -> Plan:
        async def plan(world: World, tid: int, name: str) -> list[Step]:
            return [("press", f"t:{verb}:{tid}")]

        return plan

    async def message(world: World, tid: int, name: str) -> list[Step]:
        verb = "msg" if name in STAFF else "reply"
        return [("press", f"t:{verb}:{tid}"), ("say", "请明天上午带上材料来所里")]

    async def note(world: World, tid: int, name: str) -> list[Step]:
        return [("press", f"t:note:{tid}"), ("say", "对方当事人电话已核实")]

    async def mediate(world: World, tid: int, name: str) -> list[Step]:
        return [("press", f"t:mediate:{tid}"), ("say", "2026-12-03 09:30"), ("say", "北关司法所调解室")]

    async def resolve(world: World, tid: int, name: str) -> list[Step]:
        return [
            ("press", f"t:resolve:{tid}"),
            ("press", f"t:outcome:{tid}:advice_given"),
            ("say", "已当面解答，建议先协商，协商不成可向法院起诉"),
        ]

    async def transfer(world: World, tid: int, name: str) -> list[Step]:
        target = await unit_id(driver, UNIT_B)
        return [
            ("press", f"t:transfer:{tid}"),
            ("press", f"t:to:{tid}:{target}"),
            ("say", "当事人住在南郑区"),
            ("press", "nav:skip"),  # no receiver named: the form's own skip
        ]

    async def reject(world: World, tid: int, name: str) -> list[Step]:
        return [("press", f"t:reject:{tid}"), ("say", "不属于本单位受理范围"), ("press", "nav:skip")]

    async def open_files(world: World, tid: int, name: str) -> list[Step]:
        async with driver.db() as uow:
            planted = await uow.tickets.get(tid)
            assert planted is not None
            planted.attachments = [{"kind": "photo", "ref": "tg-photo-file-id", "channel": "telegram"}]
            await uow.commit()
        return [("press", f"t:files:{tid}")]

    async def opened(tid: int, name: str) -> bool:
        async with driver.db.reading() as uow:
            stmt = (
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.ticket_id == tid, AuditEntry.action == "open_attachments")
            )
            return int((await uow.session.execute(stmt)).scalar_one()) > 0

    async def reassign(world: World, tid: int, name: str) -> list[Step]:
        return [("press", f"t:reassign:{tid}"), ("press", f"t:assign:{tid}:{world.staff.ids['officer_a2']}")]

    def command(text: str) -> Plan:
        async def plan(world: World, tid: int, name: str) -> list[Step]:
            return [("say", text)]

        return plan

    async def join_plan(world: World, tid: int, name: str) -> list[Step]:
        return [("say", f"/join {await invite_code(driver, 'hantai-court', 'officer')} 新同事")]

    async def has_event(action: str, tid: int) -> bool:
        return await _events(driver, tid, action) > 0

    async def revealed(tid: int, name: str) -> bool:
        async with driver.db.reading() as uow:
            stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.ticket_id == tid)
            return int((await uow.session.execute(stmt)).scalar_one()) > 0

    async def messaged(tid: int, name: str) -> bool:
        return await has_event("message_out", tid) or await has_event("message_in", tid)

    async def reassigned(tid: int, name: str) -> bool:
        return (await ticket(driver, tid)).officer_id not in (None,) and await has_event("reassigned", tid)

    async def transferred(tid: int, name: str) -> bool:
        return (await ticket(driver, tid)).unit_id == await unit_id(driver, UNIT_B)

    return {
        Action.VIEW: (press("view"), lambda tid, name: has_event("__never__", tid)),  # judged by the reply text
        Action.REVEAL_PHONE: (press("phone"), revealed),
        Action.VIEW_SENSITIVE: (open_files, opened),
        Action.CLAIM: (press("claim"), lambda tid, name: status_is(tid, "claimed")),
        Action.MESSAGE: (message, messaged),
        Action.NOTE: (note, lambda tid, name: has_event("note", tid)),
        Action.START_WORK: (press("work"), lambda tid, name: status_is(tid, "in_progress")),
        Action.SCHEDULE_MEDIATION: (mediate, lambda tid, name: status_is(tid, "mediation_scheduled")),
        Action.RESOLVE: (resolve, lambda tid, name: status_is(tid, "resolved")),
        Action.CLOSE: (press("close"), lambda tid, name: status_is(tid, "closed")),
        Action.REOPEN: (press("reopen"), lambda tid, name: status_is(tid, "reopened")),
        Action.CANCEL: (press("cancel"), lambda tid, name: status_is(tid, "cancelled")),
        Action.TRANSFER: (transfer, transferred),
        Action.REJECT: (reject, lambda tid, name: status_is(tid, "rejected")),
        Action.REASSIGN: (reassign, reassigned),
        Action.DUTY: (command("/duty"), lambda tid, name: has_event("__never__", tid)),
        Action.OVERVIEW: (command("/overview"), lambda tid, name: has_event("__never__", tid)),
        Action.INVITE: (command("/invite hantai-court officer"), lambda tid, name: has_event("__never__", tid)),
        Action.JOIN: (join_plan, lambda tid, name: has_event("__never__", tid)),
        Action.LEDGER: (command("/ledger"), lambda tid, name: has_event("__never__", tid)),
        Action.EXPORT: (command("/export"), lambda tid, name: has_event("__never__", tid)),
        Action.DASHBOARD: (command("/dashboard"), lambda tid, name: has_event("__never__", tid)),
        Action.AUDIT: (command("/audit"), lambda tid, name: has_event("__never__", tid)),
    }


async def _counts(driver: DeskDriver, ticket_id: int | None) -> tuple[int, int, int, int]:
    async with driver.db.reading() as uow:
        s = uow.session
        events = (
            int((await s.execute(select(func.count()).where(TicketEvent.ticket_id == ticket_id))).scalar_one())
            if ticket_id
            else 0
        )
        audits = int((await s.execute(select(func.count()).select_from(AuditEntry))).scalar_one())
        invites = int((await s.execute(select(func.count()).select_from(Invite))).scalar_one())
        staff_rows = int((await s.execute(select(func.count()).select_from(Officer))).scalar_one())
        return events, audits, invites, staff_rows


async def _play(driver: DeskDriver, chat: Chat, steps: list[Step]) -> list[Reply]:
    """Run the steps; stop at the first refusal, as a person would."""
    refused = {driver.t(locale, "desk.not_found") for locale in ("zh_CN", "en")}
    seen: list[Reply] = []
    for kind, value in steps:
        replies = await (driver.press(chat, value) if kind == "press" else driver.say(chat, value))
        seen.extend(replies)
        if replies and replies[-1].text in refused:
            break
    return seen


@pytest.mark.slow  # ~120 cells through the real desk: 15-40 s per database on a busy machine
async def test_only_the_allowed_cells_succeed_through_the_desk(driver: DeskDriver, world: World) -> None:
    plans = _plans(driver)
    not_found = Reply(text=driver.t("zh_CN", "desk.not_found"))
    refused_command = driver.t("zh_CN", "desk.command_refused")
    rows: list[tuple[Action, str | None, frozenset[str]]] = [
        (action, setup, allowed) for action, (setup, allowed) in MATRIX.items() if action not in POLICY_ONLY
    ]
    rows += [(action, "new", allowed) for action, allowed in UNCLAIMED_ROWS.items()]
    rows.sort(key=lambda row: row[0] == Action.JOIN)  # joining turns citizens into staff: play it last
    wrong = []
    for action, setup, allowed in rows:
        plan, succeeded = plans[action]
        for name in ACTORS:
            chat = world.chats[name]
            tid = await plant(driver, world, setup) if setup else 0
            before = await _counts(driver, tid or None)
            replies = await _play(driver, chat, await plan(world, tid, name))
            texts = "\n".join(r.text for r in replies)
            if setup is None:
                if action == Action.INVITE:
                    ok = (await _counts(driver, None))[2] > before[2]
                elif action == Action.JOIN:
                    ok = (await _counts(driver, None))[3] > before[3]
                else:
                    ok = refused_command not in texts
            elif action == Action.VIEW:
                number = (await ticket(driver, tid)).number
                ok = number in texts
            else:
                ok = await succeeded(tid, name)
            if ok != (name in allowed):
                wrong.append((action.value, setup, name, texts[:120]))
            if setup and name not in allowed:
                if replies[0] != not_found:
                    wrong.append((action.value, setup, name, "refusal differs from not-found", replies[0].text))
                if await _counts(driver, tid) != before:
                    wrong.append((action.value, setup, name, "a refused action changed something"))
                if PHONE in texts or SUMMARY in texts:
                    wrong.append((action.value, setup, name, "a refused action revealed the ticket"))
    assert wrong == []

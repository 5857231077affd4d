"""My tickets: the list with status and next deadline, a ticket's citizen-visible story, adding information (text or
photo), withdrawing with a reason — and nobody reaches another person's ticket by guessing or tampering."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.conversation.messages import Reply
from handlers.conversation.words import stamp
from handlers.tickets import lifecycle
from storage.models import Officer, OutboxMessage, Ticket
from tests.conftest import DeskDriver, FakeClock, buttons
from tests.support.intake_walks import Walk, start

DESCRIPTION = "邻居把界桩往我家地里挪了两米，协商了几次都不成"


async def file_dispute(walk: Walk) -> Ticket:
    await walk.run([("press", "menu:dispute"), ("press", "land"), ("press", "hantai"), ("press", "nav:skip")])
    await walk.run([("say", DESCRIPTION), ("press", "nav:skip"), ("press", "nav:skip"), ("say", "13800138000")])
    await walk.run([("press", "any"), ("press", "nav:submit")])
    async with walk.driver.db.reading() as uow:
        identity = await uow.people.identity("webchat", walk.chat.chat_id)
        assert identity is not None
        return (await uow.tickets.of_citizen(identity.person_id))[0]


async def events_of(driver: DeskDriver, ticket_id: int) -> list[tuple[str, str | None, bool]]:
    async with driver.db.reading() as uow:
        return [(e.action, e.note, e.citizen_visible) for e in await uow.tickets.events(ticket_id)]


async def test_list_story_add_and_withdraw(driver: DeskDriver, clock: FakeClock) -> None:
    walk = await start(driver, "owner", "zh_CN")
    ticket = await file_dispute(walk)
    async with driver.db() as uow:
        row = await uow.tickets.get(ticket.id)
        assert row is not None
        row.claim_due_at = clock.now + timedelta(hours=4)  # 14:00 in Hanzhong
        await lifecycle.record(uow, row, "note", actor_person_id=None, now=clock.now, note="内部备注：先电话核实")
        await uow.commit()

    listing = (await walk.do(("say", "/status")))[-1]
    due = driver.t("zh_CN", "mytickets.due.claim", when="2026-11-27 14:00")
    status = driver.t("zh_CN", "status.new")
    kind = driver.t("zh_CN", "kind.dispute")
    assert (
        driver.t("zh_CN", "mytickets.line", number=ticket.number, kind=kind, status=status, deadline=due)
        in listing.text
    )
    assert f"my:open:{ticket.id}" in buttons(listing)

    story = (await walk.do(("press", f"my:open:{ticket.id}")))[-1]
    assert driver.t("zh_CN", "event.created") in story.text and due in story.text
    assert "内部备注" not in story.text  # officers' notes are not the citizen's story
    assert buttons(story)[:2] == [f"my:add:{ticket.id}", f"my:cancel:{ticket.id}"]

    await walk.do(("press", f"my:add:{ticket.id}"))
    await walk.do(("say", "对方今天又把界桩挪回去了"))
    added = await walk.do(("press", "nav:submit"))
    assert added[0].text == driver.t("zh_CN", "mytickets.add.done", number=ticket.number)
    await walk.do(("press", f"my:add:{ticket.id}"))
    await walk.do(("photo", "photo-of-the-boundary-stone"))
    story = (await walk.do(("press", "nav:submit")))[-1]
    assert "对方今天又把界桩挪回去了" in story.text
    assert driver.t("zh_CN", "input.media_count", count=1) in story.text

    async with driver.db.reading() as uow:
        row = await uow.tickets.get(ticket.id)
        assert row is not None and [a["ref"] for a in row.attachments] == ["photo-of-the-boundary-stone"]
    events = await events_of(driver, ticket.id)
    assert events[-2:] == [("citizen_info", "对方今天又把界桩挪回去了", True), ("citizen_info", None, True)]
    assert row.attachments[0]["event"] is not None

    await walk.do(("press", f"my:cancel:{ticket.id}"))
    await walk.do(("say", "已经和邻居协商解决了，有事打 13912345678"))
    withdrawn = await walk.do(("press", "nav:submit"))
    assert withdrawn[0].text == driver.t("zh_CN", "mytickets.cancel.done", number=ticket.number)
    assert f"my:add:{ticket.id}" not in buttons(withdrawn[-1]) and f"my:cancel:{ticket.id}" not in buttons(
        withdrawn[-1]
    )
    assert driver.t("zh_CN", "event.cancelled_by_citizen") in withdrawn[-1].text
    async with driver.db.reading() as uow:
        row = await uow.tickets.get(ticket.id)
        assert row is not None and row.status == "cancelled" and row.closed_at is not None
        last = (await uow.tickets.events(ticket.id))[-1]
        as_written = uow.tickets.note_of(last)
    assert (last.action, last.from_status, last.to_status, last.note) == (
        "cancelled_by_citizen",
        "new",
        "cancelled",
        "已经和邻居协商解决了，有事打 139****5678",  # the reason's number masked where it is kept (#16)
    )
    assert as_written == "已经和邻居协商解决了，有事打 13912345678"
    stale = await walk.do(("press", f"my:add:{ticket.id}"))
    assert stale[0].text == driver.t("zh_CN", "mytickets.closed", number=ticket.number)


async def test_the_assigned_officer_hears_of_added_information(driver: DeskDriver, clock: FakeClock) -> None:
    walk = await start(driver, "owner-2", "en")
    ticket = await file_dispute(walk)
    async with driver.db() as uow:
        identity = await uow.people.create("webchat", "officer-chat", "zh_CN", clock.now)
        unit = await uow.units.upsert(
            {"code": "hantai-justice", "kind": "justice", "name_zh": "汉台区司法局", "name_en": "Hantai"}
        )
        officer = await uow.officers.add(
            Officer(person_id=identity.person_id, unit_id=unit.id, role="officer", name="李", created_at=clock.now)
        )
        row = await uow.tickets.get(ticket.id)
        assert row is not None
        row.officer_id = officer.id
        await lifecycle.transition(uow, row, lifecycle.CLAIMED, actor_person_id=identity.person_id, now=clock.now)
        await uow.commit()
    story = (await walk.do(("press", f"my:open:{ticket.id}")))[-1]
    assert driver.t("en", "status.claimed") in story.text
    await walk.run([("press", f"my:add:{ticket.id}"), ("say", "The neighbour moved it again"), ("press", "nav:submit")])
    async with driver.db.reading() as uow:
        alerts = (
            (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.recipient == "officer-chat")))
            .scalars()
            .all()
        )
    assert [Reply.from_payload(uow.outbox.open(a.payload)).text for a in alerts] == [
        driver.t("zh_CN", "mytickets.alert.info", number=ticket.number)
    ]

    await walk.run([("press", f"my:cancel:{ticket.id}"), ("say", "Settled with them"), ("press", "nav:submit")])
    card = (await driver.press(driver.chat("officer-chat"), f"t:view:{ticket.id}"))[-1]
    said = driver.t("zh_CN", "desk.card.withdrawn", at=stamp(clock.now, driver.desk.rules.zone))
    assert said in card.text.splitlines()  # on a line of its own, not only in the history


async def test_another_persons_ticket_looks_exactly_like_no_ticket(driver: DeskDriver) -> None:
    owner = await start(driver, "owner-3", "zh_CN")
    ticket = await file_dispute(owner)
    before = await events_of(driver, ticket.id)
    stranger = await start(driver, "stranger", "zh_CN")

    async def answer(action: tuple[str, str]) -> list[tuple[str, list[str]]]:
        return [(r.text, buttons(r)) for r in await stranger.do(action)]

    nothing = await answer(("press", "my:open:999999"))
    assert nothing[0][0] == driver.t("zh_CN", "mytickets.not_found")
    for tampered in (
        ("press", f"my:open:{ticket.id}"),
        ("press", f"my:add:{ticket.id}"),
        ("press", f"my:cancel:{ticket.id}"),
        ("press", "my:add:999999"),
        ("press", "my:open:-1"),
        ("press", "my:open:1e3"),
        ("press", f"my:delete:{ticket.id}"),
        ("press", "my:open:" + "9" * 40),
        ("say", f"/status {ticket.number}"),
        ("say", "/status HZ-20991231-0001"),
        ("say", "/status ' OR 1=1 --"),
    ):
        assert await answer(tampered) == nothing, tampered
    assert await events_of(driver, ticket.id) == before
    mine = (await owner.do(("say", f"/status {ticket.number.lower()}")))[-1]
    assert mine.text.startswith(
        driver.t(
            "zh_CN",
            "mytickets.header",
            number=ticket.number,
            kind=driver.t("zh_CN", "kind.dispute"),
            category=driver.t("zh_CN", "dispute.cat.land"),
            status=driver.t("zh_CN", "status.new"),
        )
    )


async def test_a_half_filled_form_is_not_thrown_away_for_a_ticket_flow(driver: DeskDriver) -> None:
    walk = await start(driver, "busy", "zh_CN")
    ticket = await file_dispute(walk)
    await walk.run([("press", "menu:concern"), ("press", "other")])
    busy = (await walk.do(("press", f"my:add:{ticket.id}")))[-1]
    assert busy.text == driver.t("zh_CN", "mytickets.busy")
    resumed = (await walk.do(("press", "menu:continue")))[-1]
    assert driver.t("zh_CN", "common.county") in resumed.text
    none = await start(driver, "nobody", "en")
    empty = (await none.do(("say", "/status")))[-1]
    assert empty.text == driver.t("en", "status.none")

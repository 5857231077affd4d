"""Clusters (未诉先办) through the real desk: wage reports naming one employer however it is written, fraud reports
naming one account (kept only as a keyed hash), one village's land disputes; the leaders of the units involved told
once each; a joint case linked by those who may, each citizen told; nobody else can."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import select

from bot.app import DEMO_CLUSTERS
from handlers.conversation.turn import Rules
from handlers.desk import Desk
from storage.models import Cluster, ClusterKey, ClusterMember, Ticket, TicketEvent
from storage.uow import Database
from tests.conftest import Chat, DeskDriver, FakeClock, buttons
from tests.support.officer_world import join, load_demo, walk_interview

ACCOUNT = "6222021234567890123"


@pytest.fixture
async def driver(db: Database, translator, clock: FakeClock) -> DeskDriver:  # type: ignore[no-untyped-def]
    rules = Rules(clusters=tomllib.loads(DEMO_CLUSTERS.read_text(encoding="utf-8")))
    return DeskDriver(Desk(db, translator, rules, clock), db, translator)


async def citizen(driver: DeskDriver, name: str) -> Chat:
    chat = driver.chat(name)
    await driver.agree(chat)
    return chat


async def wages(driver: DeskDriver, who: Chat, employer: str, county: str) -> None:
    await walk_interview(
        driver,
        who,
        "concern",
        {
            "category": "wages",
            "wages_employer": employer,
            "wages_workers": "12",
            "wages_amount": "36000",
            "wages_since": "yesterday",
            "county": county,
            "description": "工地干了三个月活，老板一直拖着工资不发，找了几次都说没钱",
            "phone": "13800138000",
        },
    )


async def alerts(driver: DeskDriver, chat: Chat) -> list[str]:
    lead = driver.t("zh_CN", "ledger.cluster.alert", what="\x00", count=0, days=0, unit="\x00").split("\x00")[0]
    return [r.text for r in await driver.replies(chat) if r.text.startswith(lead[:6])]


async def test_one_employer_however_written_makes_one_cluster_told_once_to_each_unit(driver: DeskDriver) -> None:
    await load_demo(driver)
    hantai = await join(driver, "leader-ht", "hantai-legalaid", "leader", "赵主任")
    nanzheng = await join(driver, "leader-nz", "nanzheng-legalaid", "leader", "钱主任")
    outsider = await join(driver, "officer-x", "hantai-justice", "officer", "孙干事")
    people = [await citizen(driver, f"worker-{n}") for n in range(5)]
    await wages(driver, people[0], "汉中市恒达建筑有限公司", "hantai")
    await wages(driver, people[1], "恒达建筑公司（城北工地）", "nanzheng")
    async with driver.db.reading() as uow:
        assert (await uow.session.execute(select(Cluster))).scalars().all() == []
    await wages(driver, people[2], "恒 达 建 筑", "hantai")  # the third: a cluster
    await wages(driver, people[3], "恒达建筑集团", "hantai")  # joins it; nobody is told again
    await wages(driver, people[4], "汉中市鑫源物流有限公司", "hantai")  # another employer
    async with driver.db.reading() as uow:
        [cluster] = (await uow.session.execute(select(Cluster))).scalars().all()
        members = (await uow.session.execute(select(ClusterMember))).scalars().all()
    assert (cluster.kind, cluster.label, cluster.size, len(members)) == ("employer", "恒达建筑", 4, 4)
    assert len(await alerts(driver, hantai)) == 1 and len(await alerts(driver, nanzheng)) == 1
    assert await alerts(driver, outsider) == []
    last = [r for r in await driver.replies(hantai) if f"lg:link:{cluster.id}" in buttons(r)]
    assert len(last) == 1 and f"lg:cluster:{cluster.id}" in buttons(last[0])

    # Someone who may link none of them is answered as for a missing thing, and nothing changes.
    refused = await driver.press(outsider, f"lg:link:{cluster.id}")
    assert refused[-1].text == driver.t("zh_CN", "desk.not_found")
    seen = await driver.press(outsider, f"lg:cluster:{cluster.id}")
    assert seen[-1].text == driver.t("zh_CN", "desk.not_found")

    # Each leader links their own unit's tickets; each of those citizens is told, once, and it is on the ticket.
    listed = await driver.press(hantai, f"lg:cluster:{cluster.id}")
    assert sum(1 for b in buttons(listed[-1]) if b.startswith("t:view:")) == 3
    linked = await driver.press(hantai, f"lg:link:{cluster.id}")
    assert linked[-1].text == driver.t("zh_CN", "ledger.cluster.linked", count=3, already=0, total=4)
    again = await driver.press(hantai, f"lg:link:{cluster.id}")
    assert again[-1].text == driver.t("zh_CN", "ledger.cluster.linked", count=0, already=3, total=4)
    await driver.press(nanzheng, f"lg:link:{cluster.id}")
    async with driver.db.reading() as uow:
        events = (await uow.session.execute(select(TicketEvent).where(TicketEvent.action == "joint_case"))).scalars()
        joined = {e.ticket_id for e in events if e.citizen_visible}
        mine = {m.ticket_id for m in (await uow.session.execute(select(ClusterMember))).scalars()}
        cluster = (await uow.session.execute(select(Cluster))).scalar_one()
    assert joined == mine and cluster.joint_at is not None
    for person in people[:4]:
        told_texts = [r.text for r in await driver.replies(person) if "并案" in r.text]
        assert len(told_texts) == 1, person.chat_id
    assert not [r for r in await driver.replies(people[4]) if "并案" in r.text]


async def test_a_fraud_account_is_grouped_by_keyed_hash_and_never_stored_plain(driver: DeskDriver) -> None:
    await load_demo(driver)
    police = await join(driver, "leader-police", "hantai-police", "leader", "李所长")
    for n, written in enumerate(("6222 0212 3456 7890 123", f"对方让我转到银行卡{ACCOUNT}，还加了QQ")):
        chat = await citizen(driver, f"victim-{n}")
        await walk_interview(
            driver,
            chat,
            "concern",
            {
                "category": "fraud",
                "fraud_when": "yesterday",
                "fraud_paid": "bank_transfer",
                "fraud_suspect": written,
                "county": "hantai",
                "description": "网上刷单被骗，先小额返利后来要求大额转账，转完就联系不上了",
                "phone": "13800138000",
            },
        )
    async with driver.db.reading() as uow:
        [cluster] = (await uow.session.execute(select(Cluster))).scalars().all()
        keys = (await uow.session.execute(select(ClusterKey))).scalars().all()
    assert cluster.kind == "suspect" and cluster.size == 2 and cluster.label == "622****0123"
    assert {k.key_hash for k in keys} == {cluster.key_hash}
    stored = [str(v) for row in (cluster, *keys) for v in vars(row).values()]
    assert not [v for v in stored if ACCOUNT in v or ACCOUNT[:10] in v]
    assert cluster.key_hash == driver.db.cipher.lookup_hash(f"suspect:{ACCOUNT}")
    assert len(await alerts(driver, police)) == 1


async def test_one_villages_land_disputes_in_a_fortnight_are_a_cluster(driver: DeskDriver, clock: FakeClock) -> None:
    await load_demo(driver)
    for n in range(3):
        chat = await citizen(driver, f"villager-{n}")
        await walk_interview(
            driver,
            chat,
            "dispute",
            {"category": "land", "county": "hantai", "township": "beiguan",
             "description": "邻居把界桩往我家地里挪了两米，协商了几次都不成", "phone": "13800138000"},
        )  # fmt: skip
        clock.advance(days=6)  # 0, 6, 12 days: within the 14-day window
    chat = await citizen(driver, "villager-late")
    clock.advance(days=20)
    await walk_interview(
        driver, chat, "dispute",
        {"category": "land", "county": "hantai", "township": "beiguan",
         "description": "邻居把界桩往我家地里挪了两米，协商了几次都不成", "phone": "13800138000"},
    )  # fmt: skip
    async with driver.db.reading() as uow:
        clusters = (await uow.session.execute(select(Cluster))).scalars().all()
        tickets = (await uow.session.execute(select(Ticket))).scalars().all()
    assert [(c.kind, c.label, c.size) for c in clusters] == [("place", "hantai|beiguan|dispute|land", 3)]
    assert len(tickets) == 4

"""A hand-built ledger: tickets of every kind planted with known times, statuses, outcomes, ratings and amounts in
units of two subtrees, broadcasts, guide asks; and the ledger's right answers computed here, independently, from
the plan itself (not from the database)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from storage.crypto import mask_phone
from storage.models import Broadcast, BroadcastDelivery, OutboxMessage, Ticket
from tests.conftest import Chat, DeskDriver
from tests.support.officer_world import load_demo, person_of

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # the desk's clock in the tests: Friday 10:00 in Hanzhong
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
UNITS = ("hantai-justice", "hantai-so-beiguan", "nanzheng-justice", "city-court", "city-legalaid")
HANTAI_TREE = frozenset({"hantai-justice", "hantai-so-beiguan", "hantai-so-puzhen"})
COUNTY_OF = {
    "hantai-justice": "hantai",
    "hantai-so-beiguan": "hantai",
    "nanzheng-justice": "nanzheng",
    "city-court": None,
    "city-legalaid": "chenggu",
}
KINDS = {
    "concern": ("fraud", "wages", "enforcement"),
    "dispute": ("land", "neighbours", "family"),
    "legal_aid": ("labour", "work_injury"),
    "relief": ("court",),
    "service": ("home_visit", "elderly", "disabled"),
}
STATUSES = ("new", "claimed", "in_progress", "resolved", "closed", "rejected", "cancelled", "reopened", "transferred")
RESOLVED = ("resolved", "closed")
OPEN = ("new", "transferred", "claimed", "in_progress", "mediation_scheduled", "reopened")
PHONE = "13912345678"


@dataclass
class Plan:
    """One planted ticket, as the test means it."""

    number: str
    kind: str
    category: str
    unit: str
    county: str | None
    status: str
    created: datetime
    claim_due: datetime | None
    claimed: datetime | None
    due: datetime | None
    resolved: datetime | None
    outcome: str | None
    treatment: int | None
    solved: str | None
    amount: Decimal | None = None
    id: int = 0


@dataclass
class World:
    plans: list[Plan] = field(default_factory=list)
    citizen: Chat | None = None
    broadcasts: int = 0
    recipients: int = 0
    delivered: int = 0

    # ---- the right answers, from the plans alone

    def chosen(self, units: frozenset[str] | None = None, county: str | None = None, whole: bool = False) -> list[Plan]:
        start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=ZONE)
        end = datetime(LAST.year, LAST.month, LAST.day, tzinfo=ZONE) + timedelta(days=1)
        return [
            p
            for p in self.plans
            if (whole or start <= p.created < end)
            and (units is None or p.unit in units)
            and (county is None or p.county == county)
        ]

    @staticmethod
    def counted(p: Plan) -> bool:
        return p.status != "cancelled"

    @staticmethod
    def responded(p: Plan) -> bool:
        return p.claimed is not None and (p.claim_due is None or p.claimed <= p.claim_due)

    @staticmethod
    def in_time(p: Plan) -> bool:
        return p.status in RESOLVED and p.resolved is not None and (p.due is None or p.resolved <= p.due)

    @staticmethod
    def due(p: Plan) -> bool:
        return p.status in RESOLVED or (p.due is not None and p.due < NOW)

    @staticmethod
    def overdue(p: Plan) -> bool:
        return p.status in OPEN and p.due is not None and p.due < NOW

    def rates(self, plans: list[Plan]) -> tuple[int, int, int, int, int, int]:
        counted = [p for p in plans if self.counted(p)]
        return (
            len(counted),
            sum(self.responded(p) for p in counted),
            sum(self.due(p) for p in counted),
            sum(self.in_time(p) for p in counted),
            sum(p.treatment is not None for p in counted),
            sum((p.treatment or 0) >= 4 for p in counted),
        )


async def build(driver: DeskDriver, *, seed: int = 17, count: int = 90) -> World:
    """The demo units, one citizen, `count` tickets over October and November 2026, two broadcasts."""
    await load_demo(driver)
    world = World(citizen=driver.chat("ledger-citizen", language="zh-CN"))
    await driver.agree(world.citizen)
    citizen_id = await person_of(driver, world.citizen)
    rng = random.Random(seed)
    async with driver.db() as uow:
        units = {u.code: u for u in await uow.units.all()}
        for index in range(count):
            kind = rng.choice(list(KINDS))
            unit = rng.choice(UNITS)
            created = datetime(2026, 10, 20, 1, 0, tzinfo=UTC) + timedelta(hours=rng.randint(0, 37 * 24))
            status = rng.choice(STATUSES)
            claim_due = created + timedelta(hours=rng.choice((4, 8, 24)))
            claimed = None
            if status not in ("new", "transferred") and rng.random() < 0.9:
                claimed = created + timedelta(hours=rng.randint(1, 30))
            due = created + timedelta(days=rng.choice((3, 7, 15, 30)))
            resolved = None
            if status in RESOLVED:
                resolved = (claimed or created) + timedelta(days=rng.randint(1, 20))
                if resolved > NOW:
                    resolved = NOW - timedelta(hours=1)
            outcome = None
            if status in RESOLVED:
                outcome = {
                    "dispute": rng.choice(("mediation_agreement", "referred_to_court", "not_handled")),
                    "legal_aid": rng.choice(("legal_aid_granted", "advice_given")),
                    "relief": rng.choice(("relief_granted", "not_handled")),
                }.get(kind, "advice_given")
            treatment = rng.choice((None, 2, 3, 4, 5)) if status in RESOLVED else None
            solved = rng.choice((None, "yes", "partly", "no")) if treatment else None
            amount = Decimal(rng.choice(("5000.00", "12000.50", "800.00"))) if outcome == "relief_granted" else None
            plan = Plan(
                number=f"HZ-LEDGER-{index:04d}",
                kind=kind,
                category=rng.choice(KINDS[kind]),
                unit=unit,
                county=COUNTY_OF[unit],
                status=status,
                created=created,
                claim_due=claim_due,
                claimed=claimed,
                due=due,
                resolved=resolved,
                outcome=outcome,
                treatment=treatment,
                solved=solved,
                amount=amount,
            )
            details = {"relief_amount": f"{amount:.2f}"} if amount is not None else {}
            ticket = await uow.tickets.add(
                Ticket(
                    number=plan.number,
                    kind=kind,
                    category=plan.category,
                    county=plan.county,
                    status=status,
                    urgent=False,
                    citizen_id=citizen_id,
                    unit_id=units[unit].id,
                    summary="邻居把界桩往我家地里挪了两米",
                    details=details,
                    attachments=[],
                    phone_sealed=uow.cipher.encrypt(PHONE),
                    phone_hash=uow.cipher.lookup_hash(PHONE),
                    phone_masked=mask_phone(PHONE),
                    locale="zh_CN",
                    created_at=created,
                    updated_at=created,
                    claim_due_at=claim_due,
                    claimed_at=claimed,
                    due_at=due,
                    resolved_at=resolved,
                    outcome=outcome,
                    rating_treatment=treatment,
                    rating_solved=solved,
                )
            )
            plan.id = ticket.id
            world.plans.append(plan)
        sent = ((datetime(2026, 11, 5, 2, tzinfo=UTC), 3, 2), (datetime(2026, 10, 5, 2, tzinfo=UTC), 2, 2))
        for number, (started, reached, delivered) in enumerate(sent):
            broadcast = Broadcast(
                author_person_id=citizen_id, topic="anti_fraud", county=None, text_zh="谨防电信诈骗", send_at=started,
                status="finished", started_at=started, fanned_out=reached, recipients=reached, created_at=started,
            )  # fmt: skip
            uow.session.add(broadcast)
            await uow.flush()
            for n in range(reached):
                uow.session.add(
                    OutboxMessage(
                        channel="webchat", recipient=f"reader-{number}-{n}", payload={"text": "谨防电信诈骗"},
                        kind="broadcast", status="sent" if n < delivered else "failed", not_before=started,
                        created_at=started, broadcast_id=broadcast.id,
                    )
                )  # fmt: skip
            uow.session.add(
                BroadcastDelivery(broadcast_id=broadcast.id, person_id=citizen_id, day=f"{started:%Y-%m-%d}",
                                  created_at=started)
            )  # fmt: skip
            if started.month == 11:
                world.broadcasts += 1
                world.recipients += reached
                world.delivered += delivered
        await uow.commit()
    return world

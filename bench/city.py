"""A realistic city on PostgreSQL for the benchmarks: three years of Hanzhong's tickets (1 M by default) across the
demo's 80 units, with the events, follow-ups, outbox history, people and chats they leave behind.

    python -m bench.city --url postgresql+asyncpg://127.0.0.1:5432/city          # 1 M tickets, seed 1
    python -m bench.city --database shishi_city                                # created on SHISHI_TEST_PG if missing
    python -m bench.city --database town --tickets 20000 --pending-followups 2000 --end 2026-11-27T02:00Z

Other benchmarks import it: `summary = await generate(url, tickets=…, seed=…)`.

What it holds, and why it looks like this:
- Arrivals follow the week (Monday heaviest, Sundays a third of it), public holidays (fewer), office hours (peaks at
  10:00 and 15:00, little at night) and a growth of about a half over the three years; kinds, categories and counties
  by weights close to a prefecture's mix (disputes a third, Hantai and the larger counties most). A quarter of the
  tickets come from citizens who wrote before, and a few hundred habitual petitioners hold hundreds.
- Every ticket lives its life: routed by the real routing rules, claim and resolution deadlines from the real policy
  and working calendar (demo/deadlines.toml, holidays), claimed mostly in time, sometimes transferred, rejected or
  withdrawn; messages, phone reveals (with their audit row), mediation, resolution with an outcome, the satisfaction
  callback answered or timed out, now and then reopened. Its follow-up ladder is written as the desk writes it:
  rungs done when they fell due, cancelled when the ticket moved on, pending when still ahead — the tickets opened
  in the last weeks (and the few stuck ones) leave the pending rows, topped up to `pending_followups` with
  "still being handled" updates further ahead. The outbox holds what each step sent (receipts, alerts to every
  officer of the unit, notices, reminders, the morning digests), all sent.
- Time stops at `end` (default: now): what would happen later is not there, so the ticket's status, its fields and
  its rows agree with a desk that ran until then.

Idempotent and resumable: the parameters and progress live in a table of its own (`bench_city`); tickets go in
chunks, each one transaction together with its progress, so a run stopped at any point continues where it stopped,
and a finished city is left as it is. Deterministic for a seed and an end (ids, numbers, times, texts; the sealed
phones differ, AES-GCM takes a fresh nonce). It refuses a database that holds tickets it did not write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import sys
import time
import tomllib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from handlers.followups import ladder
from handlers.interviews import CATEGORIES
from handlers.tickets.deadlines import Deadlines, default_deadlines
from handlers.tickets.routing import _score
from storage.crypto import FieldCipher, mask_phone
from storage.models import RoutingRule

ROOT = Path(__file__).resolve().parents[1]
UNITS_FILE = ROOT / "demo" / "hanzhong.toml"
PG_ADMIN_URL = os.environ.get("SHISHI_TEST_PG", "postgresql://127.0.0.1:5432/test")
SECRET = "bench-secret-key-for-field-encryption"
PREFIX = "HZ"
CHUNK = 20_000  # tickets per transaction
LOCAL = 8 * 3600  # Asia/Shanghai keeps no summer time: local time is UTC+8 all year
H, D = 3600.0, 86400.0

KINDS = {"dispute": 34, "concern": 25, "service": 16, "legal_aid": 15, "relief": 10}
CATEGORY_WEIGHTS: dict[str, dict[str, float]] = {
    "dispute": {"land": 16, "forest": 4, "neighbours": 20, "family": 18, "inheritance": 8, "labour": 12,
                "consumer": 8, "traffic": 9, "other": 5},
    "concern": {"fraud": 34, "wages": 28, "enforcement": 18, "public_safety": 12, "other": 8},
    "service": {"home_visit": 30, "elderly": 30, "disabled": 15, "hearing_speech": 5, "other": 20},
    "legal_aid": {"state_compensation": 1, "social_insurance": 8, "survivor_benefits": 2, "support": 14,
                  "labour": 30, "capacity": 2, "work_injury": 14, "traffic": 14, "food_drug": 2, "medical": 6,
                  "environment": 1, "other": 6},
    "relief": {"court": 75, "procuratorate": 25},
}  # fmt: skip
COUNTY_WEIGHTS = {"hantai": 56, "nanzheng": 45, "chenggu": 45, "yangxian": 37, "xixiang": 39, "mianxian": 37,
                  "ningqiang": 28, "lueyang": 17, "zhenba": 24, "liuba": 4, "foping": 3}  # fmt: skip
# Share of people per hour of the local day who write (peaks mid-morning and mid-afternoon, a little in the evening).
HOURS = (2, 1, 1, 1, 1, 2, 5, 14, 38, 60, 66, 58, 34, 26, 48, 58, 55, 44, 28, 26, 24, 18, 10, 5)
WEEKDAYS = (1.25, 1.12, 1.08, 1.05, 0.98, 0.5, 0.42)  # Monday first
OUTCOMES = {
    "dispute": ("mediation_agreement", "mediation_agreement", "mediation_agreement", "referred_to_court",
                "advice_given", "not_handled"),
    "concern": ("advice_given", "referred_to_court", "not_handled", "advice_given"),
    "service": ("advice_given",),
    "legal_aid": ("legal_aid_granted", "legal_aid_granted", "legal_aid_granted", "advice_given", "not_handled"),
    "relief": ("relief_granted", "relief_granted", "advice_given", "not_handled"),
}  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红文斌辉鹏宇浩凯"
SUMMARIES = {
    "dispute": "邻里之间因{x}发生纠纷，双方协商{n}次未果，请求司法所组织调解。",
    "concern": "反映{x}问题：涉及{n}人，已持续一段时间，希望有关部门尽快处理并答复。",
    "service": "需要{x}方面的便民服务，行动不便，希望工作人员上门或电话联系，约{n}天内。",
    "legal_aid": "因{x}事项申请法律援助，家庭经济困难，已准备相关材料{n}份。",
    "relief": "案件涉及{x}，当事人生活陷入困境，申请司法救助，已提交材料{n}份。",
}
CHANNELS = (("webchat", 0.45), ("telegram", 0.30), ("wechat", 0.25))
HEAVY_SHARE, REPEAT_SHARE, HEAVY_PEOPLE = 0.006, 0.25, 500


@dataclass(frozen=True)
class Shape:
    """What was asked for; a resumed run must ask for the same."""

    tickets: int
    units: int
    years: int
    pending_followups: int
    seed: int
    end: str  # ISO instant, UTC


@dataclass
class Summary:
    url: str
    shape: Shape
    seconds: float
    people: int = 0
    tickets: int = 0
    events: int = 0
    follow_ups: int = 0
    pending_follow_ups: int = 0
    outbox: int = 0
    resumed_at_chunk: int = 0
    already_done: bool = False

    def line(self) -> str:
        state = "already there" if self.already_done else f"generated in {self.seconds:.0f} s"
        return (
            f"city ({state}): {self.tickets:,} tickets, {self.events:,} events, {self.follow_ups:,} follow-ups "
            f"({self.pending_follow_ups:,} pending), {self.outbox:,} outbox rows, {self.people:,} people; "
            f"seed {self.shape.seed}, up to {self.shape.end}"
        )


def _mix(seed: int, n: int) -> int:
    """splitmix64: a stable 64-bit hash of (seed, n), so any ticket's or person's draws can be recomputed alone."""
    z = (seed * 0x9E3779B97F4A7C15 + n * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def _unit(seed: int, n: int) -> float:
    return _mix(seed, n) / 2.0**64


class Picker:
    """Weighted choice by one uniform draw."""

    def __init__(self, weights: dict[str, float] | Sequence[tuple[str, float]]) -> None:
        items = list(weights.items()) if isinstance(weights, dict) else list(weights)
        total = sum(w for _, w in items)
        self.values = [v for v, _ in items]
        self.cumulative: list[float] = []
        running = 0.0
        for _, w in items:
            running += w / total
            self.cumulative.append(running)

    def __call__(self, u: float) -> str:
        return self.values[min(bisect_right(self.cumulative, u), len(self.values) - 1)]


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


PG_EPOCH = 946684800.0  # 2000-01-01 UTC, where PostgreSQL counts its timestamps from


async def _epoch_timestamps(connection: Any) -> None:
    """Timestamps travel as epoch seconds on this connection: building a datetime for each of tens of millions of
    values cost more than everything else the generator does."""
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=lambda t: (round((t - PG_EPOCH) * 1_000_000),),
        decoder=lambda value: value[0] / 1_000_000 + PG_EPOCH,
        format="tuple",
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text_payload(text: str, **more: Any) -> str:
    return _json({"text": text, **more})


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    kind: str
    county: str | None
    parent_id: int | None
    officers: tuple[tuple[int, int, str], ...] = ()  # (officer id, person id, telegram chat id) of officers
    leaders: tuple[tuple[int, int, str], ...] = ()


@dataclass
class Rows:
    people: list[tuple[Any, ...]] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    follow_ups: list[tuple[Any, ...]] = field(default_factory=list)
    outbox: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)


COLUMNS = {
    "people": ("id", "locale", "consent_at", "consent_declined", "sensitive_consent_at", "created_at"),
    "chat_identities": ("id", "person_id", "channel", "external_id", "unreachable_at", "created_at", "last_seen_at"),
    "conversations": ("person_id", "interview", "step", "state_sealed", "version", "updated_at"),
    "tickets": ("id", "number", "kind", "category", "county", "township", "status", "urgent", "citizen_id", "unit_id",
                "officer_id", "summary", "details", "phone_sealed", "phone_hash", "phone_masked", "id_number_sealed",
                "id_number_hash", "attachments", "locale", "created_at", "updated_at", "claim_due_at", "due_at",
                "claimed_at", "resolved_at", "closed_at", "outcome", "rating_treatment", "rating_solved", "rated_at"),
    "ticket_events": ("id", "ticket_id", "actor_person_id", "action", "from_status", "to_status", "note",
                      "citizen_visible", "created_at"),
    "follow_ups": ("id", "ticket_id", "kind", "due_at", "status", "attempts", "params", "created_at", "done_at",
                   "key"),
    "outbox": ("id", "channel", "recipient", "payload", "priority", "essential", "kind", "status", "attempts",
               "not_before", "created_at", "sent_at", "platform_message_id", "parts_sent"),
    "audit_log": ("id", "actor_person_id", "action", "ticket_id", "origin", "created_at"),
    "officers": ("id", "person_id", "unit_id", "role", "name", "active", "quiet_start", "quiet_end", "created_at"),
}  # fmt: skip
TABLE_OF = {"people": "people", "identities": "chat_identities", "conversations": "conversations",
            "tickets": "tickets", "events": "ticket_events", "follow_ups": "follow_ups", "outbox": "outbox",
            "audit": "audit_log"}  # fmt: skip


class Ticket:
    """One ticket's life as it is simulated: a time-ordered list of what happened, then cut at the city's end."""

    __slots__ = ("category", "county", "created", "happened", "kind", "messages", "rungs", "township", "unit",
                 "urgent")  # fmt: skip

    def __init__(self) -> None:
        self.happened: list[tuple[float, str, Any]] = []  # (time, what, detail)
        self.rungs: list[list[Any]] = []  # [kind, due, created, cancelled_at]
        self.messages: list[tuple[float, str, Any, int, str, str]] = []  # (time, to, whom, priority, kind, text)


class City:
    """Everything fixed for a seed: units and routing, officers, the day-by-day arrivals, the id bases."""

    def __init__(self, shape: Shape, units: list[UnitInfo], rules: list[RoutingRule], bases: dict[str, int]) -> None:
        self.shape = shape
        self.seed = shape.seed
        self.units = {u.id: u for u in units}
        self.by_code = {u.code: u for u in units}
        self.rules = rules
        self.bases = bases
        self.deadlines: Deadlines = default_deadlines()
        self.cipher = FieldCipher.from_secret(SECRET)
        self.end = datetime.fromisoformat(shape.end).timestamp()
        self.start = self.end - shape.years * 365 * D
        self.kinds = Picker(KINDS)
        self.categories = {k: Picker(v) for k, v in CATEGORY_WEIGHTS.items()}
        for kind, wanted in CATEGORIES.items():  # the weights above name every category the interviews offer
            assert set(wanted) == set(CATEGORY_WEIGHTS[kind]), kind
        self.counties = Picker(COUNTY_WEIGHTS)
        self.hours = Picker([(str(h), w) for h, w in enumerate(HOURS)])
        self.channels = Picker(list(CHANNELS))
        self._routes: dict[tuple[str, str, str | None, str | None], UnitInfo] = {}
        self._resolve: dict[tuple[str, str, int], float] = {}
        self._contact: dict[tuple[str, str, int], float] = {}
        self.day_counts = self._arrivals()
        self.day_first = [0]
        for count in self.day_counts:
            self.day_first.append(self.day_first[-1] + count)
        heavy = [1.0 / (r + 1) ** 0.8 for r in range(HEAVY_PEOPLE)]
        self.heavy = Picker([(str(r), w) for r, w in enumerate(heavy)])
        self.townships = _townships()

    # -- arrivals ---------------------------------------------------------------------------------------------------

    @property
    def first_day(self) -> int:
        """The local day number (days since 1970-01-01 in Hanzhong) of the first day of the city."""
        return int((self.start + LOCAL) // D)

    def _arrivals(self) -> list[int]:
        """Tickets per local day, summing to the wanted total: weekday, holidays, the Spring Festival lull, growth
        over the years, a little noise."""
        rng = random.Random(f"arrivals:{self.seed}")
        last_day = int((self.end + LOCAL) // D)
        days = range(self.first_day, last_day + 1)
        calendar = self.deadlines.calendar
        weights = []
        for n, day in enumerate(days):
            when = date.fromordinal(date(1970, 1, 1).toordinal() + day)
            w = WEEKDAYS[when.weekday()] * (0.8 + 0.4 * n / max(len(days) - 1, 1))
            if when.weekday() < 5 and not calendar.is_workday(when):
                w *= 0.45  # a public holiday
            if when.month in (1, 2) and not calendar.is_workday(when):
                w *= 0.8
            if n == len(days) - 1:  # the last day ends at `end`
                hour = ((self.end + LOCAL) % D) / H
                w *= (sum(HOURS[: int(hour)]) + HOURS[int(hour)] * (hour % 1)) / sum(HOURS)
            weights.append(w * math.exp(rng.gauss(0, 0.08)))
        total = sum(weights)
        exact = [self.shape.tickets * w / total for w in weights]
        counts = [int(x) for x in exact]
        for i in sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)[
            : self.shape.tickets - sum(counts)
        ]:
            counts[i] += 1
        return counts

    def times_of_day(self, day_index: int) -> list[float]:
        """The sorted arrival instants of one day's tickets (epoch seconds), the same whichever chunk asks."""
        rng = random.Random(f"day:{self.seed}:{day_index}")
        midnight = (self.first_day + day_index) * D - LOCAL
        limit = self.end
        out = []
        for _ in range(self.day_counts[day_index]):
            t = limit
            while t >= limit:  # on the last day, only the hours before `end`
                t = midnight + int(self.hours(rng.random())) * H + rng.random() * H
            out.append(t)
        out.sort()
        return out

    # -- deadlines and routing --------------------------------------------------------------------------------------

    def route(self, kind: str, category: str, county: str | None, township: str | None) -> UnitInfo:
        key = (kind, category, county, township)
        found = self._routes.get(key)
        if found is None:
            best: tuple[int, int] | None = None
            chosen = None
            for rule in self.rules:
                score = _score(rule, kind, category, county, township)
                if score >= 0 and (best is None or (score, -rule.id) > best):
                    best, chosen = (score, -rule.id), rule.unit_id
            found = self._routes[key] = self.units[chosen] if chosen is not None else self.by_code["city-intake"]
        return found

    def claim_due(self, kind: str, category: str, urgent: bool, start: float) -> float:
        terms = self.deadlines.terms(kind, category)
        term = terms.claim_urgent if urgent else terms.claim
        return term.after(self.deadlines.calendar, _dt(start)).timestamp()

    def _by_day(self, cache: dict[tuple[str, str, int], float], term_name: str, kind: str, category: str,
                start: float) -> float:  # fmt: skip
        term = getattr(self.deadlines.terms(kind, category), term_name)
        if term.unit not in ("working_days", "days"):  # depends on the hour too
            return term.after(self.deadlines.calendar, _dt(start)).timestamp()
        key = (kind, category, int((start + LOCAL) // D))
        found = cache.get(key)
        if found is None:
            found = cache[key] = term.after(self.deadlines.calendar, _dt(start)).timestamp()
        return found

    def resolve_by(self, kind: str, category: str, start: float) -> float:
        return self._by_day(self._resolve, "resolve", kind, category, start)

    def first_contact(self, kind: str, category: str, start: float) -> float:
        return self._by_day(self._contact, "first_contact", kind, category, start)

    # -- people -----------------------------------------------------------------------------------------------------

    def citizen_of(self, index: int, rng: random.Random) -> tuple[int, bool]:
        """(person id, first ticket of theirs) for ticket `index`: new people, people who wrote before, petitioners."""
        u = _unit(self.seed, index)
        if u < HEAVY_SHARE:
            return self.bases["heavy"] + int(self.heavy(rng.random())), False
        if u < HEAVY_SHARE + REPEAT_SHARE:
            j = index - 1 - int(rng.expovariate(1 / 40_000))
            while j >= 0 and _unit(self.seed, j) < HEAVY_SHARE + REPEAT_SHARE:
                j -= 1
            if j >= 0:
                return self.bases["people"] + j, False
        return self.bases["people"] + index, True

    def chat_of(self, person_id: int) -> tuple[str, str]:
        """(channel, external id) of a citizen: a pure function of the person, so any chunk can address them."""
        channel = self.channels(_unit(self.seed + 1, person_id))
        h = _mix(self.seed + 2, person_id)
        if channel == "telegram":
            return channel, str(1_000_000_000 + person_id * 2_654_435_761 % 2**32)  # one to one: no two alike
        if channel == "wechat":
            return channel, "o" + f"{h:016x}{_mix(self.seed + 3, person_id):016x}"[:27]
        return channel, "w" + f"{h:016x}{_mix(self.seed + 3, person_id):016x}{_mix(self.seed + 4, person_id):016x}"[:40]

    def locale_of(self, person_id: int) -> str:
        return "en" if _unit(self.seed + 5, person_id) < 0.04 else "zh_CN"

    def person_rows(self, rows: Rows, person_id: int, first: float) -> None:
        created = first - 300 - _unit(self.seed + 6, person_id) * 900
        channel, external = self.chat_of(person_id)
        identity_id = self.bases["identities"] + (person_id - self.bases["people"])
        unreachable = first + 30 * D if _unit(self.seed + 7, person_id) < 0.01 else None
        rows.people.append((person_id, self.locale_of(person_id), created + 40, False, None, created))
        rows.identities.append((identity_id, person_id, channel, external, unreachable, created, first))
        rows.conversations.append((person_id, None, None, "", 12, first + 60))

    # -- one ticket -------------------------------------------------------------------------------------------------

    def simulate(self, index: int, t0: float, rng: random.Random) -> Ticket:
        tk = Ticket()
        r = rng.random
        tk.kind = kind = self.kinds(r())
        tk.category = category = self.categories[kind](r())
        tk.county = county = self.counties(r())
        towns = self.townships.get(county, ())
        tk.township = towns[int(r() * len(towns))] if kind == "dispute" and towns and r() < 0.6 else None
        tk.urgent = urgent = r() < (0.12 if category == "family" else 0.025)
        tk.unit = unit = self.route(kind, category, county, tk.township)
        tk.created = t0
        happened, rung, say = tk.happened.append, tk.rungs.append, tk.messages.append
        citizen = "citizen"
        claim_due = self.claim_due(kind, category, urgent, t0)
        due = self.resolve_by(kind, category, t0)
        terms = self.deadlines.terms(kind, category)
        happened((t0, "created", (claim_due, due)))
        say((t0, citizen, None, 0, "reply", "receipt"))
        for officer in unit.officers + unit.leaders:
            say((t0 + 0.5, "officer", officer, 5, "alert", "new"))

        def claim_ladder(start: float, claim_by: float) -> None:
            rung([ladder.CLAIM_REMINDER, start + (claim_by - start) * terms.claim_reminder_at, start, None])
            rung([ladder.CLAIM_ESCALATION, claim_by, start, None])
            parent = claim_by + (1800 if urgent else 4 * H + (16 * H if (claim_by + LOCAL) % D > 13 * H else 0))
            rung([ladder.PARENT_ESCALATION, parent, start, None])

        def cancel(at: float, kinds: Iterable[str] | None = None) -> None:
            wanted = None if kinds is None else set(kinds)
            for row in tk.rungs:
                if row[3] is None and row[1] > at and row[2] <= at and (wanted is None or row[0] in wanted):
                    row[3] = at

        claim_ladder(t0, claim_due)
        rung([ladder.CONTACT_CHECK, self.first_contact(kind, category, t0), t0, None])
        updates_from = t0

        # Withdrawn by the citizen before anyone claimed it; transferred; rejected (on a first look or later).
        path, rejection = r(), r()
        start, unit_now = t0, unit
        if path < 0.02:
            at = t0 + 600 + r() * 2 * D
            happened((at, "cancelled_by_citizen", None))
            cancel(at)
            return self._finish(tk, at, updates_from, rng)
        # Transferred once to the parent unit (or the city desk) before a claim.
        if path < 0.09:
            at = t0 + max(300.0, (claim_due - t0) * r())
            target = self.units.get(unit.parent_id or 0) or self.by_code["city-intake"]
            actor = self._officer(unit, rng)
            new_claim_due = self.claim_due(kind, category, urgent, at)
            happened((at, "transfer", (actor, target, new_claim_due)))
            cancel(at, (*ladder.CLAIM_LADDER, *ladder.WORK_LADDER))
            claim_ladder(at, new_claim_due)
            for officer in target.officers + target.leaders:
                say((at + 0.5, "officer", officer, 5, "alert", "new"))
            start, unit_now, claim_due = at, target, new_claim_due
        # Claimed: mostly within the claim term, some late, a few very late.
        gap = max(claim_due - start, 600.0)
        lateness = r()
        if lateness < 0.86:
            claimed = start + gap * r() ** 1.5
        elif lateness < 0.97:
            claimed = claim_due + rng.expovariate(1 / (8 * H))
        else:
            claimed = claim_due + rng.expovariate(1 / (3 * D))
        claimed = max(claimed, start + 60)
        officer = self._officer(unit_now, rng)
        if rejection < 0.035:  # rejected instead (outside the desk's remit, a duplicate)
            happened((claimed, "rejected", officer))
            say((claimed, citizen, None, 5, "alert", "rejected"))
            cancel(claimed)
            return self._finish(tk, claimed, updates_from, rng)
        happened((claimed, "claimed", officer))
        say((claimed, citizen, None, 5, "alert", "claimed"))
        cancel(claimed, (*ladder.CLAIM_LADDER, *ladder.WORK_LADDER))
        rung([ladder.DUE_REMINDER, t0 + (due - t0) * terms.due_reminder_at, claimed, None])
        rung([ladder.OVERDUE_ESCALATION, due, claimed, None])
        # Work: the phone revealed, messages both ways, progress, mediation.
        at = claimed
        if r() < 0.6:
            at += 300 + r() * 4 * H
            happened((at, "phone_revealed", officer))
        for _ in range(int(r() * 4)):
            at += 1800 + r() * 2 * D
            happened((at, "message_out", officer))
            say((at, citizen, None, 5, "alert", "message"))
            if r() < 0.5:
                at += 600 + r() * 6 * H
                happened((at, "message_in", officer))
                say((at + 0.5, "officer", officer, 5, "alert", "message_in"))
        if r() < 0.5:
            at += H + r() * D
            happened((at, "in_progress", officer))
        if kind == "dispute" and r() < 0.4:
            at += 2 * H + r() * 3 * D
            happened((at, "mediation_scheduled", officer))
            say((at, citizen, None, 5, "alert", "mediation"))
        # Resolved: mostly within the term; some late; a few stuck for months.
        span = max(due - claimed, 2 * H)
        speed = r()
        if speed < 0.84:
            resolved = claimed + span * rng.betavariate(2, 3)
        elif speed < 0.985:
            resolved = due + rng.expovariate(1 / (5 * D))
        else:
            resolved = due + rng.expovariate(1 / (70 * D))
        resolved = max(resolved, at + 600)
        if rejection < 0.05:  # rejected after a look at it
            happened((resolved, "rejected", officer))
            cancel(resolved)
            return self._finish(tk, resolved, updates_from, rng)
        outcome = OUTCOMES[kind][int(r() * len(OUTCOMES[kind]))]
        happened((resolved, "resolved", (officer, outcome)))
        say((resolved, citizen, None, 5, "alert", "resolved"))
        cancel(resolved)
        self._satisfaction(tk, resolved, terms.satisfaction_days, rng, officer, reopen=True)
        return self._finish(tk, resolved, updates_from, rng)

    def _satisfaction(self, tk: Ticket, resolved: float, days: int, rng: random.Random, officer: Any,
                      reopen: bool) -> None:  # fmt: skip
        r, happened, rung, say = rng.random, tk.happened.append, tk.rungs.append, tk.messages.append
        rung([ladder.SATISFACTION_ASK, resolved, resolved, None])
        timeout = [ladder.SATISFACTION_TIMEOUT, resolved + days * D, resolved, None]
        rung(timeout)
        if r() >= 0.62:
            happened((timeout[1], "not_rated", None))
            return
        rated = resolved + min(rng.expovariate(1 / (6 * H)), days * D - 600)
        treatment = int(TREATMENT(r()))
        solved = SOLVED(r())
        if not reopen and solved != "yes":
            solved = "yes"
        happened((rated, "rated_treatment", treatment))
        happened((rated + 20 + r() * 60, "rated_solved", solved))
        timeout[3] = rated  # the timeout finds the ticket rated: it stays, and does nothing (cancelled in effect)
        if solved == "yes":
            return
        at = rated + 80
        due = self.resolve_by(tk.kind, tk.category, at)
        terms = self.deadlines.terms(tk.kind, tk.category)
        happened((at, "reopened", (solved, due)))
        for leader in tk.unit.leaders:
            say((at + 0.5, "officer", leader, 5, "alert", "reopened"))
        rung([ladder.DUE_REMINDER, at + (due - at) * terms.due_reminder_at, at, None])
        rung([ladder.OVERDUE_ESCALATION, due, at, None])
        again = at + max((due - at) * rng.betavariate(2, 4), 3600)
        for row in tk.rungs:
            if row[3] is None and row[1] > again and row[2] <= again:
                row[3] = again
        outcome = OUTCOMES[tk.kind][int(r() * len(OUTCOMES[tk.kind]))]
        happened((again, "resolved", (officer, outcome)))
        say((again, "citizen", None, 5, "alert", "resolved"))
        self._satisfaction(tk, again, days, rng, officer, reopen=False)

    def _finish(self, tk: Ticket, stops: float, since: float, rng: random.Random) -> Ticket:
        """The "still being handled" updates every five days while nothing visible happened, until it was resolved
        or closed; and the rungs that fired send what they send."""
        tk.happened.sort(key=lambda h: h[0])
        days = self.deadlines.terms(tk.kind, tk.category).citizen_update_days
        visible = [t for t, what, _ in tk.happened if what in VISIBLE]
        due, created = since + days * D, since
        limit = min(stops, self.end + 400 * D)
        while True:
            row = [ladder.CITIZEN_UPDATE, due, created, stops if stops < due else None]
            tk.rungs.append(row)
            if due >= limit:
                break
            last = max((t for t in visible if t <= due), default=since)
            if due - last >= days * D - 1:
                tk.happened.append((due + 1, "update_sent", None))
                tk.messages.append((due + 1, "citizen", None, 10, "alert", "update"))
                visible.append(due + 1)
                created, due = due + 1, due + 1 + days * D
            else:
                created, due = due + 1, last + days * D
        for kind, when, _created, cancelled in tk.rungs:
            fired = cancelled is None or cancelled > when
            if not fired or kind in (ladder.CITIZEN_UPDATE, ladder.SATISFACTION_TIMEOUT):
                continue
            note = FIRED_NOTES.get(kind)
            if note is not None:
                tk.happened.append((when + 5, note, None))
            if kind == ladder.SATISFACTION_ASK:
                tk.messages.append((when + 5, "citizen", None, 10, "alert", "satisfaction"))
            elif kind in (ladder.CLAIM_REMINDER, ladder.CONTACT_CHECK):
                for officer in tk.unit.officers[:3]:
                    tk.messages.append((when + 5, "officer", officer, 10, "alert", kind))
            elif kind in (ladder.CLAIM_ESCALATION, ladder.OVERDUE_ESCALATION, ladder.PARENT_ESCALATION):
                for leader in tk.unit.leaders:
                    tk.messages.append((when + 5, "officer", leader, 10, "alert", kind))
        tk.happened.sort(key=lambda h: h[0])
        return tk

    def _officer(self, unit: UnitInfo, rng: random.Random) -> tuple[int, int, str]:
        staff = unit.officers or unit.leaders
        if not staff:
            staff = self.by_code["city-intake"].officers
        # Some officers carry more than others.
        return staff[min(int(len(staff) * rng.random() ** 1.4), len(staff) - 1)]


VISIBLE = frozenset({"created", "claimed", "message_out", "mediation_scheduled", "resolved", "reopened",
                     "transfer", "rejected", "update_sent", "not_rated", "cancelled_by_citizen"})  # fmt: skip
FIRED_NOTES = {
    ladder.CLAIM_REMINDER: "claim_reminded",
    ladder.CLAIM_ESCALATION: "escalated_to_leader",
    ladder.PARENT_ESCALATION: "escalated_to_parent",
    ladder.DUE_REMINDER: "due_reminded",
    ladder.OVERDUE_ESCALATION: "overdue_escalated",
    ladder.SATISFACTION_ASK: "satisfaction_asked",
}
MESSAGES = {
    "receipt": "您的诉求已登记，编号 {n}。我们会在规定时限内联系您，请保持电话畅通。",
    "new": "🆕 新工单 {n}：请在认领时限内认领处理。",
    "claimed": "您的工单 {n} 已由工作人员认领，正在办理中。",
    "rejected": "很抱歉，您的工单 {n} 不属于本平台受理范围，已告知可前往的部门。",
    "message": "工作人员就工单 {n} 给您留言：请于工作日到所里面谈，带上相关材料。",
    "message_in": "群众就工单 {n} 回复了留言。",
    "mediation": "工单 {n} 已安排调解，时间地点见详情。",
    "resolved": "您的工单 {n} 已办结。请您对办理情况进行评价。",
    "reopened": "工单 {n} 群众表示问题未解决，已重新打开。",
    "update": "您的工单 {n} 仍在办理中，我们会尽快答复。",
    "satisfaction": "请对工单 {n} 的办理情况评价：非常满意 / 满意 / 一般 / 不满意。",
    ladder.CLAIM_REMINDER: "⏰ 工单 {n} 即将超过认领时限，请尽快认领。",
    ladder.CONTACT_CHECK: "⏰ 工单 {n} 尚未联系群众，请在今日内联系。",
    ladder.CLAIM_ESCALATION: "⚠️ 工单 {n} 超过认领时限仍未认领，请督办。",
    ladder.OVERDUE_ESCALATION: "⚠️ 工单 {n} 已超过办理时限，请督办。",
    ladder.PARENT_ESCALATION: "⚠️ 下级单位工单 {n} 长时间未认领，请协调。",
    "digest": "早安。今日待办 {n} 件，超期 {o} 件，待认领 {u} 件。",
}

PAYLOADS = {what: _json({"text": text}) for what, text in MESSAGES.items()}  # "{n}" is replaced by the number
SENDING = 0.18  # seconds from queued to sent


def _townships() -> dict[str, tuple[str, ...]]:
    from handlers.conversation.places import TOWNSHIPS

    return dict(TOWNSHIPS)


class Chunk:
    """Rows for tickets [first, last): the tickets, their events, follow-ups, outbox rows, audit rows, and the people
    whose first ticket is among them."""

    def __init__(self, city: City, first: int, last: int, ids: dict[str, int]) -> None:
        self.city, self.first, self.last = city, first, last
        self.ids = dict(ids)  # the next free id of each table with ids not derived from a ticket's index
        self.rows = Rows()

    def next_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    def build(self) -> Rows:
        city = self.city
        rng = random.Random(f"chunk:{city.seed}:{self.first}")
        day = bisect_right(city.day_first, self.first) - 1
        times: list[float] = []
        while city.day_first[day] < self.last:
            day_times = city.times_of_day(day)
            lo = max(self.first - city.day_first[day], 0)
            hi = min(self.last - city.day_first[day], len(day_times))
            for seq in range(lo, hi):
                times.append(day_times[seq])
            day += 1
        for offset, t0 in enumerate(times):
            index = self.first + offset
            day_index = bisect_right(city.day_first, index) - 1
            seq = index - city.day_first[day_index] + 1
            local = date.fromordinal(date(1970, 1, 1).toordinal() + city.first_day + day_index)
            number = f"{PREFIX}-{local:%Y%m%d}-{seq:04d}"
            self.ticket(index, number, t0, rng)
        return self.rows

    def ticket(self, index: int, number: str, t0: float, rng: random.Random) -> None:
        city, rows, end = self.city, self.rows, self.city.end
        person, first = city.citizen_of(index, rng)
        if first:
            city.person_rows(rows, person, t0)
        tk = city.simulate(index, t0, rng)
        ticket_id = city.bases["tickets"] + index
        channel, external = city.chat_of(person)
        locale = city.locale_of(person)

        # The ticket as it stood at `end`.
        status, unit, officer_id = "new", tk.unit, None
        claim_due, due = tk.happened[0][2]
        claimed_at = resolved_at = closed_at = rated_at = None
        outcome = rating_solved = None
        rating = None
        updated = t0
        events = rows.events
        for t, what, detail in tk.happened:
            if t > end:
                break
            actor: int | None = None
            before, note, visible = status, None, what in VISIBLE
            if what == "created":
                actor, status = person, "new"
            elif what == "transfer":
                officer, target, claim_due = detail
                actor = officer[1]
                events.append((self.next_id("ticket_events"), ticket_id, actor, "transfer_reason", status, status,
                               "不属于本单位管辖，移交上级", False, t - 1))  # fmt: skip
                status, unit, officer_id = "transferred", target, None
            elif what == "claimed":
                actor, status, officer_id, claimed_at = detail[1], "claimed", detail[0], t
            elif what == "rejected":
                actor, status, closed_at, note = detail[1], "rejected", t, "不属于受理范围"
            elif what == "cancelled_by_citizen":
                actor, status, closed_at = person, "cancelled", t
            elif what == "phone_revealed":
                actor = detail[1]
                rows.audit.append((self.next_id("audit_log"), actor, "reveal_phone", ticket_id, None, t))
            elif what in ("message_out",):
                actor, note = detail[1], "您好，请于工作日上午到所里面谈，带上相关材料。"
            elif what == "message_in":
                actor, note = person, "好的，我周三上午过去。"
            elif what in ("in_progress", "mediation_scheduled"):
                actor, status = detail[1], what
            elif what == "resolved":
                actor, status, resolved_at, outcome = detail[0][1], "resolved", t, detail[1]
            elif what == "rated_treatment":
                actor, rating, rated_at, note = person, detail, t, str(detail)
            elif what == "rated_solved":
                actor, rating_solved, rated_at, note = person, detail, t, detail
                if detail == "yes":
                    events.append((self.next_id("ticket_events"), ticket_id, actor, "rated_solved", status, status,
                                   note, False, t))  # fmt: skip
                    what, status, closed_at, note, visible = "closed_solved", "closed", t, None, True
            elif what == "reopened":
                actor, status, note, due = person, "reopened", detail[0], detail[1]
                resolved_at = None
            elif what == "not_rated":
                if status != "resolved":
                    continue
                status, closed_at, note = "closed", t, "no answer to the satisfaction callback"
            elif what == "update_sent" and status not in OPEN:
                continue
            updated = t
            action = {"transfer": "transferred", "in_progress": "in_progress"}.get(what, what)
            to_status = status
            events.append((self.next_id("ticket_events"), ticket_id, actor, action,
                           None if what == "created" else before, to_status, note, visible, t))  # fmt: skip

        phone = f"13{_mix(city.seed + 8, person) % 10**9:09d}"
        sealed_id = hash_id = None
        details: dict[str, Any] = {}
        if tk.kind == "legal_aid":
            details = {"special": "none", "age": "adult"}
            if rng.random() < 0.4:
                id_number = f"6107{_mix(city.seed + 9, person) % 10**14:014d}"
                sealed_id, hash_id = city.cipher.encrypt(id_number), city.cipher.lookup_hash(id_number)
        elif tk.kind == "dispute":
            details = {"contact_time": "any"}
        summary = SUMMARIES[tk.kind].format(x=tk.category, n=1 + index % 7)
        rows.tickets.append((
            ticket_id, number, tk.kind, tk.category, tk.county, tk.township, status, tk.urgent, person, unit.id,
            officer_id, summary, _json(details), city.cipher.encrypt(phone), city.cipher.lookup_hash(phone),
            mask_phone(phone), sealed_id, hash_id, "[]", locale, t0, updated, claim_due, due,
            claimed_at, resolved_at,
            closed_at, outcome, rating, rating_solved, rated_at,
        ))  # fmt: skip

        for kind, when, created, cancelled in tk.rungs:
            if created > end:
                continue
            if cancelled is not None and cancelled <= end and cancelled <= when:
                state, done, attempts = "cancelled", None, 0
            elif when <= end:
                state, done, attempts = "done", when + 5, 1
            else:
                state, done, attempts = "pending", None, 0
            rows.follow_ups.append((self.next_id("follow_ups"), ticket_id, kind, when, state, attempts, "{}",
                                    created, done, None))  # fmt: skip

        for t, to, whom, priority, kind, what in tk.messages:
            if t > end:
                continue
            payload = PAYLOADS[what].replace("{n}", number)
            if to == "citizen":
                self.outbox(channel, external, payload, priority, kind, t)
            else:
                self.outbox("telegram", whom[2], payload, priority, kind, t)

    def outbox(self, channel: str, recipient: str, payload: str, priority: int, kind: str, t: float) -> None:
        created = t
        outbox_id = self.ids["outbox"]
        self.ids["outbox"] = outbox_id + 1
        platform_id = str(outbox_id) if channel == "telegram" else None
        self.rows.outbox.append((outbox_id, channel, recipient, payload, priority, True, kind, "sent", 1, created,
                                 created, created + SENDING, platform_id, 1))  # fmt: skip


TREATMENT = Picker([("5", 55), ("4", 25), ("3", 10), ("2", 5), ("1", 5)])
SOLVED = Picker([("yes", 78), ("partly", 12), ("no", 10)])
OPEN = frozenset({"new", "transferred", "claimed", "in_progress", "mediation_scheduled", "reopened"})


# -- the database side ------------------------------------------------------------------------------------------------


def plain_url(url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _skip_foreign_key_checks(connection: Any) -> None:
    """The rows refer to each other correctly by construction; checking each of millions of references row by row
    (a trigger per row) was most of the time of a load. Only a superuser may; anyone else waits for the checks."""
    import asyncpg

    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await connection.execute("SET session_replication_role = replica")


LOADED = ("tickets", "ticket_events", "follow_ups", "outbox", "audit_log", "chat_identities", "people",
          "conversations")  # fmt: skip


async def _drop_indexes(connection: Any, state: dict[str, Any]) -> None:
    """Secondary indexes go while the rows go in and are built again at the end, sorted once: kept up row by row,
    the outbox's cost three times its rows. Their definitions are saved with the progress first, so a run stopped
    in between still ends with every index back. Primary keys and unique constraints stay."""
    if "indexes" in state:
        return
    query = (
        "SELECT i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    )
    definitions = [r[0] for r in await connection.fetch(query, list(LOADED))]
    async with connection.transaction():
        state["indexes"] = definitions
        await _save_state(connection, state)
        for definition in definitions:
            name = definition.split(" ON ", 1)[0].split()[-1]
            await connection.execute(f"DROP INDEX IF EXISTS {name}")


async def _restore_indexes(connection: Any, state: dict[str, Any], say: Callable[[str], None]) -> None:
    await connection.execute("SET maintenance_work_mem = '256MB'")
    for definition in state.get("indexes", []):
        say(f"  {definition.split(' ON ', 1)[0].split()[-1]}")
        await connection.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
    state.pop("indexes", None)
    await _save_state(connection, state)


async def _copy(connection: Any, table: str, records: list[tuple[Any, ...]], columns: Sequence[str]) -> None:
    if records:
        await connection.copy_records_to_table(table, records=records, columns=list(columns))


async def _max_ids(connection: Any) -> dict[str, int]:
    found = {}
    for table in ("people", "chat_identities", "ticket_events", "follow_ups", "outbox", "audit_log", "officers",
                  "tickets"):  # fmt: skip
        found[table] = int(await connection.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}")) + 1
    return found


async def _state(connection: Any) -> dict[str, Any] | None:
    await connection.execute("CREATE TABLE IF NOT EXISTS bench_city (key text PRIMARY KEY, value text NOT NULL)")
    row = await connection.fetchval("SELECT value FROM bench_city WHERE key = 'state'")
    return None if row is None else dict(json.loads(row))


async def _save_state(connection: Any, state: dict[str, Any]) -> None:
    await connection.execute(
        "INSERT INTO bench_city (key, value) VALUES ('state', $1) ON CONFLICT (key) DO UPDATE SET value = $1",
        json.dumps(state),
    )


def _read_units(wanted: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data = tomllib.loads(UNITS_FILE.read_text(encoding="utf-8"))
    units, rules = list(data.get("unit", [])), list(data.get("rule", []))
    if wanted > len(units):
        raise ValueError(f"the demo has {len(units)} units; a city of {wanted} needs a units file of its own")
    kept = units[:wanted]
    codes = {u["code"] for u in kept}
    if "city-intake" not in codes:
        raise ValueError("a city needs at least its first unit (city-intake)")
    kept = [{**u, "parent": u.get("parent") if u.get("parent") in codes else None} for u in kept]
    return kept, [r for r in rules if r["unit"] in codes]


async def _setup(connection: Any, url: str, shape: Shape) -> dict[str, Any]:
    """Units and routing (the demo's, through the desk's own loader), officers with their Telegram chats, the
    habitual petitioners; the id bases every chunk derives its ids from."""
    from handlers.tickets.units import load_units
    from storage.uow import Database

    units, rules = _read_units(shape.units)
    db = Database(url, FieldCipher.from_secret(SECRET))
    try:
        await load_units(db, units, rules)
    finally:
        await db.dispose()
    rng = random.Random(f"staff:{shape.seed}")
    ids = await _max_ids(connection)
    start = datetime.fromisoformat(shape.end).timestamp() - (shape.years * 365 + 30) * D
    people, identities, officers = [], [], []
    person, identity, officer = ids["people"], ids["chat_identities"], ids["officers"]
    for unit_id, code, kind in await connection.fetch("SELECT id, code, kind FROM units ORDER BY id"):
        size = {"judicial_office": 3, "legal_aid": 5, "petition": 6}.get(kind, 5)
        if code.startswith("city-"):
            size += 3
        roles = ["leader"] + ["officer"] * size + (["admin", "admin"] if code == "city-intake" else [])
        for role in roles:
            name = SURNAMES[int(rng.random() * len(SURNAMES))] + GIVEN[int(rng.random() * len(GIVEN))]
            if rng.random() < 0.6:
                name += GIVEN[int(rng.random() * len(GIVEN))]
            people.append((person, "zh_CN", start, False, None, start))
            identities.append((identity, person, "telegram", str(7_000_000_000 + person), None, start, start))
            officers.append((officer, person, unit_id, role, name, True, "22:00", "07:30", start))
            person, identity, officer = person + 1, identity + 1, officer + 1
    async with connection.transaction():
        await _copy(connection, "people", people, COLUMNS["people"])
        await _copy(connection, "chat_identities", identities, COLUMNS["chat_identities"])
        await _copy(connection, "officers", officers, COLUMNS["officers"])
        heavy_base = person
        bases = {"heavy": heavy_base, "people": heavy_base + HEAVY_PEOPLE, "tickets": ids["tickets"]}
        bases["identities"] = identity + HEAVY_PEOPLE
        city = City(shape, [], [], bases)
        rows = Rows()
        for n in range(HEAVY_PEOPLE):
            pid = heavy_base + n
            channel, external = city.chat_of(pid)
            rows.people.append((pid, "zh_CN", start, False, None, start))
            rows.identities.append((identity + n, pid, channel, external, None, start, start))
            rows.conversations.append((pid, None, None, "", 0, start))
        await _copy(connection, "people", rows.people, COLUMNS["people"])
        await _copy(connection, "chat_identities", rows.identities, COLUMNS["chat_identities"])
        await _copy(connection, "conversations", rows.conversations, COLUMNS["conversations"])
        state = {"shape": asdict(shape), "bases": bases, "chunks_done": 0, "finished": False}
        await _save_state(connection, state)
    return state


async def _load_city(connection: Any, shape: Shape, bases: dict[str, int]) -> City:
    staff: dict[int, dict[str, list[tuple[int, int, str]]]] = {}
    query = (
        "SELECT o.unit_id, o.id, o.person_id, o.role, c.external_id FROM officers o "
        "JOIN chat_identities c ON c.person_id = o.person_id AND c.channel = 'telegram' ORDER BY o.id"
    )
    for unit_id, officer_id, person_id, role, chat in await connection.fetch(query):
        group = "leaders" if role == "leader" else "officers" if role == "officer" else "admins"
        staff.setdefault(unit_id, {}).setdefault(group, []).append((officer_id, person_id, chat))
    units = [
        UnitInfo(r["id"], r["code"], r["kind"], r["county"], r["parent_id"],
                 tuple(staff.get(r["id"], {}).get("officers", [])), tuple(staff.get(r["id"], {}).get("leaders", [])))
        for r in await connection.fetch("SELECT id, code, kind, county, parent_id FROM units ORDER BY id")
    ]  # fmt: skip
    rules = [
        RoutingRule(id=r["id"], kind=r["kind"], category=r["category"], county=r["county"], township=r["township"],
                    unit_id=r["unit_id"])
        for r in await connection.fetch("SELECT id, kind, category, county, township, unit_id FROM routing_rules")
    ]  # fmt: skip
    return City(shape, units, rules, bases)


async def _write(connection: Any, rows: Rows) -> None:
    for name, table in TABLE_OF.items():
        await _copy(connection, table, getattr(rows, name), COLUMNS[table])


async def _finish(connection: Any, city: City, say: Callable[[str], None]) -> None:
    """The morning digests, the pending top-up, the day counters, the sequences; then statistics for the planner."""
    end = city.end
    ids = await _max_ids(connection)
    rows = Rows()
    chunk = Chunk(city, 0, 0, {"outbox": ids["outbox"], "follow_ups": ids["follow_ups"]})
    calendar = city.deadlines.calendar
    officers = [o for u in city.units.values() for o in (*u.officers, *u.leaders)]
    rng = random.Random(f"digests:{city.seed}")
    # An officer with nothing open gets no digest: in a small city, most days most of them have nothing.
    share = min(1.0, city.shape.tickets / 500_000)
    for day in range(city.first_day, int((end + LOCAL) // D) + 1):
        when = date.fromordinal(date(1970, 1, 1).toordinal() + day)
        at = day * D - LOCAL + 8 * H
        if not calendar.is_workday(when) or at > end:
            continue
        rows.follow_ups.append((chunk.next_id("follow_ups"), None, ladder.DIGEST, at, "done", 1,
                                '{"at":"08:00"}', at - D, at + 3, f"digest:{when.isoformat()}"))  # fmt: skip
        for officer in officers:
            if rng.random() >= share:
                continue
            text = MESSAGES["digest"].format(n=int(rng.random() * 12), o=int(rng.random() * 3),
                                             u=int(rng.random() * 6))  # fmt: skip
            chunk.outbox("telegram", officer[2], _text_payload(text), 10, "alert", at + 3)
    rows.outbox = chunk.rows.outbox
    pending = int(await connection.fetchval("SELECT count(*) FROM follow_ups WHERE status = 'pending'"))
    wanted = city.shape.pending_followups - pending
    if wanted > 0:
        open_ids = [
            r[0]
            for r in await connection.fetch(
                "SELECT id FROM tickets WHERE status = ANY($1::text[]) ORDER BY id", sorted(OPEN)
            )
        ]
        if open_ids:
            for _ in range(wanted):
                ticket_id = open_ids[int(rng.random() * len(open_ids))]
                due = end + D + rng.random() * 60 * D
                rows.follow_ups.append((chunk.next_id("follow_ups"), ticket_id, ladder.CITIZEN_UPDATE, due,
                                        "pending", 0, "{}", end - rng.random() * 5 * D, None, None))  # fmt: skip
    say(f"  digests and top-up: {len(rows.outbox):,} digest messages, {max(wanted, 0):,} pending follow-ups added")
    async with connection.transaction():
        await _write(connection, rows)
        counters = [
            (date.fromordinal(date(1970, 1, 1).toordinal() + city.first_day + n).strftime("%Y%m%d"), count)
            for n, count in enumerate(city.day_counts)
            if count
        ]
        await connection.executemany(
            "INSERT INTO ticket_counters (day, last) VALUES ($1, $2) "
            "ON CONFLICT (day) DO UPDATE SET last = greatest(ticket_counters.last, excluded.last)",
            counters,
        )
        for table in ("people", "chat_identities", "tickets", "ticket_events", "follow_ups", "outbox", "audit_log",
                      "officers", "units", "routing_rules"):  # fmt: skip
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest((SELECT max(id) FROM {table}), 1))"
            )
        state = await _state(connection)
        assert state is not None
        state["finished"] = True
        await _save_state(connection, state)


async def _counts(connection: Any, summary: Summary) -> None:
    summary.people = int(await connection.fetchval("SELECT count(*) FROM people"))
    summary.tickets = int(await connection.fetchval("SELECT count(*) FROM tickets"))
    summary.events = int(await connection.fetchval("SELECT count(*) FROM ticket_events"))
    summary.follow_ups = int(await connection.fetchval("SELECT count(*) FROM follow_ups"))
    summary.pending_follow_ups = int(
        await connection.fetchval("SELECT count(*) FROM follow_ups WHERE status = 'pending'")
    )
    summary.outbox = int(await connection.fetchval("SELECT count(*) FROM outbox"))


async def generate(
    url: str,
    *,
    tickets: int = 1_000_000,
    units: int = 80,
    years: int = 3,
    pending_followups: int = 100_000,
    seed: int = 1,
    end: datetime | None = None,
    say: Callable[[str], None] = lambda line: None,
    chunk: int = CHUNK,
) -> Summary:
    """Fill the PostgreSQL database at `url` (migrated here if it is not) with a city, or finish one a stopped run
    left, or leave a finished one as it is. `end` is when the city's history stops (default: now, to the minute)."""
    import asyncpg

    from storage.migrate import upgrade

    if not url.startswith("postgresql"):
        raise ValueError("the city is generated on PostgreSQL (postgresql+asyncpg://…)")
    began = time.monotonic()
    await asyncio.to_thread(upgrade, url)
    connection = await asyncpg.connect(plain_url(url))
    try:
        await connection.execute("SET synchronous_commit = off")
        await _epoch_timestamps(connection)
        await _skip_foreign_key_checks(connection)
        state = await _state(connection)
        if state is None:
            if await connection.fetchval("SELECT exists (SELECT 1 FROM tickets)"):
                raise RuntimeError("this database holds tickets the generator did not write: use an empty one")
            when = (end or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
            shape = Shape(tickets, units, years, pending_followups, seed, when.isoformat())
            say(f"setting up a city of {tickets:,} tickets over {years} years, {units} units, seed {seed}")
            state = await _setup(connection, url, shape)
            state["chunk"] = chunk
            await _save_state(connection, state)
        else:
            shape = Shape(**state["shape"])
            asked = (tickets, units, years, pending_followups, seed)
            if asked != (shape.tickets, shape.units, shape.years, shape.pending_followups, shape.seed) or (
                end is not None and end.astimezone(UTC).replace(second=0, microsecond=0).isoformat() != shape.end
            ):
                raise RuntimeError(f"this database holds a city of another shape ({shape}); use an empty one")
        summary = Summary(url=url, shape=shape, seconds=0.0, resumed_at_chunk=int(state["chunks_done"]))
        if state["finished"]:
            if "indexes" in state:  # stopped while building them again
                await _restore_indexes(connection, state, say)
                await connection.execute("ANALYZE")
            summary.already_done = True
            await _counts(connection, summary)
            return summary
        city = await _load_city(connection, shape, state["bases"])
        await _drop_indexes(connection, state)
        size = int(state.get("chunk", CHUNK))  # a resumed run keeps the chunks it started with
        chunks = math.ceil(shape.tickets / size)
        for c in range(int(state["chunks_done"]), chunks):
            ids = await _max_ids(connection)
            part = Chunk(city, c * size, min((c + 1) * size, shape.tickets),
                          {k: ids[k] for k in ("ticket_events", "follow_ups", "outbox", "audit_log")})  # fmt: skip
            rows = part.build()
            async with connection.transaction():
                await _write(connection, rows)
                state["chunks_done"] = c + 1
                await _save_state(connection, state)
            say(f"  chunk {c + 1}/{chunks}: tickets up to {part.last:,} ({time.monotonic() - began:.0f} s)")
        await _finish(connection, city, say)
        say("  indexes")
        state = await _state(connection) or state
        await _restore_indexes(connection, state, say)
        say("  analysing")
        await connection.execute("ANALYZE")
        await _counts(connection, summary)
        summary.seconds = time.monotonic() - began
        return summary
    finally:
        await connection.close()


async def ensure_database(name: str) -> str:
    """The URL of database `name` on the server of SHISHI_TEST_PG, created when missing."""
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        if not await admin.fetchval("SELECT exists (SELECT 1 FROM pg_database WHERE datname = $1)", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="postgresql+asyncpg://… of an empty (or half-generated) database")
    where.add_argument("--database", help="a database name on the SHISHI_TEST_PG server, created when missing")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=80)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--pending-followups", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", type=datetime.fromisoformat, help="when history stops (ISO; default now)")
    args = parser.parse_args(argv)

    async def run() -> Summary:
        url = args.url or await ensure_database(args.database)
        return await generate(url, tickets=args.tickets, units=args.units, years=args.years,
                              pending_followups=args.pending_followups, seed=args.seed, end=args.end,
                              say=lambda line: print(line, flush=True))  # fmt: skip

    print(asyncio.run(run()).line())
    return 0


if __name__ == "__main__":
    sys.exit(main())

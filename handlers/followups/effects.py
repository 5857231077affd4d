"""What a firing follow-up may do: read the ticket's people, queue messages for them in their language and after
their quiet hours, append events — the effects the per-kind rules (firing.py, digest.py, calls.py) are written in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from handlers.conversation.outbox import PRIORITY_ALERT, Render
from handlers.conversation.quiet import officer_not_before
from handlers.conversation.turn import Effects, Rules, Subscribers
from handlers.conversation.words import deadline_text, kind_label, label, unit_label
from handlers.tickets import lifecycle
from handlers.tickets.deadlines import Deadlines
from storage.models import FollowUp, Officer, Ticket, Unit
from storage.uow import UnitOfWork

LEADER_ROLES: Final = ("leader",)


@dataclass
class TickReport:
    fired: int = 0
    busy: int = 0
    failed: int = 0
    messages: int = 0


class Firing(Effects):
    """What one due row may do: read the ticket's people, queue messages, append events — inside the tick's
    transaction."""

    def __init__(
        self, uow: UnitOfWork, translator: Translator, rules: Rules, now: datetime, subscribers: Subscribers | None
    ) -> None:
        super().__init__(uow, translator, rules, now, subscribers)
        self.tr = translator
        self.zone = rules.zone
        self.follow_up_id: int | None = None

    @property
    def deadlines(self) -> Deadlines:
        return self.rules.deadlines

    def when(self, locale: str, moment: datetime | None) -> str:
        return deadline_text(self.tr, locale, moment, self.zone)

    def label(self, locale: str, msgid: str, fallback: str) -> str:
        return label(self.tr, locale, msgid, fallback)

    def unit_name(self, locale: str, unit: Unit | None) -> str:
        return unit_label(self.tr, locale, unit)

    async def to_person(
        self,
        person_id: int,
        render: Render,
        *,
        not_before: datetime | None,
        priority: int = PRIORITY_ALERT,
        essential: bool = True,
    ) -> bool:
        """Queue for the person's most recently used reachable chat, in their language."""
        return await self.outbox.to_person(
            person_id,
            render,
            kind="follow_up",
            priority=priority,
            essential=essential,
            not_before=not_before,
            follow_up=self.follow_up_id,
        )

    async def to_officers(self, officers: Sequence[Officer], ticket: Ticket | None, msgid: str, **params: Any) -> int:
        """Each officer in their language, after their quiet hours unless the ticket is urgent."""
        urgent = bool(ticket and ticket.urgent)
        sent, seen = 0, set()
        for officer in officers:
            if officer.person_id in seen:
                continue
            seen.add(officer.person_id)

            def render(locale: str, officer: Officer = officer) -> Reply:
                values = {key: value(locale) if callable(value) else value for key, value in params.items()}
                text = self.tr(locale, msgid, name=officer.name, **values)
                return Reply(text=f"{self.tr(locale, 'followup.urgent')}\n{text}" if urgent else text)

            not_before = officer_not_before(officer, self.now, self.zone, urgent=urgent)
            if await self.to_person(officer.person_id, render, not_before=not_before):
                sent += 1
        return sent

    async def leaders_of(self, unit_id: int | None) -> Sequence[Officer]:
        """The unit's leaders; a unit without one falls back to its other officers, so no alert is lost."""
        if unit_id is None:
            return []
        leaders = await self.uow.officers.of_unit(unit_id, LEADER_ROLES)
        return leaders or await self.uow.officers.of_unit(unit_id)

    async def leaders_above(
        self, unit_id: int | None, *, besides: int | None = None
    ) -> tuple[list[Officer], Unit | None]:
        """Who leads: the unit's leaders, or — a unit without one (or whose only leader is `besides`, the officer
        the escalation is about) — its parent's, and so on up the unit tree; and the unit they lead. Nobody and None
        when no unit up the tree has one: then no message may say that a leader was told."""
        seen: set[int] = set()
        while unit_id is not None and unit_id not in seen:
            seen.add(unit_id)
            unit = await self.uow.units.get(unit_id)
            if unit is None:
                break
            leaders = [o for o in await self.uow.officers.of_unit(unit_id, LEADER_ROLES) if o.id != besides]
            if leaders:
                return leaders, unit
            unit_id = unit.parent_id
        return [], None

    def told(self, officers: Sequence[Officer], unit: Unit | None) -> Callable[[str], str]:
        """Exactly who was told, for the message: "李科长（汉台区司法局）", or that nobody could be."""

        def said(locale: str) -> str:
            if not officers or unit is None:
                return self.tr(locale, "followup.told_nobody")
            names = self.tr(locale, "followup.names_sep").join(o.name for o in officers)
            return self.tr(locale, "followup.told", names=names, unit=self.unit_name(locale, unit))

        return said

    def ticket_params(self, ticket: Ticket) -> dict[str, Any]:
        return {"number": ticket.number, "kind": lambda locale: kind_label(self.tr, locale, ticket.kind)}

    async def note(self, ticket: Ticket, action: str, note: str | None = None) -> None:
        await lifecycle.record(self.uow, ticket, action, actor_person_id=None, now=self.now, note=note)


Fire = Callable[[Firing, FollowUp, Ticket | None], Awaitable[None]]

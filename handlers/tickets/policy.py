"""The one answer to "may this actor do this (to this ticket)?" — every command, button and use case asks here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from handlers.tickets import lifecycle
from storage.models import Ticket
from storage.uow import UnitOfWork


class Role(StrEnum):
    OFFICER = "officer"
    LEADER = "leader"
    ADMIN = "admin"


class Action(StrEnum):
    VIEW = "view"
    VIEW_SENSITIVE = "view_sensitive"
    REVEAL_PHONE = "reveal_phone"
    CLAIM = "claim"
    MESSAGE = "message"
    NOTE = "note"
    START_WORK = "start_work"
    SCHEDULE_MEDIATION = "schedule_mediation"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    TRANSFER = "transfer"
    REJECT = "reject"
    REASSIGN = "reassign"
    RATE = "rate"
    DUTY = "duty"
    OVERVIEW = "overview"
    INVITE = "invite"
    JOIN = "join"
    BROADCAST = "broadcast"
    APPROVE_BROADCAST = "approve_broadcast"
    LEDGER = "ledger"
    EXPORT = "export"
    DASHBOARD = "dashboard"
    LINK_CASE = "link_case"
    AUDIT = "audit"


# Actions about no ticket in particular; every other action needs one.
GENERAL: Final = frozenset(
    {
        Action.DUTY,
        Action.OVERVIEW,
        Action.INVITE,
        Action.JOIN,
        Action.BROADCAST,
        Action.APPROVE_BROADCAST,
        Action.LEDGER,
        Action.EXPORT,
        Action.DASHBOARD,
        Action.AUDIT,
    }
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person (None for a chat not linked to anyone) and, for staff, their officer row."""

    person_id: int | None
    officer_id: int | None = None
    unit_id: int | None = None
    role: Role | None = None
    name: str | None = None

    @property
    def is_officer(self) -> bool:
        return self.officer_id is not None

    @classmethod
    def nobody(cls) -> Actor:
        return cls(person_id=None)


async def actor_for(uow: UnitOfWork, person_id: int | None) -> Actor:
    if person_id is None:
        return Actor.nobody()
    officer = await uow.officers.of_person(person_id)
    if officer is None:
        return Actor(person_id=person_id)
    return Actor(
        person_id=person_id, officer_id=officer.id, unit_id=officer.unit_id, role=Role(officer.role), name=officer.name
    )


def _owner(actor: Actor, ticket: Ticket) -> bool:
    return actor.person_id is not None and ticket.citizen_id == actor.person_id


def _member(actor: Actor, ticket: Ticket) -> bool:
    """Any staff of the unit that holds the ticket, whatever the role."""
    return actor.is_officer and ticket.unit_id is not None and actor.unit_id == ticket.unit_id


def _assigned(actor: Actor, ticket: Ticket) -> bool:
    return actor.is_officer and ticket.officer_id == actor.officer_id


def _leads(actor: Actor, ticket: Ticket) -> bool:
    return _member(actor, ticket) and actor.role == Role.LEADER


def _oversees(actor: Actor, ticket: Ticket) -> bool:
    """Leaders see all of their unit's tickets; admins see every unit's."""
    return _leads(actor, ticket) or (actor.is_officer and actor.role == Role.ADMIN)


def _open_to_unit(actor: Actor, ticket: Ticket) -> bool:
    """An unclaimed ticket is everyone's in the unit: any of them may look, transfer or reject it."""
    return _member(actor, ticket) and ticket.officer_id is None and ticket.status in lifecycle.UNCLAIMED


def _works(actor: Actor, ticket: Ticket) -> bool:
    return _assigned(actor, ticket) or _leads(actor, ticket)


TicketRule = Callable[[Actor, Ticket], bool]
GeneralRule = Callable[[Actor], bool]

TICKET_RULES: Final[dict[Action, TicketRule]] = {
    Action.VIEW: lambda a, t: _owner(a, t) or _assigned(a, t) or _open_to_unit(a, t) or _oversees(a, t),
    # The full number only to the one officer who must call; leaders and admins see it masked.
    Action.REVEAL_PHONE: _assigned,
    # Sensitive answers (money lost, age, health, family hardship, the ID number) and the citizen's photos and voice
    # notes: to the officer who handles the ticket and the leader of its unit (PIPL Art. 28: need to know).
    Action.VIEW_SENSITIVE: _works,
    Action.CLAIM: _member,
    Action.MESSAGE: lambda a, t: _assigned(a, t) or _owner(a, t),
    Action.NOTE: lambda a, t: _assigned(a, t) or _oversees(a, t),
    Action.START_WORK: _works,
    Action.SCHEDULE_MEDIATION: _works,
    Action.RESOLVE: _works,
    Action.CLOSE: lambda a, t: _works(a, t) or _oversees(a, t),
    Action.REOPEN: lambda a, t: _owner(a, t) or _oversees(a, t),
    Action.CANCEL: _owner,
    Action.TRANSFER: lambda a, t: _open_to_unit(a, t) or _assigned(a, t) or _oversees(a, t),
    Action.REJECT: lambda a, t: _open_to_unit(a, t) or _works(a, t),
    Action.REASSIGN: _oversees,
    # The satisfaction callback (#6): only the citizen whose ticket it is.
    Action.RATE: _owner,
    # Linking a ticket into a joint case (#17): whoever works it or oversees it.
    Action.LINK_CASE: lambda a, t: _works(a, t) or _oversees(a, t),
}

GENERAL_RULES: Final[dict[Action, GeneralRule]] = {
    Action.DUTY: lambda a: a.is_officer,
    Action.OVERVIEW: lambda a: a.role in (Role.LEADER, Role.ADMIN),
    Action.INVITE: lambda a: a.role == Role.ADMIN,
    Action.JOIN: lambda a: a.person_id is not None and not a.is_officer,
    Action.BROADCAST: lambda a: a.role == Role.ADMIN,
    Action.APPROVE_BROADCAST: lambda a: a.role == Role.ADMIN,
    # The ledger (#17): leaders read their unit's subtree, admins every unit (ledger_scope says which).
    Action.LEDGER: lambda a: a.role in (Role.LEADER, Role.ADMIN),
    Action.EXPORT: lambda a: a.role in (Role.LEADER, Role.ADMIN),
    Action.DASHBOARD: lambda a: a.role in (Role.LEADER, Role.ADMIN),
    # Who saw or changed what on a ticket (#16): admins, who answer for the record of access.
    Action.AUDIT: lambda a: a.role == Role.ADMIN,
}


@dataclass(frozen=True)
class LedgerScope:
    """Whose numbers an actor reads: every unit (`root` None), or the units under `root`, itself included."""

    root: int | None


def ledger_scope(actor: Actor) -> LedgerScope | None:
    """Admins read the whole city, a leader their own unit and every unit below it; anyone else nothing."""
    if not allows(actor, Action.LEDGER):
        return None
    if actor.role == Role.ADMIN:
        return LedgerScope(root=None)
    return LedgerScope(root=actor.unit_id) if actor.unit_id is not None else None


def staff_actor(role: str) -> Actor:
    """A stand-in officer of `role` (an unknown role gets an officer's), to ask what that role may do in general."""
    known = role if role in Role.__members__.values() else Role.OFFICER
    return Actor(person_id=0, officer_id=0, unit_id=0, role=Role(known))


def allows(actor: Actor, action: Action, ticket: Ticket | None = None) -> bool:
    """Deny unless a rule says yes; a ticket action without a ticket, or an unknown action, is denied."""
    if action in GENERAL:
        general = GENERAL_RULES.get(action)
        return general is not None and general(actor)
    rule = TICKET_RULES.get(action)
    if rule is None or ticket is None:
        return False
    return rule(actor, ticket)

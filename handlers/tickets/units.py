"""Loading units and routing rules from a data file's contents, and listing them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storage.models import RoutingRule, Unit
from storage.uow import Database

POLITICAL_LEGAL = ("court", "procuratorate", "police", "justice", "judicial_office", "legal_aid", "petition")
# Units outside the political-legal system that take some tickets by transfer: kind → (ticket kind, category) pairs.
# Labour inspection enforces wage payment (Regulations on Labour Security Supervision, Art. 11).
TAKES: dict[str, frozenset[tuple[str, str]]] = {
    "labour_inspection": frozenset({("concern", "wages"), ("dispute", "labour")}),
}
UNIT_KINDS = (*POLITICAL_LEGAL, *TAKES)


def takes(unit_kind: str, ticket_kind: str, category: str) -> bool:
    """Whether a unit of this kind may be handed a ticket of this kind and category: every political-legal unit,
    and an outside unit only the tickets it enforces."""
    outside = TAKES.get(unit_kind)
    return outside is None or (ticket_kind, category) in outside


class UnitDataError(ValueError):
    pass


async def load_units(db: Database, units: Sequence[Mapping[str, Any]], rules: Sequence[Mapping[str, Any]]) -> int:
    """Insert or update every unit by code, then replace the routing rules; all or nothing."""
    async with db() as uow:
        by_code: dict[str, Unit] = {}
        for entry in units:
            if entry.get("kind") not in UNIT_KINDS:
                raise UnitDataError(f"unit {entry.get('code')!r}: unknown kind {entry.get('kind')!r}")
            values = {k: entry.get(k) for k in ("code", "kind", "name_zh", "name_en", "county", "township")}
            by_code[entry["code"]] = await uow.units.upsert(values)
        for entry in units:
            parent = entry.get("parent")
            if parent:
                if parent not in by_code and await uow.units.by_code(parent) is None:
                    raise UnitDataError(f"unit {entry['code']!r}: unknown parent {parent!r}")
                target = by_code.get(parent) or await uow.units.by_code(parent)
                by_code[entry["code"]].parent_id = target.id if target else None
        routing = []
        for entry in rules:
            unit = by_code.get(entry["unit"]) or await uow.units.by_code(entry["unit"])
            if unit is None:
                raise UnitDataError(f"rule names unknown unit {entry['unit']!r}")
            routing.append(
                RoutingRule(
                    kind=entry.get("kind", "*"),
                    category=entry.get("category"),
                    county=entry.get("county"),
                    township=entry.get("township"),
                    unit_id=unit.id,
                )
            )
        await uow.units.replace_rules(routing)
        await uow.commit()
        return len(by_code)


async def list_units(db: Database) -> list[tuple[str, str]]:
    async with db.reading() as uow:
        return [(unit.code, unit.name_zh) for unit in await uow.units.all()]


async def has_units(db: Database) -> bool:
    async with db.reading() as uow:
        return await uow.units.count() > 0

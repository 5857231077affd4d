"""Loading units and routing rules from a data file's contents, and listing them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storage.models import RoutingRule, Unit
from storage.uow import Database

UNIT_KINDS = ("court", "procuratorate", "police", "justice", "judicial_office", "legal_aid", "petition")


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

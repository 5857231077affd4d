"""The demo data routes every kind and category of ticket in every county, with county defaults and a city fallback."""

from __future__ import annotations

import pytest

from bot.app import DEMO_UNITS, read_units_file
from handlers.conversation.places import COUNTIES
from handlers.tickets.routing import route
from handlers.tickets.units import load_units
from storage.uow import Database

# (kind, category) → the unit kind (suffix of the code) that must get it in every county.
EXPECTED: dict[tuple[str, str | None], str] = {
    ("dispute", "land"): "justice",
    ("dispute", "family"): "justice",
    ("concern", "fraud"): "police",
    ("concern", "public_safety"): "police",
    ("concern", "wages"): "legalaid",
    ("concern", "enforcement"): "court",
    ("concern", "other"): "justice",
    ("legal_aid", "civil"): "legalaid",
    ("legal_aid", None): "legalaid",
    ("relief", "court"): "court",
    ("relief", "procuratorate"): "procuratorate",
    ("relief", "other"): "procuratorate",
    ("service", "mediation_room"): "justice",
    ("service", None): "justice",
    ("something_new", None): "justice",  # the county default
}


@pytest.fixture
async def demo_db(db: Database) -> Database:
    units, rules = read_units_file(DEMO_UNITS)
    await load_units(db, units, rules)
    return db


async def test_every_kind_and_category_reaches_a_unit_of_the_right_agency_in_every_county(demo_db: Database) -> None:
    misses = []
    async with demo_db.reading() as uow:
        for county in COUNTIES:
            for (kind, category), agency in EXPECTED.items():
                unit = await route(uow, kind, category, county, None)
                want = f"{county}-{agency}"
                if unit is None or unit.code != want or unit.county != county:
                    misses.append((county, kind, category, unit.code if unit else None, want))
    assert misses == []
    assert len(COUNTIES) * len(EXPECTED) == 11 * 15


async def test_township_disputes_go_to_the_judicial_office_and_unknown_townships_to_the_county(
    demo_db: Database,
) -> None:
    async with demo_db.reading() as uow:
        offices = [u for u in await uow.units.all() if u.kind == "judicial_office"]
        assert {u.county for u in offices} == set(COUNTIES)
        for office in offices:
            unit = await route(uow, "dispute", "land", office.county, office.township)
            assert unit is not None and unit.code == office.code
        elsewhere = await route(uow, "dispute", "land", "hantai", "no-such-township")
        assert elsewhere is not None and elsewhere.code == "hantai-justice"


async def test_no_county_falls_back_to_the_city_intake(demo_db: Database) -> None:
    async with demo_db.reading() as uow:
        for kind, category in EXPECTED:
            unit = await route(uow, kind, category, None, None)
            assert unit is not None and unit.code == "city-intake"
        assert (await route(uow, "dispute", "land", "atlantis", None)).code == "city-intake"  # type: ignore[union-attr]

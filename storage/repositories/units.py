"""The units of the political-legal system, their routing rules, their officers and invites."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, Officer, RoutingRule, Unit


class UnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[Unit]:
        return (await self.session.execute(select(Unit).order_by(Unit.id))).scalars().all()

    async def by_code(self, code: str) -> Unit | None:
        return (await self.session.execute(select(Unit).where(Unit.code == code))).scalar_one_or_none()

    async def get(self, unit_id: int) -> Unit | None:
        return await self.session.get(Unit, unit_id)

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Unit))).scalar_one())

    async def upsert(self, values: dict[str, Any]) -> Unit:
        unit = await self.by_code(values["code"])
        if unit is None:
            unit = Unit(**values)
            self.session.add(unit)
        else:
            for key, value in values.items():
                setattr(unit, key, value)
        await self.session.flush()
        return unit

    async def replace_rules(self, rules: Sequence[RoutingRule]) -> None:
        await self.session.execute(delete(RoutingRule))
        self.session.add_all(list(rules))
        await self.session.flush()

    async def rules(self, **wanted: str | None) -> Sequence[RoutingRule]:
        """The routing rules that could match these values (a blank or "*" in a rule matches anything)."""
        stmt = select(RoutingRule)
        for name, value in wanted.items():
            column = getattr(RoutingRule, name)
            stmt = stmt.where(or_(column.is_(None), column.in_(["", "*", *([value] if value else [])])))
        return (await self.session.execute(stmt)).scalars().all()

    async def by_ids(self, ids: Collection[int]) -> dict[int, Unit]:
        if not ids:
            return {}
        rows = (await self.session.execute(select(Unit).where(Unit.id.in_(list(ids))))).scalars().all()
        return {u.id: u for u in rows}

    async def subtree(self, root_id: int) -> Sequence[Unit]:
        """The unit and every unit below it (a county bureau and its township offices), the root first."""
        tree = select(Unit.id.label("id")).where(Unit.id == root_id).cte("tree", recursive=True)
        below = select(Unit.id).join(tree, Unit.parent_id == tree.c.id)
        tree = tree.union(below)
        stmt = select(Unit).where(Unit.id.in_(select(tree.c.id))).order_by(Unit.id != root_id, Unit.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def units_in(self, county: str | None) -> Sequence[Unit]:
        stmt = select(Unit).where(Unit.active.is_(True))
        stmt = stmt.where(Unit.county.is_(None) if county is None else Unit.county == county)
        return (await self.session.execute(stmt.order_by(Unit.id))).scalars().all()


class OfficerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_person(self, person_id: int) -> Officer | None:
        stmt = select(Officer).where(Officer.person_id == person_id, Officer.active.is_(True))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, officer_id: int) -> Officer | None:
        return await self.session.get(Officer, officer_id)

    async def of_unit(self, unit_id: int, roles: Sequence[str] = ()) -> Sequence[Officer]:
        stmt = select(Officer).where(Officer.unit_id == unit_id, Officer.active.is_(True))
        if roles:
            stmt = stmt.where(Officer.role.in_(list(roles)))
        return (await self.session.execute(stmt.order_by(Officer.id))).scalars().all()

    async def add(self, officer: Officer) -> Officer:
        self.session.add(officer)
        await self.session.flush()
        return officer

    async def add_invite(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def invite_by_hash(self, code_hashes: Sequence[str]) -> Invite | None:
        """The invite whose code hashes to one of `code_hashes` (the hash under each accepted key)."""
        stmt = select(Invite).where(Invite.code_hash.in_(list(code_hashes))).with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def of_person_any(self, person_id: int) -> Officer | None:
        """Active or not: a person has at most one officer row."""
        stmt = select(Officer).where(Officer.person_id == person_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active(self) -> Sequence[Officer]:
        stmt = select(Officer).where(Officer.active.is_(True)).order_by(Officer.id)
        return (await self.session.execute(stmt)).scalars().all()

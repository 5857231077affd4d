"""The service guide (便民服务指南) and its search index and vocabulary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import GuideEntry, GuideTerm, GuideWord


class GuideRepository:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session, self.dialect = session, dialect

    async def replace_all(
        self,
        entries: Sequence[GuideEntry],
        terms: Mapping[str, Mapping[str, int]],
        words: Sequence[GuideWord],
    ) -> None:
        """The whole guide at once: entries, their index terms (by entry code) and the search vocabulary."""
        await self.session.execute(delete(GuideTerm))
        await self.session.execute(delete(GuideEntry))
        await self.session.execute(delete(GuideWord))
        self.session.add_all(list(entries))
        self.session.add_all(list(words))
        await self.session.flush()
        rows = [
            {"entry_id": entry.id, "term": term, "weight": weight}
            for entry in entries
            for term, weight in terms.get(entry.code, {}).items()
        ]
        for start in range(0, len(rows), 2000):
            await self.session.execute(insert(GuideTerm), rows[start : start + 2000])

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(GuideEntry))).scalar_one())

    async def words(self) -> Sequence[GuideWord]:
        return (await self.session.execute(select(GuideWord).order_by(GuideWord.id))).scalars().all()

    async def postings(self, terms: Iterable[str]) -> Sequence[tuple[int, str, int]]:
        wanted = sorted(set(terms))
        if not wanted:
            return []
        stmt = select(GuideTerm.entry_id, GuideTerm.term, GuideTerm.weight).where(GuideTerm.term.in_(wanted))
        return [(int(e), str(t), int(w)) for e, t, w in (await self.session.execute(stmt)).all()]

    async def entries(self, ids: Iterable[int]) -> dict[int, GuideEntry]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = (await self.session.execute(select(GuideEntry).where(GuideEntry.id.in_(wanted)))).scalars().all()
        return {row.id: row for row in rows}

    async def in_category(self, category: str) -> Sequence[GuideEntry]:
        stmt = select(GuideEntry).where(GuideEntry.category == category).order_by(GuideEntry.position)
        return (await self.session.execute(stmt)).scalars().all()

    async def by_code(self, code: str) -> GuideEntry | None:
        return (await self.session.execute(select(GuideEntry).where(GuideEntry.code == code))).scalar_one_or_none()

"""Where each person is in an interview; the state holds answers, so it is stored sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import FieldCipher
from storage.db import insert_for
from storage.models import Conversation


class ConversationRepository:
    def __init__(self, session: AsyncSession, dialect: str, cipher: FieldCipher) -> None:
        self.session, self.dialect, self.cipher = session, dialect, cipher

    def unseal(self, conversation: Conversation) -> str:
        return self.cipher.decrypt(conversation.state_sealed) if conversation.state_sealed else ""

    def seal(
        self, conversation: Conversation, interview: str | None, step: str | None, state: str, now: datetime
    ) -> None:
        """The state holds answers (phone numbers among them), so it is stored encrypted."""
        conversation.interview, conversation.step = interview, step
        conversation.state_sealed = self.cipher.encrypt(state)
        conversation.version += 1
        conversation.updated_at = now

    async def get_for_update(self, person_id: int, now: datetime) -> Conversation:
        """The person's conversation row, created if missing, locked until commit (PostgreSQL)."""
        stmt = select(Conversation).where(Conversation.person_id == person_id).with_for_update()
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        if found is not None:
            return found
        await self.session.execute(
            insert_for(self.dialect, Conversation)
            .values(person_id=person_id, state_sealed="", version=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["person_id"])
        )
        return (await self.session.execute(stmt)).scalar_one()

"""Short notices a channel queues outside a conversation turn (e.g. "you are sending too fast"), in the person's
language, through the one way out: the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Reply
from handlers.conversation.outbox import PRIORITY_REPLY, Outbox
from handlers.conversation.turn import Clock, system_clock
from storage.repositories.people import StaffChat
from storage.uow import Database


async def queue_notice(
    db: Database,
    translator: Translator,
    channel: str,
    recipient: str,
    msgid: str,
    *,
    language_hint: str | None = None,
    clock: Clock = system_clock,
) -> None:
    now = clock()
    async with db() as uow:
        identity = await uow.people.identity(channel, recipient)
        if identity is not None:
            locale = (await uow.people.get(identity.person_id)).locale
        else:
            locale = translator.locale_for(language_hint)
        outbox = Outbox(uow, now)
        reply = Reply(text=translator(locale, msgid))
        outbox.to_chat(channel, recipient, reply, kind="notice", priority=PRIORITY_REPLY, essential=False)
        await outbox.flush()
        await uow.commit()


async def staff_on_channel(db: Database, channel: str, external_id: str | None = None) -> Sequence[StaffChat]:
    """Officers' chats on a channel with their role and language (one chat when `external_id` is given)."""
    async with db.reading() as uow:
        return await uow.people.staff_chats(channel, external_id)

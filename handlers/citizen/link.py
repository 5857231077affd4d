"""One person across channels (issue #14): /link gives a one-time code in one chat, `/link CODE` in another chat (or
the web chat opened with ?link=CODE) asks that chat to confirm, and the two chats become one person — their tickets,
conversation and subscriptions one. Both sides agree (asking for the code is the first chat's, confirming the
second's); the first chat is told at once and can answer "this isn't me"; /unlink separates a chat again, and each
side takes back the tickets it brought. WeChat's OAuth from the OA menu joins the web chat it opens to the follower.
Officers' chats are not linked (an officer is one person per chat on purpose: their role is theirs)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Final

from handlers.citizen.consent import privacy_notice
from handlers.conversation.buttons import Data, data
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Reply
from handlers.conversation.outbox import PRIORITY_ALERT, PRIORITY_REPLY, Outbox
from handlers.conversation.turn import Turn
from handlers.conversation.words import label
from storage.models import ChatIdentity, LinkCode, PersonLink
from storage.uow import Database, UnitOfWork

PREFIX: Final = "link"
CODE_TTL: Final = timedelta(minutes=10)
FAILED_PER_HOUR: Final = 10  # wrong codes a person may enter an hour (8 digits: guessing one is hopeless anyway)
PENDING: Final = "link"  # the conversation's note of the code this chat is asked to confirm


def code_hash(uow: UnitOfWork, code: str) -> str:
    return uow.cipher.lookup_hash(f"link:{code}")


async def _is_officer(uow: UnitOfWork, person_id: int) -> bool:
    return await uow.officers.of_person_any(person_id) is not None


def channel_name(tr: Translator, locale: str, channel: str) -> str:
    return label(tr, locale, f"channel.{channel}", channel)


async def command(turn: Turn, args: str = "") -> None:
    """/link: a code for another chat; /link CODE: link this chat to the one that asked for it."""
    if await _is_officer(turn.uow, turn.person.id):
        turn.say("link.officer")
        return
    if turn.person.consent_at is None:
        turn.reply(privacy_notice(turn))
        return
    if args.strip():
        await enter(turn, args)
        return
    code = f"{secrets.randbelow(10**8):08d}"
    await turn.uow.reach.add_code(
        LinkCode(code_hash=code_hash(turn.uow, code), person_id=turn.person.id, identity_id=turn.identity.id,
                 expires_at=turn.now + CODE_TTL, created_at=turn.now)
    )  # fmt: skip
    minutes = int(CODE_TTL.total_seconds() // 60)
    turn.say_sensitive("link.code", code=code, minutes=minutes)


async def enter(turn: Turn, raw: str) -> None:
    digits = re.sub(r"\D", "", raw)
    since = turn.now - timedelta(hours=1)
    if await turn.uow.audit.count(turn.person.id, "link_failed", since) >= FAILED_PER_HOUR:
        turn.say("link.too_many")
        return
    code = await turn.uow.reach.code(code_hash(turn.uow, digits), turn.now) if len(digits) == 8 else None
    if code is None:
        await turn.uow.audit.add(turn.person.id, "link_failed", None, turn.now)
        turn.say("link.unknown")
        return
    if code.person_id == turn.person.id:
        turn.say("link.same")
        return
    if await _is_officer(turn.uow, code.person_id):
        turn.say("link.officer")
        return
    other = await turn.uow.session.get(ChatIdentity, code.identity_id)
    here = len(await turn.uow.reach.ticket_ids_of(turn.person.id))
    there = len(await turn.uow.reach.ticket_ids_of(code.person_id))
    turn.state.extra[PENDING] = code.code_hash
    channel = channel_name(turn.translator, turn.locale, other.channel if other else "")
    turn.reply(
        Reply(
            text=turn.t("link.confirm", channel=channel, here=here, there=there),
            buttons=((turn.button("link.yes", data(PREFIX, "yes")), turn.button("link.no", data(PREFIX, "no"))),),
        )
    )


async def on_button(turn: Turn, pressed: Data) -> None:
    """`link:yes`, `link:no` (this chat confirms or not), `link:notme:<link>` (the first chat says it was not them),
    `link:undo` (separate this chat)."""
    verb = pressed.part(0)
    if verb == "notme":
        await not_me(turn, pressed.id(1))
        return
    if verb == "undo":
        await unlink(turn)
        return
    pending = turn.state.extra.pop(PENDING, None)
    if verb != "yes" or not isinstance(pending, str):
        turn.say("link.cancelled")
        return
    code = await turn.uow.reach.code(pending, turn.now)
    if code is None or code.person_id == turn.person.id or await _is_officer(turn.uow, turn.person.id):
        turn.say("link.unknown")
        return
    code.used_at = turn.now
    count = await join(turn.uow, turn.identity, turn.person.id, code.person_id, "code", turn.now)
    turn.say("link.done", count=count)
    other = await turn.uow.session.get(ChatIdentity, code.identity_id)
    link = await turn.uow.reach.link_of(turn.identity.id)
    if other is not None and link is not None:
        tr, channel = turn.translator, turn.identity.channel

        def told(locale: str) -> Reply:
            text = tr(locale, "link.told", channel=channel_name(tr, locale, channel))
            return Reply(text=text, buttons=((Button(tr(locale, "link.not_me"), data(PREFIX, "notme", link.id)),),))

        person = await turn.uow.people.get(code.person_id)
        turn.outbox.to_chat(other.channel, other.external_id, told(person.locale), kind="alert",
                            priority=PRIORITY_ALERT, essential=True)  # fmt: skip


async def join(
    uow: UnitOfWork, identity: ChatIdentity, from_person: int, to_person: int, how: str, now: datetime
) -> int:
    """The chat joins `to_person` with the tickets it brings; returns how many tickets the person has now."""
    tickets = await uow.reach.ticket_ids_of(from_person)
    await uow.reach.move_identity(identity.id, to_person)
    await uow.reach.move_tickets(tickets, from_person, to_person)
    await uow.reach.copy_subscriptions(from_person, to_person, now)
    await uow.reach.add_link(PersonLink(identity_id=identity.id, person_id=to_person, from_person_id=from_person,
                                        tickets=tickets, how=how, linked_at=now))  # fmt: skip
    identity.person_id = to_person
    return len(await uow.reach.ticket_ids_of(to_person))


async def _undo(uow: UnitOfWork, link: PersonLink, how: str, now: datetime) -> None:
    """The chat goes back to the person it was, with the tickets it brought."""
    await uow.reach.move_identity(link.identity_id, link.from_person_id)
    await uow.reach.move_tickets(list(link.tickets or []), link.person_id, link.from_person_id)
    link.unlinked_at, link.unlinked_how = now, how


async def unlink(turn: Turn, args: str = "") -> None:
    """/unlink: this chat stands alone again (with the tickets it brought); from the first chat, the others do."""
    own = await turn.uow.reach.link_of(turn.identity.id)
    links = [own] if own is not None else list(await turn.uow.reach.links_into(turn.person.id))
    if not links:
        turn.say("link.none")
        return
    for link in links:
        await _undo(turn.uow, link, "unlink", turn.now)
    turn.say("link.unlinked")


async def not_me(turn: Turn, link_id: int | None) -> None:
    """The first chat says the chat that joined it is not theirs: it is separated at once, and that is on record."""
    link = await turn.uow.reach.link(link_id) if link_id is not None else None
    if link is None or link.person_id != turn.person.id or link.unlinked_at is not None:
        turn.say("link.none")
        return
    await _undo(turn.uow, link, "not_me", turn.now)
    await turn.uow.audit.add(turn.person.id, "link_disputed", None, turn.now)
    turn.say("link.separated")
    stranger = await turn.uow.session.get(ChatIdentity, link.identity_id)
    if stranger is not None:
        person = await turn.uow.people.get(link.from_person_id)
        text = turn.translator(person.locale, "link.separated_other")
        turn.outbox.to_chat(stranger.channel, stranger.external_id, Reply(text=text), kind="alert",
                            priority=PRIORITY_ALERT, essential=True)  # fmt: skip


async def join_by_oauth(
    uow: UnitOfWork, translator: Translator, default_locale: str, chat_id: str, openid: str, now: datetime
) -> list[tuple[str, str]]:
    """The web chat opened from the OA menu, identified by WeChat's OAuth (snsapi_base): the same person as the
    follower. A page with nothing of its own simply joins; one with tickets of its own is not merged silently — it
    is offered a code to confirm. Returns the chats that got a message."""
    web = await uow.people.identity("webchat", chat_id)
    follower = await uow.people.identity("wechat", openid)
    if web is None and follower is None:
        web = await uow.people.create("webchat", chat_id, translator.locale_for(default_locale), now)
        await uow.reach.add_identity(web.person_id, "wechat", openid, now)
        return []
    if follower is None:
        assert web is not None
        await uow.reach.add_identity(web.person_id, "wechat", openid, now)
        return []
    if web is None:
        await uow.reach.add_identity(follower.person_id, "webchat", chat_id, now)
        return []
    if web.person_id == follower.person_id:
        return []
    if await _is_officer(uow, web.person_id) or await _is_officer(uow, follower.person_id):
        return []
    if not await uow.reach.ticket_ids_of(web.person_id):
        await join(uow, web, web.person_id, follower.person_id, "oauth", now)
        return []
    code = f"{secrets.randbelow(10**8):08d}"
    await uow.reach.add_code(LinkCode(code_hash=code_hash(uow, code), person_id=follower.person_id,
                                      identity_id=follower.id, expires_at=now + CODE_TTL, created_at=now))  # fmt: skip
    locale = (await uow.people.get(web.person_id)).locale
    outbox = Outbox(uow, now)
    offer = Reply(text=translator(locale, "link.oauth_offer", code=code), sensitive=True)
    outbox.to_chat("webchat", chat_id, offer, kind="reply", priority=PRIORITY_REPLY, essential=True)
    await outbox.flush()
    return [("webchat", chat_id)]


async def oauth_join(
    db: Database, translator: Translator, default_locale: str, chat_id: str, openid: str, now: datetime
) -> list[tuple[str, str]]:
    """`join_by_oauth` in its own transaction (the web chat calls it when WeChat redirects back with a code)."""
    async with db() as uow:
        told = await join_by_oauth(uow, translator, default_locale, chat_id, openid, now)
        await uow.commit()
    return told

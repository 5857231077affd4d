"""A copy of everything held about a person (PIPL Art. 45, /mydata): their chats and links, consents, tickets with
every answer opened and their events, the messages sent to them, subscriptions, push subscriptions and the SMS
phone — as JSON, with a readable summary in chat. Telegram gets the file as a document; the web chat and WeChat a
one-time link (minutes). The copy is sealed at rest until fetched; the request and each ticket in it are audited."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any, Final

from handlers.conversation.messages import Attachment, Reply
from handlers.conversation.turn import Turn
from handlers.conversation.words import kind_label, stamp, status_label
from storage.models import DataCopy, Ticket, TicketEvent
from storage.uow import Database, UnitOfWork

COPY_TTL: Final = timedelta(minutes=30)
FILE_CHANNELS: Final = frozenset({"telegram"})  # channels that carry a file the desk made as a document
# Channels whose link opens only in the session that asked (the web chat's cookie): a copy asked for there is keyed
# by the chat too, so the link alone, leaked or guessed, opens nothing. WeChat's browser holds no such session.
BOUND_CHANNELS: Final = frozenset({"webchat"})
MEDIA: Final = "media:"  # an attachment ref of a file the desk made (bot/ fetches it by name)
NAME_PREFIX: Final = "mydata-"
REQUESTED: Final = "copy_requested"  # audit actions
EXPORTED: Final = "copy_ticket"
FETCHED: Final = "copy_fetched"
PATH: Final = "/mydata/"


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def token_hash(uow: UnitOfWork, token: str, chat: str | None = None) -> str:
    return uow.cipher.lookup_hash(f"mydata:{token}" + (f"@{chat}" if chat else ""))


def _answers(uow: UnitOfWork, ticket: Ticket) -> dict[str, Any]:
    """Every answer opened (sealed answers, free text as typed); the summary, the phone and the ID number put
    back."""
    values = {**uow.tickets.answers(ticket), **uow.tickets.originals(ticket)}
    values = {k: v for k, v in values.items() if not k.startswith("_")}
    summary_key = (ticket.details or {}).get("_summary")
    if isinstance(summary_key, str) and ticket.summary and summary_key not in values:
        values[summary_key] = ticket.summary
    if ticket.phone_sealed:
        values["phone"] = uow.cipher.decrypt(ticket.phone_sealed)
    if ticket.id_number_sealed:
        values["id_number"] = uow.cipher.decrypt(ticket.id_number_sealed)
    return values


def _note(uow: UnitOfWork, event: TicketEvent) -> str | None:
    return uow.tickets.note_of(event)


async def _ticket(uow: UnitOfWork, ticket: Ticket, person_id: int) -> dict[str, Any]:
    events = await uow.tickets.events(ticket.id)
    return {
        "number": ticket.number,
        "kind": ticket.kind,
        "category": ticket.category,
        "county": ticket.county,
        "township": ticket.township,
        "status": ticket.status,
        "outcome": ticket.outcome,
        "created_at": _at(ticket.created_at),
        "closed_at": _at(ticket.closed_at),
        "answers": _answers(uow, ticket),
        "attachments": [{"kind": a.get("kind"), "name": a.get("name")} for a in uow.tickets.files(ticket)],
        "rating": {"treatment": ticket.rating_treatment, "solved": ticket.rating_solved, "at": _at(ticket.rated_at)},
        "events": [
            {
                "at": _at(e.created_at),
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "by": "you" if e.actor_person_id == person_id else ("staff" if e.actor_person_id else "desk"),
                # Staff's internal notes are theirs; what the citizen saw or wrote is the citizen's.
                "note": _note(uow, e) if e.citizen_visible or e.actor_person_id == person_id else None,
            }
            for e in events
        ],
    }


async def gather(turn: Turn) -> dict[str, Any]:
    """Everything held about the turn's person, opened."""
    uow, person = turn.uow, turn.person
    identities = await uow.people.identities_of(person.id)
    chats = [(i.channel, i.external_id) for i in identities]
    phone = await uow.reach.phone(person.id)
    messages = await uow.rights.messages_to(person.id, chats)
    tickets = await uow.tickets.of_citizen(person.id, limit=10_000)
    return {
        "about": "PIPL Art. 45",
        "generated_at": _at(turn.now),
        "person": {"created_at": _at(person.created_at), "language": person.locale},
        "consents": {
            "privacy_notice": _at(person.consent_at),
            "sensitive_data": _at(person.sensitive_consent_at),
            "declined": person.consent_declined,
        },
        "chats": [
            {
                "channel": i.channel,
                "id": i.external_id,
                "since": _at(i.created_at),
                "last_seen": _at(i.last_seen_at),
                "reachable": i.unreachable_at is None,
            }
            for i in identities
        ],
        "links": [
            {"how": link.how, "linked_at": _at(link.linked_at), "unlinked_at": _at(link.unlinked_at)}
            for link in await uow.rights.links_of(person.id)
        ],
        "sms_phone": None
        if phone is None
        else {
            "phone": uow.cipher.decrypt(phone.phone_sealed),
            "confirmed_at": _at(phone.confirmed_at),
            "landline": phone.landline,
        },
        "push_subscriptions": [
            {"since": _at(s.created_at), "last_ok": _at(s.last_ok_at)} for s in await uow.reach.subscriptions(person.id)
        ],
        "subscriptions": {
            "topics": await uow.rights.topics(person.id),
            "county": await uow.rights.county_of(person.id),
        },
        "conversation": {"interview": turn.state.interview, "answers": dict(turn.state.answers)},
        "tickets": [await _ticket(uow, t, person.id) for t in reversed(tickets)],
        "messages_to_you": [
            {
                "at": _at(m.created_at),
                "channel": m.channel,
                "status": m.status,
                "text": str(uow.outbox.open(m.payload).get("text", "")),
            }
            for m in messages
        ],
        "messages_from_you": "kept only as answers and notes on your tickets (above); the desk keeps no other text",
    }


def summary(turn: Turn, data: dict[str, Any], tickets: list[Ticket]) -> str:
    tr, locale, zone = turn.translator, turn.locale, turn.rules.zone
    lines = [
        turn.t(
            "privacy.copy.summary",
            chats=len(data["chats"]),
            tickets=len(data["tickets"]),
            messages=len(data["messages_to_you"]),
            topics=len(data["subscriptions"]["topics"]),
            push=len(data["push_subscriptions"]),
        )
    ]
    consents = data["consents"]
    lines.append(
        turn.t(
            "privacy.copy.consents",
            notice=stamp(turn.person.consent_at, zone) if consents["privacy_notice"] else turn.t("privacy.none"),
            sensitive=stamp(turn.person.sensitive_consent_at, zone)
            if consents["sensitive_data"]
            else turn.t("privacy.none"),
        )
    )
    if data["sms_phone"]:
        lines.append(turn.t("privacy.copy.phone", phone=data["sms_phone"]["phone"]))
    for ticket in tickets[:10]:
        lines.append(
            turn.t(
                "privacy.copy.ticket",
                number=ticket.number,
                kind=kind_label(tr, locale, ticket.kind),
                status=status_label(tr, locale, ticket.status),
                answers=len(_answers(turn.uow, ticket)),
            )
        )
    return "\n".join(lines)


async def send_copy(turn: Turn, args: str = "") -> None:
    """`/mydata`: the summary, and the file through what the channel can carry."""
    if turn.person.consent_at is None and not await turn.uow.tickets.of_citizen(turn.person.id, limit=1):
        turn.say("privacy.copy.nothing")
        return
    data = await gather(turn)
    tickets = list(await turn.uow.tickets.of_citizen(turn.person.id, limit=10_000))
    token = secrets.token_urlsafe(24)
    body = json.dumps(data, ensure_ascii=False, indent=1)
    chat = turn.incoming.chat_id if turn.incoming.channel in BOUND_CHANNELS else None
    await turn.uow.rights.add_copy(
        DataCopy(token_hash=token_hash(turn.uow, token, chat), person_id=turn.person.id,
                 body_sealed=turn.uow.cipher.encrypt(body), created_at=turn.now, expires_at=turn.now + COPY_TTL),
        forget_before=turn.now,
    )  # fmt: skip
    await turn.uow.audit.add(turn.person.id, REQUESTED, None, turn.now)
    for ticket in tickets:
        await turn.uow.audit.add(turn.person.id, EXPORTED, ticket.id, turn.now)
    text = summary(turn, data, tickets)
    minutes = int(COPY_TTL.total_seconds() // 60)
    if turn.incoming.channel in FILE_CHANNELS:
        name = f"{NAME_PREFIX}{token}.json"
        document = Attachment(kind="document", ref=f"{MEDIA}{name}", name=name)
        turn.reply(Reply(text=turn.t("privacy.copy.file"), attachment=document, sensitive=True))
        turn.reply(Reply(text=text, sensitive=True))
        return
    link = f"{turn.rules.public_url.rstrip('/')}{PATH}{token}"
    turn.reply(Reply(text=text + "\n\n" + turn.t("privacy.copy.link", link=link, minutes=minutes), sensitive=True))


async def open_copy(db: Database, token: str, now: datetime, *, once: bool, chat: str | None = None) -> bytes | None:
    """The copy behind a token, as JSON bytes: once (a link) or while it lasts (a channel uploading the document);
    each fetch audited. `chat`: the web chat session the request came with — a copy asked for in the web chat
    opens only there."""
    if not 16 <= len(token) <= 64:
        return None
    async with db() as uow:
        found = None
        keys = ([token_hash(uow, token, chat)] if chat else []) + [token_hash(uow, token)]
        for key in keys:
            found = await (uow.rights.take_copy(key, now) if once else uow.rights.copy(key, now))
            if found is not None:
                break
        if found is None:
            return None
        body = uow.cipher.decrypt(found.body_sealed)
        await uow.audit.add(found.person_id, FETCHED, None, now)
        await uow.commit()
    return body.encode()

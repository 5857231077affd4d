"""How the citizen of a ticket can be reached right now, for the ticket card (issue #14): "reachable now by WeChat
(window closes 18:40) · SMS confirmed" — the same facts the delivery ladder goes by (storage ReachRepository.ways)."""

from __future__ import annotations

from handlers.conversation.inputs import is_landline
from handlers.conversation.turn import Turn
from storage.models import Ticket


async def reachability(turn: Turn, ticket: Ticket) -> str:
    uow, person = turn.uow, ticket.citizen_id
    chats: list[str] = []
    for way in await uow.reach.ways(person, turn.now):
        if not way.reachable:
            continue
        if way.channel == "wechat" and way.window_until is not None:
            chats.append(turn.t("reach.way.wechat_window", until=turn.local(way.window_until).strftime("%H:%M")))
        elif way.channel == "wechat" and way.granted:
            chats.append(turn.t("reach.way.wechat_notice"))
        elif way.channel == "webchat" and way.present:
            chats.append(turn.t("reach.way.webchat_open"))
        elif way.channel == "telegram":
            chats.append(turn.t("reach.way.telegram"))
    if await uow.reach.subscriptions(person):
        chats.append(turn.t("reach.way.push"))
    parts = [turn.t("reach.card.now", ways=" · ".join(chats)) if chats else turn.t("reach.card.later")]
    phone = await uow.reach.phone(person)
    if phone is not None and phone.landline:
        parts.append(turn.t("reach.way.landline", phone=phone.phone_masked))
    elif phone is not None and phone.confirmed_at is not None:
        parts.append(turn.t("reach.way.sms"))
    elif ticket.phone_sealed and is_landline(uow.cipher.decrypt(ticket.phone_sealed)):
        parts.append(turn.t("reach.way.landline", phone=ticket.phone_masked or ""))
    else:
        parts.append(turn.t("reach.way.no_sms"))
    return " · ".join(parts)

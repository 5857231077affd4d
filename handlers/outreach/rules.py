"""Legal-awareness outreach (普法宣传): topics, who may broadcast, quiet hours, daily cap, what a citizen receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from handlers.conversation.buttons import data
from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Reply
from handlers.conversation.quiet import quiet_until
from handlers.tickets.policy import Action, actor_for, allows
from storage.models import Broadcast
from storage.uow import UnitOfWork

# Anti-fraud, minors' protection, food safety, labour rights, traffic safety, marriage and family, the elderly.
SUBSCRIBE_PREFIX: Final = "sub"  # subscription buttons: sub:<verb>[:<value>]
TOPICS: Final = ("anti_fraud", "minors", "food_safety", "labour", "traffic", "family", "elderly")

DRAFT: Final = "draft"
AWAITING: Final = "awaiting_approval"
SCHEDULED: Final = "scheduled"
SENDING: Final = "sending"
DONE: Final = "done"
CANCELLED: Final = "cancelled"
REJECTED: Final = "rejected"
CANCELLABLE: Final = frozenset({DRAFT, AWAITING, SCHEDULED, SENDING})
PHOTO_SEP = "|"  # Broadcast.photo is "<channel>|<the platform's file id>"
MAX_TEXT = 1000  # a photo's caption on Telegram holds 1 024 characters


@dataclass(frozen=True)
class OutreachRules:
    """Local policy for broadcasts (bot/ builds it from Settings): when citizens are left alone, and how often."""

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    daily_cap: int = 2  # broadcasts a citizen receives per local day, whatever the topic
    cap_lookahead_days: int = 7  # past this, a capped citizen is skipped rather than queued further ahead
    batch_size: int = 500  # recipients per fan-out transaction
    progress_every: timedelta = timedelta(seconds=10)


def quiet_end_after(moment: datetime, zone: ZoneInfo, rules: OutreachRules) -> datetime | None:
    """When the citizens' quiet hours `moment` falls in end, or None outside them."""
    end = quiet_until(rules.quiet_start.strftime("%H:%M"), rules.quiet_end.strftime("%H:%M"), moment, zone)
    return end.astimezone(moment.tzinfo) if end is not None else None


def first_allowed(moment: datetime, zone: ZoneInfo, rules: OutreachRules) -> datetime:
    return quiet_end_after(moment, zone, rules) or moment


def morning_of(day: date, zone: ZoneInfo, rules: OutreachRules, like: datetime) -> datetime:
    return datetime.combine(day, rules.quiet_end, tzinfo=zone).astimezone(like.tzinfo)


async def may(uow: UnitOfWork, person_id: int, action: Action) -> bool:
    return allows(await actor_for(uow, person_id), action)


def text_for(broadcast: Broadcast, locale: str) -> str:
    return broadcast.text_en if locale == "en" and broadcast.text_en else broadcast.text_zh


def unsubscribe_button(translator: Translator, locale: str, topic: str) -> Button:
    return Button(
        translator(locale, "broadcast.unsubscribe", topic=translator(locale, f"topic.{topic}")),
        data(SUBSCRIBE_PREFIX, "off", topic),
    )


def photo_ref(channel: str, ref: str) -> str:
    return f"{channel}{PHOTO_SEP}{ref}"


def photo_for(broadcast: Broadcast, channel: str) -> str | None:
    """A platform's file id works only on that platform: the image goes to chats of the channel it came from (the
    others get the text alone)."""
    source, sep, ref = (broadcast.photo or "").partition(PHOTO_SEP)
    return ref if sep and source == channel else None


def citizen_message(translator: Translator, broadcast: Broadcast, locale: str, channel: str) -> Reply:
    """What a subscriber receives: the text in their language, the image, and the one-tap unsubscribe."""
    return Reply(
        text=text_for(broadcast, locale),
        photo=photo_for(broadcast, channel),
        buttons=((unsubscribe_button(translator, locale, broadcast.topic),),),
    )


def when_text(translator: Translator, locale: str, broadcast: Broadcast, zone: ZoneInfo) -> str:
    """'As soon as approved' until a second admin approves a send-now broadcast; the time after that."""
    if broadcast.status in (DRAFT, AWAITING) and broadcast.send_at <= broadcast.created_at:
        return translator(locale, "broadcast.when_now")
    return translator(locale, "broadcast.when_at", when=broadcast.send_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"))


def county_text(translator: Translator, locale: str, county: str | None) -> str:
    return translator(locale, f"county.{county}") if county else translator(locale, "broadcast.county_all")


def describe(translator: Translator, locale: str, broadcast: Broadcast, zone: ZoneInfo, audience: int) -> str:
    """One line per fact an approver must see: number, topic, county, when, how many people."""
    return translator(
        locale,
        "broadcast.facts",
        id=broadcast.id,
        topic=translator(locale, f"topic.{broadcast.topic}"),
        county=county_text(translator, locale, broadcast.county),
        when=when_text(translator, locale, broadcast, zone),
        count=audience,
        status=translator(locale, f"broadcast.status.{broadcast.status}"),
    )


async def forget_unreachable(uow: UnitOfWork, channel: str, recipient: str) -> None:
    """A chat that blocked the bot: when its person has no other chat left, their subscriptions go."""
    person_id = await uow.subscriptions.person_of_chat(channel, recipient)
    if person_id is not None and not await uow.subscriptions.reachable(person_id):
        await uow.subscriptions.remove(person_id)

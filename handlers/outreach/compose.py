"""Composing a broadcast (普法宣传) in chat: topic, county, text per language, image, when; ends in a draft.

The draft shows the author exactly what citizens will get and how many will get it; nothing is queued until the
author asks for approval and a second admin gives it (handlers/broadcasts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.conversation.buttons import data
from handlers.conversation.inputs import Accepted, Choice, Media, Option, Parsed, Rejected, Text, options_from
from handlers.conversation.interview import Answers, Interview, Step
from handlers.conversation.messages import Button, Incoming, Reply, Request
from handlers.conversation.places import COUNTIES
from handlers.conversation.turn import Turn
from handlers.outreach.rules import DRAFT, MAX_TEXT, TOPICS, citizen_message, describe, may, photo_ref
from handlers.tickets.policy import Action
from storage.models import Broadcast

_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y年%m月%d日 %H:%M", "%m-%d %H:%M", "%m/%d %H:%M", "%H:%M")
FURTHEST = timedelta(days=30)


@dataclass(frozen=True)
class Moment:
    """A local date and time in the future (within 30 days), kept as an ISO string in UTC."""

    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        if incoming.choice is not None or incoming.text is None:
            return Rejected("input.moment_invalid")
        typed = " ".join(incoming.text.replace("：", ":").split())
        local_now = turn.local(turn.now)
        found: datetime | None = None
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(typed, fmt)
            except ValueError:
                continue
            if "%Y" not in fmt:
                parsed = parsed.replace(year=local_now.year)
            if "%d" not in fmt:
                parsed = parsed.replace(month=local_now.month, day=local_now.day)
            found = parsed.replace(tzinfo=turn.rules.zone)
            if "%d" not in fmt and found <= local_now:
                found += timedelta(days=1)  # "09:00" said in the evening means tomorrow morning
            break
        if found is None:
            return Rejected("input.moment_invalid")
        if found <= local_now:
            return Rejected("input.moment_past")
        if found - local_now > FURTHEST:
            return Rejected("input.moment_far", {"days": FURTHEST.days})
        return Accepted(found.astimezone(turn.now.tzinfo).isoformat())

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return turn.local(datetime.fromisoformat(str(value))).strftime("%Y-%m-%d %H:%M")


COUNTY_OR_ALL = Choice(
    (Option("all", "broadcast.county_all"), *(Option(code, f"county.{code}") for code in COUNTIES)), columns=3
)
WHEN = Choice((Option("now", "broadcast.when.now"), Option("later", "broadcast.when.later")))


def preview(turn: Turn, broadcast: Broadcast, audience: int) -> list[Reply]:
    """What the author sees of a draft: the message as each language's subscribers get it, then the facts."""
    channel = turn.incoming.channel
    shown = [citizen_message(turn.translator, broadcast, "zh_CN", channel)]
    if broadcast.text_en:
        shown.append(citizen_message(turn.translator, broadcast, "en", channel))
    facts = describe(turn.translator, turn.locale, broadcast, turn.rules.zone, audience)
    buttons = (
        (turn.button("broadcast.request", data("bc", "request", broadcast.id)),),
        (turn.button("broadcast.cancel", data("bc", "cancel", broadcast.id)),),
    )
    lead = turn.t("broadcast.preview_lead")
    return [Reply(text=lead), *shown, Reply(text=f"{facts}\n\n{turn.t('broadcast.draft_hint')}", buttons=buttons)]


async def create_draft(turn: Turn, answers: Answers) -> None:
    if not await may(turn.uow, turn.person.id, Action.BROADCAST):
        turn.say("broadcast.not_admin")
        return
    photos = answers.get("photo") or []
    send_at = datetime.fromisoformat(answers["at"]) if answers.get("when") == "later" else turn.now
    broadcast = await turn.uow.broadcasts.add(
        Broadcast(
            author_person_id=turn.person.id,
            topic=answers["topic"],
            county=None if answers["county"] == "all" else answers["county"],
            text_zh=answers["text_zh"],
            text_en=answers.get("text_en"),
            photo=photo_ref(turn.incoming.channel, photos[0]["ref"]) if photos else None,
            send_at=send_at,
            status=DRAFT,
            fanout_cursor=0,
            fanned_out=0,
            recipients=0,
            created_at=turn.now,
        )
    )
    audience = await turn.uow.subscriptions.count_audience(broadcast.topic, broadcast.county)
    for reply in preview(turn, broadcast, audience):
        turn.reply(reply)


COMPOSE = Interview(
    name="broadcast",
    title="broadcast.title",
    intro="broadcast.intro",
    needs_consent=False,
    in_menu=False,
    steps=(
        Step("topic", ask="broadcast.topic", expects=options_from(TOPICS, "topic")),
        Step("county", ask="broadcast.county", expects=COUNTY_OR_ALL),
        Step("text_zh", ask="broadcast.text_zh", expects=Text(min_len=5, max_len=MAX_TEXT)),
        Step("text_en", ask="broadcast.text_en", expects=Text(min_len=5, max_len=MAX_TEXT), optional=True),
        Step("photo", ask="broadcast.photo", expects=Media(max_items=1), optional=True),
        Step("when", ask="broadcast.when", expects=WHEN),
        Step("at", ask="broadcast.at", expects=Moment(), when=lambda a: a.get("when") == "later"),
    ),
    on_done=create_draft,
)

"""Subscriptions to legal-awareness broadcasts: topic toggles, the county, one-tap unsubscribe, blocked chats.

Nobody is broadcast to without a subscription row they made themselves; a citizen who blocks the bot loses them.
"""

from __future__ import annotations

from handlers.conversation.buttons import Data, data
from handlers.conversation.menu import main_menu
from handlers.conversation.messages import Button, Reply
from handlers.conversation.places import COUNTIES
from handlers.conversation.turn import Turn
from handlers.outreach.rules import SUBSCRIBE_PREFIX as PREFIX
from handlers.outreach.rules import TOPICS


def toggles(turn: Turn, topics: set[str], county: str | None, lead: str | None = None) -> Reply:
    """One button per topic showing whether it is on; pressing it flips the topic and shows this again."""
    place = turn.t(f"county.{county}") if county else turn.t("subscribe.county_all")
    parts = [lead] if lead else []
    parts.append(turn.t("subscribe.title", county=place))
    cells = [
        turn.button(
            "subscribe.on" if topic in topics else "subscribe.off",
            data(PREFIX, "t", topic),
            topic=turn.t(f"topic.{topic}"),
        )
        for topic in TOPICS
    ]
    rows = [tuple(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    rows.append((turn.button("subscribe.choose_county", data(PREFIX, "county")),))
    last = [turn.button("subscribe.done", data(PREFIX, "done"))]
    if topics:
        last.insert(0, turn.button("subscribe.stop_all", data(PREFIX, "stop")))
    rows.append(tuple(last))
    return Reply(text="\n\n".join(parts), buttons=tuple(rows))


async def show(turn: Turn, lead: str | None = None) -> None:
    uow, person = turn.uow, turn.person.id
    turn.reply(
        toggles(turn, await uow.subscriptions.topics_of(person), await uow.subscriptions.county_of(person), lead)
    )


async def toggle(turn: Turn, topic: str) -> None:
    if topic not in TOPICS:
        await show(turn, lead=turn.t("input.stale_button"))
        return
    name = turn.t(f"topic.{topic}")
    if await turn.uow.subscriptions.remove(turn.person.id, topic):
        await show(turn, lead=turn.t("subscribe.removed", topic=name))
        return
    await turn.uow.subscriptions.add(turn.person.id, topic, turn.now)
    await show(turn, lead=turn.t("subscribe.added", topic=name))


async def unsubscribe(turn: Turn, topic: str) -> None:
    """The button under every broadcast: one tap and that topic stops, nothing else to confirm."""
    if topic not in TOPICS:
        await show(turn, lead=turn.t("input.stale_button"))
        return
    await turn.uow.subscriptions.remove(turn.person.id, topic)
    turn.reply(
        Reply(
            text=turn.t("subscribe.unsubscribed", topic=turn.t(f"topic.{topic}")),
            buttons=((turn.button("subscribe.manage", data(PREFIX, "show")), turn.button("guide.menu", "guide:menu")),),
        )
    )


async def stop_all(turn: Turn, args: str = "") -> None:
    await turn.uow.subscriptions.remove(turn.person.id)
    turn.reply(main_menu(turn, lead=turn.t("subscribe.stopped")))


def county_menu(turn: Turn) -> Reply:
    cells = [Button(turn.t(f"county.{code}"), data(PREFIX, "c", code)) for code in COUNTIES]
    rows = [tuple(cells[i : i + 3]) for i in range(0, len(cells), 3)]
    rows.append((turn.button("subscribe.county_all", "sub:c:all"),))
    return Reply(text=turn.t("subscribe.county_question"), buttons=tuple(rows))


async def set_county(turn: Turn, code: str) -> None:
    if code != "all" and code not in COUNTIES:
        turn.reply(county_menu(turn))
        return
    await turn.uow.subscriptions.set_county(turn.person.id, None if code == "all" else code, turn.now)
    await show(turn, lead=turn.t("subscribe.county_set"))


async def on_button(turn: Turn, pressed: Data) -> None:
    """Buttons `sub:show|t:<topic>|off:<topic>|county|c:<county>|stop|done`."""
    kind, value = pressed.part(0), pressed.rest(1)
    if kind == "t":
        await toggle(turn, value)
    elif kind == "off":
        await unsubscribe(turn, value)
    elif kind == "county":
        turn.reply(county_menu(turn))
    elif kind == "c":
        await set_county(turn, value)
    elif kind == "stop":
        await stop_all(turn)
    elif kind == "done":
        topics = await turn.uow.subscriptions.topics_of(turn.person.id)
        turn.reply(main_menu(turn, lead=turn.t("subscribe.saved" if topics else "subscribe.none")))
    else:
        await show(turn)


async def command(turn: Turn, args: str) -> None:
    await show(turn)

"""The main menu: every interview the desk offers from its menu, then the guide, subscriptions, tickets, language
and help. Every capability returns here, so it lives below them all."""

from __future__ import annotations

from handlers.conversation import engine
from handlers.conversation.interview import Interview
from handlers.conversation.messages import Button, Reply
from handlers.conversation.turn import Turn


def main_menu(turn: Turn, lead: str | None = None) -> Reply:
    rows: list[tuple[Button, ...]] = []
    if engine.current(turn) is not None:
        rows.append((turn.button("menu.continue", "menu:continue"),))
    offered = [i for i in turn.interviews.values() if isinstance(i, Interview) and i.in_menu]
    cells = [turn.button(i.title, f"menu:{i.name}") for i in offered]
    rows.extend(tuple(cells[i : i + 2]) for i in range(0, len(cells), 2))
    rows.append((turn.button("menu.guide", "guide:home"), turn.button("menu.subscribe", "sub:show")))
    rows.append((turn.button("menu.status", "menu:status"), turn.button("menu.lang", "menu:lang")))
    rows.append((turn.button("menu.help", "help:show"),))
    text = turn.t("menu.title")
    return Reply(text=f"{lead}\n\n{text}" if lead else text, buttons=tuple(rows))

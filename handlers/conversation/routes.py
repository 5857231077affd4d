"""What a capability answers, said once: its commands (with the policy action each needs), the button prefixes it
owns, the free text it may take before an interview does, and the interviews it runs. handlers/router.py includes
them in order, like aiogram's include_router; the same command list feeds /help and the channels' command menus."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from handlers.conversation.buttons import Data
from handlers.conversation.interview import Interview
from handlers.conversation.turn import Turn
from handlers.tickets.policy import Action

CommandRun = Callable[[Turn, str], Awaitable[None]]
ButtonRun = Callable[[Turn, Data], Awaitable[None]]
TextHook = Callable[[Turn], Awaitable[bool]]  # True: the text was taken


@dataclass(frozen=True)
class Command:
    """`/name args`. `action` is the policy action a staff command needs (None: anyone may send it); `listed`
    commands appear in /help and the channels' menus, described by the catalog entry `command.<name>`."""

    name: str
    run: CommandRun
    action: Action | None = None
    listed: bool = True

    @property
    def text(self) -> str:
        return f"/{self.name}"


@dataclass(frozen=True)
class Routes:
    commands: tuple[Command, ...] = ()
    buttons: Mapping[str, ButtonRun] = field(default_factory=dict)
    text: tuple[TextHook, ...] = ()  # tried on free text before the interview in progress gets it
    fallback: tuple[TextHook, ...] = ()  # tried on free text outside any interview, before the menu
    interviews: tuple[Interview, ...] = ()

"""What outreach answers: the service guide (its command, buttons, and free text that reads like a search), opting
in and out of legal-awareness broadcasts, and admins composing, approving and following broadcasts."""

from __future__ import annotations

from typing import Final

from handlers.conversation.routes import Command, Routes
from handlers.outreach import broadcasts, guide, subscriptions
from handlers.outreach.compose import COMPOSE
from handlers.tickets.policy import Action

ROUTES: Final = Routes(
    commands=(
        Command("guide", guide.command),
        Command("subscribe", subscriptions.command),
        Command("unsubscribe", subscriptions.stop_all),
        Command("broadcast", broadcasts.compose, Action.BROADCAST),
        Command("broadcasts", broadcasts.show_list, Action.BROADCAST),
    ),
    buttons={guide.PREFIX: guide.on_button, "sub": subscriptions.on_button, broadcasts.PREFIX: broadcasts.on_button},
    fallback=(guide.take_text,),
    interviews=(COMPOSE,),
)

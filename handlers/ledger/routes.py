"""What the ledger answers: /ledger, /export and /dashboard for leaders and admins, the `lg:` buttons (a cluster's
tickets, linking them into a joint case, a relief amount), the relief amount form, and what it hears of tickets."""

from __future__ import annotations

from typing import Final

from handlers.conversation.buttons import Data
from handlers.conversation.routes import Command, Routes
from handlers.conversation.turn import Turn
from handlers.ledger import chat, clusters, relief
from handlers.tickets.policy import Action

PREFIX: Final = "lg"


async def on_button(turn: Turn, pressed: Data) -> None:
    if await clusters.on_button(turn, pressed) or await relief.on_button(turn, pressed):
        return
    turn.say("desk.not_found")


ROUTES: Final = Routes(
    commands=(
        Command("ledger", chat.ledger, Action.LEDGER),
        Command("export", chat.export, Action.EXPORT),
        Command("dashboard", chat.dashboard, Action.DASHBOARD),
    ),
    buttons={PREFIX: on_button},
    interviews=(relief.AMOUNT,),
)

# Who in the ledger hears of what happened to a ticket (handlers/router.py SUBSCRIBERS).
ON_TICKET_OPENED: Final = (clusters.on_ticket_opened,)
ON_STATUS_CHANGED: Final = (relief.on_status_changed,)

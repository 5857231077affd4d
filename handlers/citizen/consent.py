"""Consent to the privacy notice (PIPL Art. 13–14, 17): asked before any personal data is collected, and withdrawable
(PIPL Art. 15) — declining, at any time, clears it and the separate consent to sensitive data (Art. 29), and drops
a form in progress with what it had collected."""

from __future__ import annotations

from typing import Final

from handlers.conversation import engine
from handlers.conversation.buttons import data
from handlers.conversation.messages import Reply
from handlers.conversation.turn import Turn

PREFIX: Final = "consent"


def privacy_notice(turn: Turn) -> Reply:
    return Reply(
        text=turn.t("consent.notice"),
        buttons=(
            (
                turn.button("consent.agree", data(PREFIX, "agree")),
                turn.button("consent.decline", data(PREFIX, "decline")),
            ),
        ),
    )


def agree(turn: Turn) -> str | None:
    """Remembered on the person; returns the interview that was waiting for it, if any."""
    turn.person.consent_at = turn.now
    turn.person.consent_declined = False
    pending, turn.state.pending = turn.state.pending, None
    return pending


def decline(turn: Turn) -> bool:
    """Declined, or withdrawn (True when there was consent to withdraw): nothing personal is asked any more."""
    withdrawn = turn.person.consent_at is not None or turn.person.sensitive_consent_at is not None
    turn.person.consent_declined = True
    turn.person.consent_at = None
    turn.person.sensitive_consent_at = None
    turn.state.pending = None
    running = engine.current(turn)
    if running is not None and running.needs_consent:
        engine.leave(turn)
    return withdrawn

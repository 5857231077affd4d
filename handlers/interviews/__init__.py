"""The interviews that open a ticket, in menu order. Adding a ticket kind adds a table here, not engine code."""

from __future__ import annotations

from handlers.conversation.interview import Interview
from handlers.interviews import concern, dispute, relief, service
from handlers.interviews.concern import CONCERN
from handlers.interviews.dispute import DISPUTE
from handlers.interviews.legal_aid import ASSESSMENT, LEGAL_AID
from handlers.interviews.relief import RELIEF
from handlers.interviews.service import SERVICE
from handlers.tickets.legal_aid import MATTERS

INTERVIEWS: dict[str, Interview] = {
    interview.name: interview for interview in (DISPUTE, CONCERN, LEGAL_AID, RELIEF, SERVICE)
}

# Ticket kind → the codes its category takes; each is labelled `<kind>.cat.<code>`, the family officer views use.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "dispute": dispute.CATEGORIES,
    "concern": concern.CATEGORIES,
    "legal_aid": tuple(MATTERS),
    "relief": relief.CATEGORIES,
    "service": service.HELP,
}

# Ticket kind → the answers kept sealed on its tickets (details_sealed): its interviews' sensitive steps and what an
# interview adds that is read from them. Tickets written before sealing are sealed by what this names.
SEALED_ANSWERS: dict[str, frozenset[str]] = {
    kind: frozenset(
        {step.key for i in INTERVIEWS.values() if i.kind == kind for step in i.steps if step.sensitive}
        | ({ASSESSMENT} if kind == LEGAL_AID.kind else set())
    )
    for kind in CATEGORIES
}

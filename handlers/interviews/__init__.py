"""Every interview the desk runs, in menu order. Adding a ticket kind adds a table here, not engine code."""

from __future__ import annotations

from handlers.engine import Interview
from handlers.interviews.dispute import DISPUTE

INTERVIEWS: dict[str, Interview] = {interview.name: interview for interview in (DISPUTE,)}

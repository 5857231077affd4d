"""Steps several interviews end with: the phone number and the time the citizen prefers to be called."""

from __future__ import annotations

from handlers.conversation.inputs import Phone, options_from
from handlers.conversation.interview import Step

CONTACT_TIMES = ("any", "morning", "afternoon", "evening", "weekend")

PHONE = Step("phone", ask="common.phone", expects=Phone(), label="common.phone.label")
CONTACT_TIME = Step(
    "contact_time",
    ask="common.contact_time",
    expects=options_from(CONTACT_TIMES, "common.contact_time", columns=2),
    label="common.contact_time.label",
)

"""Service request (便民服务): a home visit or an accessible service for elderly, disabled, hearing or speech
impaired citizens — what help, where, when."""

from __future__ import annotations

from handlers.conversation.inputs import Address, Text, options_from
from handlers.conversation.interview import Interview, Step
from handlers.conversation.places import COUNTY_CHOICE
from handlers.interviews.contact import PHONE
from handlers.interviews.submit import Opens, submitting

HELP = ("home_visit", "elderly", "disabled", "hearing_speech", "other")
WHEN = ("asap", "weekday_morning", "weekday_afternoon", "weekend")


SERVICE = Interview(
    name="service",
    title="menu.service",
    intro="service.intro",
    kind="service",
    steps=(
        Step("help", ask="service.help", expects=options_from(HELP, "service.cat", columns=1)),
        Step("county", ask="common.county", expects=COUNTY_CHOICE, label="common.county.label"),
        Step("where", ask="service.where", expects=Address()),
        Step("when", ask="service.when", expects=options_from(WHEN, "service.when", columns=2)),
        Step("needs", ask="service.needs", expects=Text(min_len=2, max_len=1000), optional=True),
        PHONE,
    ),
    on_done=submitting(Opens("service", category="help", summary="needs")),
)

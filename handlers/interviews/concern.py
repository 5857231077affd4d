"""Problem or case report (反映问题): fraud, wage arrears, enforcement difficulty, public safety, other.

The category codes are the ones routing rules use (demo/hanzhong.toml). A fraud report first says what to do right
now — call 110 or the 96110 anti-fraud line, ask the bank to stop the payment — before any question about it.
"""

from __future__ import annotations

from handlers.conversation.inputs import Day, Text, options_from
from handlers.conversation.interview import Interview, Step, if_
from handlers.conversation.numbers import Amount, Count
from handlers.conversation.places import COUNTY_CHOICE, COURT_CHOICE
from handlers.interviews.contact import PHONE
from handlers.interviews.submit import Opens, submitting

CATEGORIES = ("fraud", "wages", "enforcement", "public_safety", "other")
PAYMENT_WAYS = ("bank_transfer", "mobile_pay", "bank_card", "cash", "crypto", "other")

FRAUD = if_(category="fraud")
WAGES = if_(category="wages")
ENFORCEMENT = if_(category="enforcement")


CONCERN = Interview(
    name="concern",
    title="menu.concern",
    intro="concern.intro",
    kind="concern",
    steps=(
        Step(
            "category",
            ask="concern.category",
            expects=options_from(CATEGORIES, "concern.cat", columns=1),
            notes=(("fraud", "concern.fraud.now"),),
        ),
        Step("fraud_when", ask="concern.fraud_when", expects=Day(past_only=True), when=FRAUD),
        Step("fraud_amount", ask="concern.fraud_amount", expects=Amount(), when=FRAUD, optional=True, sensitive=True),
        Step("fraud_paid", ask="concern.fraud_paid", expects=options_from(PAYMENT_WAYS, "concern.paid"), when=FRAUD),
        Step(
            "fraud_suspect",
            ask="concern.fraud_suspect",
            expects=Text(min_len=3, max_len=300),
            when=FRAUD,
            optional=True,
        ),
        Step("wages_employer", ask="concern.wages_employer", expects=Text(min_len=2, max_len=200), when=WAGES),
        Step("wages_workers", ask="concern.wages_workers", expects=Count(1, 100_000), when=WAGES),
        Step("wages_amount", ask="concern.wages_amount", expects=Amount(), when=WAGES),
        Step("wages_since", ask="concern.wages_since", expects=Day(past_only=True), when=WAGES),
        Step("case_number", ask="concern.case_number", expects=Text(min_len=4, max_len=64), when=ENFORCEMENT),
        Step("court", ask="concern.court", expects=COURT_CHOICE, when=ENFORCEMENT),
        Step("county", ask="common.county", expects=COUNTY_CHOICE, label="common.county.label"),
        Step("description", ask="concern.description", expects=Text(min_len=10, max_len=2000)),
        PHONE,
    ),
    on_done=submitting(Opens("concern")),
)

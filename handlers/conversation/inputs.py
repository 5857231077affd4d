"""What a step expects, how it reads an Incoming, and what it says when the input is wrong."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import phonenumbers

from handlers.conversation.dates import DAY, MONTH, YEAR, parse_day, parse_moment, parse_past, past_value, precision_of
from handlers.conversation.messages import Button, Incoming, Request
from handlers.conversation.turn import Turn
from storage.crypto import mask_id_number, mask_phone


@dataclass(frozen=True)
class Accepted:
    value: Any
    note: str | None = None  # a message id said right after the answer is taken (a landline: officers will call)


@dataclass(frozen=True)
class Rejected:
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Partial:
    """Taken, but the step goes on (a photo of several); the message says so."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


Parsed = Accepted | Rejected | Partial


class Expect(Protocol):
    @property
    def request(self) -> Request | None: ...

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed: ...

    def buttons(self, turn: Turn) -> list[list[Button]]: ...

    def show(self, turn: Turn, value: Any) -> str: ...


def typed_text(incoming: Incoming, *, required: bool = True) -> str | Rejected:
    """The typed text, stripped; media or a button where text is expected, or (when required) nothing, is refused."""
    if incoming.attachments or incoming.location or incoming.contact:
        return Rejected("input.text_expected")
    if incoming.choice is not None:
        return Rejected("input.stale_button")
    text = (incoming.text or "").strip()
    if required and not text:
        return Rejected("input.blank")
    return text


def has_meaning(text: str) -> bool:
    """At least one letter, digit or Chinese character — not only emoji, symbols or spaces."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


@dataclass(frozen=True)
class Option:
    value: str
    label: str  # message id


@dataclass(frozen=True)
class Choice:
    options: tuple[Option, ...]
    columns: int = 2
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        values = [o.value for o in self.options]
        if incoming.choice is not None:
            return Accepted(incoming.choice) if incoming.choice in values else Rejected("input.stale_button")
        if incoming.text is not None:
            typed = incoming.text.strip()
            if typed.isdigit() and 1 <= int(typed) <= len(values):
                return Accepted(values[int(typed) - 1])
            for option in self.options:
                if typed.casefold() == turn.t(option.label).casefold():
                    return Accepted(option.value)
        # "or type its number" shows the numbers: a page with buttons has none written on them.
        numbered = " · ".join(f"{i} {turn.t(o.label)}" for i, o in enumerate(self.options, start=1))
        return Rejected("input.choose_number", {"options": numbered})

    def buttons(self, turn: Turn) -> list[list[Button]]:
        cells = [Button(turn.t(o.label), o.value) for o in self.options]
        return [cells[i : i + self.columns] for i in range(0, len(cells), self.columns)]

    def show(self, turn: Turn, value: Any) -> str:
        for option in self.options:
            if option.value == value:
                return turn.t(option.label)
        return str(value)


@dataclass(frozen=True)
class Text:
    min_len: int = 1
    max_len: int = 2000
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = typed_text(incoming)
        if isinstance(text, Rejected):
            return text
        if len(text) > self.max_len:
            return Rejected("input.too_long", {"max": self.max_len, "got": len(text)})
        if not has_meaning(text):
            return Rejected("input.no_words")
        if len(text) < self.min_len:
            return Rejected("input.too_short", {"min": self.min_len})
        return Accepted(text)

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        text = str(value)
        return text if len(text) <= 200 else text[:200] + "…"


def normalise_mobile(raw: str) -> str | None:
    """A mainland China mobile number as 11 digits, from '138 0013 8000', '+86 138-0013-8000' and the like."""
    cleaned = re.sub(r"[\s\-()（）]", "", raw)
    if not re.fullmatch(r"(\+|00)?\d{6,16}", cleaned):
        return None
    try:
        number = phonenumbers.parse(cleaned.replace("00", "+", 1) if cleaned.startswith("00") else cleaned, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None
    national = str(number.national_number)
    return national if len(national) == 11 and national.startswith("1") else None


def is_landline(raw: str) -> bool:
    """A mainland fixed line ("0916-2626110", "09162626110"): an officer can call it, an SMS cannot reach it."""
    cleaned = re.sub(r"[\s\-()（）]", "", raw)
    try:
        number = phonenumbers.parse(cleaned, "CN")
    except phonenumbers.NumberParseException:
        return False
    return (
        number.country_code == 86
        and phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
    )


@dataclass(frozen=True)
class Phone:
    request: Request | None = "contact"

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        if incoming.contact is not None:
            if not incoming.contact.own:
                return Rejected("input.phone_not_own")
            raw = incoming.contact.phone
        elif incoming.text is not None:
            raw = incoming.text
        else:
            return Rejected("input.phone_expected")
        phone = normalise_mobile(raw)
        if phone:
            return Accepted(phone)
        if is_landline(raw):  # taken, with a word that officers will call it (no text message reaches a landline)
            national = phonenumbers.parse(re.sub(r"[\s\-()（）]", "", raw), "CN").national_number
            return Accepted(f"0{national}", note="input.phone_landline")
        return Rejected("input.phone_invalid")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return mask_phone(str(value))


@dataclass(frozen=True)
class YesNo:
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        return Choice((Option("yes", "common.yes"), Option("no", "common.no"))).parse(turn, incoming)

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return [[Button(turn.t("common.yes"), "yes"), Button(turn.t("common.no"), "no")]]

    def show(self, turn: Turn, value: Any) -> str:
        return turn.t("common.yes" if value == "yes" else "common.no")


@dataclass(frozen=True)
class Day:
    """A calendar date; `past_only` refuses a date after today (for 'when did it happen')."""

    past_only: bool = True
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        today = turn.local(turn.now).date()
        if incoming.choice in ("today", "yesterday"):
            return Accepted((today - timedelta(days=incoming.choice == "yesterday")).isoformat())
        text = typed_text(incoming, required=False)
        if isinstance(text, Rejected):
            return text
        found = parse_past(text, today) if self.past_only else None
        parsed, precision = found if found is not None else (parse_day(text), DAY)
        if parsed is None:
            return Rejected("input.date_invalid")
        if self.past_only and parsed > today:
            return Rejected("input.date_future")
        if parsed.year < 1950:
            return Rejected("input.date_invalid")
        return Accepted(past_value(parsed, precision))  # "2026-03" keeps that only the month was said

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return [[Button(turn.t("input.today"), "today"), Button(turn.t("input.yesterday"), "yesterday")]]

    def show(self, turn: Turn, value: Any) -> str:
        """ "2026-03-05"; "about March 2026" when only the month was said; "some time in 2025" for a year."""
        text = str(value)
        precision = precision_of(text)
        if precision == MONTH:
            month = int(text[5:7])
            named = str(month) if turn.locale == "zh_CN" else date(2000, month, 1).strftime("%B")
            return turn.t("input.date_month", year=text[:4], month=named)
        if precision == YEAR:
            return turn.t("input.date_year", year=text[:4])
        return text


@dataclass(frozen=True)
class Media:
    """Photos, voice notes or documents, gathered until the citizen presses Done."""

    max_items: int = 5
    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        gathered: list[dict[str, Any]] = turn.state.extra.setdefault("media", [])
        if incoming.choice == "done":
            turn.state.extra.pop("media", None)
            return Accepted(gathered) if gathered else Rejected("input.media_expected")
        if incoming.attachments:
            room = self.max_items - len(gathered)
            if room <= 0:
                return Rejected("input.media_full", {"max": self.max_items})
            # The channel it came in on: a file id means something only there (an officer may open it later).
            gathered.extend({**a.to_dict(), "channel": incoming.channel} for a in incoming.attachments[:room])
            return Partial("input.media_received", {"count": len(gathered), "max": self.max_items})
        return Rejected("input.media_expected")

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return [[Button(turn.t("input.done"), "done")]]

    def show(self, turn: Turn, value: Any) -> str:
        return turn.t("input.media_count", count=len(value or []))


def choice(*pairs: tuple[str, str], columns: int = 2) -> Choice:
    return Choice(tuple(Option(v, label) for v, label in pairs), columns=columns)


def options_from(values: Sequence[str], prefix: str, columns: int = 2) -> Choice:
    """Options whose labels are message ids `prefix.value`."""
    return Choice(tuple(Option(v, f"{prefix}.{v}") for v in values), columns=columns)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_problem(number: str, today: date) -> str | None:
    """Why an 18-character citizen ID number fails GB 11643-1999 (length, form, birth date, check digit)."""
    if len(number) != 18:
        return "input.id_length"
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", number):
        return "input.id_invalid"
    try:
        born = datetime.strptime(number[6:14], "%Y%m%d").date()
    except ValueError:
        return "input.id_invalid"
    if born > today or born.year < 1900:
        return "input.id_invalid"
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return None if _ID_CHECK[total % 11] == number[17] else "input.id_checksum"


@dataclass(frozen=True)
class IdNumber:
    """A resident identity card number, checked by the GB 11643-1999 check digit; sealed at rest, shown masked."""

    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        typed = typed_text(incoming)
        if isinstance(typed, Rejected):
            return typed
        number = re.sub(r"\s", "", typed).upper()
        problem = id_number_problem(number, turn.local(turn.now).date())
        return Rejected(problem) if problem else Accepted(number)

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return mask_id_number(str(value))


@dataclass(frozen=True)
class Address:
    """Where: a typed address or a shared location."""

    max_len: int = 300
    request: Request | None = "location"

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        if incoming.location is not None:
            return Accepted({"lat": incoming.location.latitude, "lon": incoming.location.longitude})
        return Text(min_len=2, max_len=self.max_len).parse(turn, incoming)

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        if isinstance(value, dict):
            return turn.t("input.location_show", lat=f"{value['lat']:.5f}", lon=f"{value['lon']:.5f}")
        return str(value)


@dataclass(frozen=True)
class Moment:
    """A date and time ahead, within a year (a mediation session): '2026-12-03 09:30', '12月3日 下午3点', '12-03'."""

    request: Request | None = None

    def parse(self, turn: Turn, incoming: Incoming) -> Parsed:
        text = typed_text(incoming)
        if isinstance(text, Rejected):
            return Rejected("desk.when_invalid")
        local_now = turn.local(turn.now)
        moment = parse_moment(text, local_now)
        if moment is None:
            return Rejected("desk.when_invalid")
        if moment <= local_now or moment > local_now + timedelta(days=366):
            return Rejected("desk.when_past")
        return Accepted(moment.strftime("%Y-%m-%d %H:%M"))

    def buttons(self, turn: Turn) -> list[list[Button]]:
        return []

    def show(self, turn: Turn, value: Any) -> str:
        return str(value)

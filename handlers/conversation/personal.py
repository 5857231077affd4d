"""Numbers that identify a person, found in free text and masked: mobile and fixed-line phone numbers (the
`phonenumbers` library's matcher, mainland numbering), 18-character resident ID numbers (GB 11643-1999 check digit)
and bank card numbers (the Luhn check). What a citizen writes in a description, a message or a comment is stored
with these masked (139****5678); the original is kept sealed beside it, for the officer in charge to reveal
(PIPL Art. 28, 51: sensitive personal information protected by encryption and de-identification)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

import phonenumbers

from handlers.conversation.inputs import id_number_problem
from storage.crypto import mask_id_number, mask_phone

_ANY_DAY: Final = date(9999, 12, 31)  # an ID's birth date is checked for being a date, not against today
# Digits in groups of 3 to 8 (the way card and ID numbers are written), 15 to 23 digits in all.
_LONG_NUMBER: Final = re.compile(r"(?<![\dA-Za-z])\d(?:[ \-]?\d){14,22}(?:[ \-]?[Xx])?(?![\dA-Za-z])")
_ID: Final = re.compile(r"(?<![\dA-Za-z])[1-9]\d{5}(?:[ \-]?\d){11}[ \-]?[\dXx](?![\dA-Za-z])")


@dataclass(frozen=True)
class Masked:
    text: str  # what may be stored and shown: every number found masked
    kinds: tuple[str, ...]  # what was found, in order: "phone", "id_number", "bank_card"

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def mask_card(digits: str) -> str:
    """6222 **** **** 0128 → 6222***********0128: the bank's prefix and the last four, as a statement shows it."""
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _id_number(raw: str) -> str | None:
    number = re.sub(r"[ \-]", "", raw).upper()
    return number if id_number_problem(number, _ANY_DAY) is None else None


def _card(raw: str) -> str | None:
    digits = re.sub(r"[ \-]", "", raw)
    return digits if digits.isdigit() and 16 <= len(digits) <= 19 and luhn(digits) else None


def _phone_mask(number: phonenumbers.PhoneNumber) -> str:
    national = str(number.national_number)
    if len(national) == 11 and national.startswith("1"):
        return mask_phone(national)
    landline = "0" + national  # 0916 2345678 → 0916****678
    return landline[:4] + "*" * (len(landline) - 7) + landline[-3:]


def mask_numbers(text: str) -> Masked:
    """`text` with every phone, ID and card number in it masked, and what kinds were found."""
    found: list[tuple[int, int, str, str]] = []  # start, end, kind, mask
    for match in _ID.finditer(text):
        number = _id_number(match.group())
        if number is not None:
            found.append((match.start(), match.end(), "id_number", mask_id_number(number)))
    for match in _LONG_NUMBER.finditer(text):
        digits = _card(match.group())
        if digits is not None and not _overlaps(found, match.start(), match.end()):
            found.append((match.start(), match.end(), "bank_card", mask_card(digits)))
    for phone in phonenumbers.PhoneNumberMatcher(text, "CN", leniency=phonenumbers.Leniency.VALID):
        if phone.number.country_code == 86 and not _overlaps(found, phone.start, phone.end):
            found.append((phone.start, phone.end, "phone", _phone_mask(phone.number)))
    if not found:
        return Masked(text, ())
    found.sort()
    parts, at = [], 0
    for start, end, _, mask in found:
        parts.append(text[at:start] + mask)
        at = end
    parts.append(text[at:])
    return Masked("".join(parts), tuple(kind for _, _, kind, _ in found))


def _overlaps(found: list[tuple[int, int, str, str]], start: int, end: int) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end, _, _ in found)


def conceal(text: str) -> tuple[str, str | None]:
    """(what to store, the original to keep sealed beside it — None when there was nothing to mask)."""
    masked = mask_numbers(text)
    return (masked.text, text) if masked.changed else (text, None)

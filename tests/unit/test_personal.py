"""Numbers that identify a person are found in free text and masked (issue #16): phones by the `phonenumbers`
matcher, ID numbers by their check digit, bank cards by Luhn — and what merely looks like them is left alone."""

from __future__ import annotations

import pytest

from handlers.conversation.personal import conceal, luhn, mask_numbers

ID_NUMBER = "11010519491231002X"  # GB 11643-1999's example: its check digit holds
CARD = "6222021234567890128"


def test_the_card_and_id_used_here_pass_their_checks() -> None:
    assert luhn(CARD) and not luhn(CARD[:-1] + "5")


@pytest.mark.parametrize(
    ("text", "stored", "kinds"),
    [
        ("电话13912345678联系我", "电话139****5678联系我", ("phone",)),
        ("打 +86 139-1234-5678 或座机 0916-2345678", "打 139****5678 或座机 0916****678", ("phone", "phone")),
        (f"身份证{ID_NUMBER}号", "身份证1101**********002X号", ("id_number",)),
        ("身份证 110105 19491231 002x", "身份证 1101**********002X", ("id_number",)),
        (f"钱转到卡号{CARD}了", "钱转到卡号6222***********0128了", ("bank_card",)),
        ("卡号 6222 0212 3456 7890 128，手机 13912345678", "卡号 6222***********0128，手机 139****5678",
         ("bank_card", "phone")),
    ],
)  # fmt: skip
def test_numbers_in_free_text_are_masked(text: str, stored: str, kinds: tuple[str, ...]) -> None:
    found = mask_numbers(text)
    assert (found.text, found.kinds) == (stored, kinds)
    assert conceal(text) == (stored, text)


@pytest.mark.parametrize(
    "text",
    [
        "损失35871.46元，案号(2024)陕0702执1234号",
        "11010519491231002",  # an ID number with a digit missing
        "110105194912310021",  # an ID number with a wrong check digit
        "6222021234567890125",  # a card number failing Luhn (its check digit is 8)
        "对方QQ 123456789，收款卡 6222 0000 1111",
        "2026-11-20 下午三点",
    ],
)
def test_what_only_looks_like_a_number_of_a_person_is_left_alone(text: str) -> None:
    assert conceal(text) == (text, None)

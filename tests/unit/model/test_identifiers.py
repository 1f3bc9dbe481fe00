"""Identifier checks against real numbers and real mistakes."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from ctop_node.model.identifiers import (
    check_container_number,
    check_country,
    check_currency,
    check_hs_code,
    check_wagon_number,
    iso6346_check_digit,
    wagon_check_digit,
)

# Published ISO 6346 examples and numbers seen on real boxes.
VALID_CONTAINERS = ["CSQU3054383", "MSKU1234565", "ZEPU0037255"]


@pytest.mark.parametrize("number", VALID_CONTAINERS)
def test_valid_container_numbers(number: str) -> None:
    assert check_container_number(number) == number


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("CSQU3054384", "record.container.check_digit"),  # one digit off
        ("CSQU3054833", "record.container.check_digit"),  # transposed digits
        ("CSQX3054383", "record.container.format"),  # category must be U, J, Z or R
        ("CSQU305438", "record.container.format"),  # too short
        ("csqu3054383", "record.container.format"),  # lower case
    ],
)
def test_invalid_container_numbers(number: str, code: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        check_container_number(number)
    assert info.value.type == code
    assert number in info.value.message()


def test_iso6346_letter_values_skip_multiples_of_eleven() -> None:
    # A=10, B=12 (11 skipped), K=21, L=23 (22 skipped), U=32, V=34 (33 skipped)
    assert iso6346_check_digit("CSQU305438") == 3
    # Check digit 10 is written as 0 (mod 11 then mod 10).
    digits = {iso6346_check_digit(f"ABCU{n:06d}") for n in range(200)}
    assert digits <= set(range(10))


@pytest.mark.parametrize("first7", ["5200051", "6209478", "9412345", "2486317"])
def test_wagon_check_digit_round_trip(first7: str) -> None:
    number = first7 + str(wagon_check_digit(first7))
    assert check_wagon_number(number, "1520") == number
    wrong = first7 + str((int(number[7]) + 1) % 10)
    with pytest.raises(PydanticCustomError) as info:
        check_wagon_number(wrong, "1520")
    assert info.value.type == "record.wagon.check_digit"


def test_wagon_check_digit_known_value() -> None:
    # 2,1,2,1,2,1,2 weights with digit sums: 5*2=10->1, 2, 0, 0, 0, 5, 1*2=2 => 10 -> 0
    assert wagon_check_digit("5200051") == 0


def test_wagon_1520_needs_eight_digits_and_1435_accepts_pattern() -> None:
    with pytest.raises(PydanticCustomError) as info:
        check_wagon_number("5200051", "1520")
    assert info.value.type == "record.wagon.format"
    assert check_wagon_number("5213847", "1435") == "5213847"
    with pytest.raises(PydanticCustomError):
        check_wagon_number("52-13", "1435")


@pytest.mark.parametrize("code", ["100199", "87089999", "8471300000", "010121"])
def test_valid_hs_codes(code: str) -> None:
    assert check_hs_code(code) == code


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("10019", "record.goods.hs_code"),
        ("1001999", "record.goods.hs_code"),
        ("10019999999", "record.goods.hs_code"),
        ("770100", "record.goods.hs_chapter"),  # chapter 77 is reserved
        ("000000", "record.goods.hs_chapter"),
        ("990100", "record.goods.hs_chapter"),
        ("1001AB", "record.goods.hs_code"),
    ],
)
def test_invalid_hs_codes(code: str, error: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        check_hs_code(code)
    assert info.value.type == error


def test_countries_and_currencies() -> None:
    for c in ("KZ", "CN", "RU", "BY", "PL", "DE", "UZ"):
        assert check_country(c) == c
    for cur in ("USD", "CNY", "KZT", "EUR", "RUB"):
        assert check_currency(cur) == cur
    for bad in ("XX", "SU", "kz", "KAZ"):
        with pytest.raises(PydanticCustomError):
            check_country(bad)
    for bad in ("USX", "usd", "RUR"):
        with pytest.raises(PydanticCustomError):
            check_currency(bad)

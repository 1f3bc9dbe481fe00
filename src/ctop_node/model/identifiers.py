"""Checks of real identifier formats: ISO 6346, 1520 mm wagon numbers, HS, ISO 3166, ISO 4217.

Each check returns nothing and raises ``ValueError`` subclasses carrying a stable code, so the
pydantic model can turn them into field errors with the right JSON path.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry
from pydantic_core import PydanticCustomError

_ISO6346 = re.compile(r"^[A-Z]{3}[UJZR]\d{7}$")
# ISO 6346 letter values skip multiples of 11 (A=10, B=12 ... K=21, L=23 ...).
_LETTER_VALUES: dict[str, int] = {}
_v = 10
for _ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _v % 11 == 0:
        _v += 1
    _LETTER_VALUES[_ch] = _v
    _v += 1

_WAGON_1520 = re.compile(r"^\d{8}$")
_WAGON_OTHER = re.compile(r"^[0-9A-Z]{5,12}$")
_HS = re.compile(r"^\d{6}(\d{2}){0,2}$")


def iso6346_check_digit(owner_serial: str) -> int:
    """Check digit of the first 10 characters of a container number (owner+category+serial)."""
    total = 0
    for i, ch in enumerate(owner_serial):
        value = _LETTER_VALUES[ch] if ch.isalpha() else int(ch)
        total += value << i
    return total % 11 % 10


def check_container_number(number: str) -> str:
    if not _ISO6346.match(number):
        raise PydanticCustomError(
            "record.container.format",
            "container number '{number}' is not ISO 6346 (3 letters owner, U/J/Z/R, 7 digits)",
            {"number": number},
        )
    expected = iso6346_check_digit(number[:10])
    if int(number[10]) != expected:
        raise PydanticCustomError(
            "record.container.check_digit",
            "container number '{number}' has check digit {got}, ISO 6346 gives {expected}",
            {"number": number, "got": number[10], "expected": expected},
        )
    return number


def wagon_check_digit(first7: str) -> int:
    """Check digit of a 1520 mm network wagon number (weights 2,1,2,1,2,1,2; digit sums)."""
    total = 0
    for i, ch in enumerate(first7):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def check_wagon_number(number: str, gauge: str) -> str:
    if gauge == "1520":
        if not _WAGON_1520.match(number):
            raise PydanticCustomError(
                "record.wagon.format",
                "wagon number '{number}' of the 1520 mm network must have 8 digits",
                {"number": number},
            )
        expected = wagon_check_digit(number[:7])
        if int(number[7]) != expected:
            raise PydanticCustomError(
                "record.wagon.check_digit",
                "wagon number '{number}' has check digit {got}, the 1520 mm rule gives {expected}",
                {"number": number, "got": number[7], "expected": expected},
            )
    elif not _WAGON_OTHER.match(number):
        # Chinese (1435 mm) wagon numbers have no public check-digit algorithm: pattern only.
        raise PydanticCustomError(
            "record.wagon.format",
            "wagon number '{number}' must be 5 to 12 digits or capital letters",
            {"number": number},
        )
    return number


def check_hs_code(code: str) -> str:
    if not _HS.match(code):
        raise PydanticCustomError(
            "record.goods.hs_code",
            "HS code '{code}' must be 6, 8 or 10 digits",
            {"code": code},
        )
    chapter = int(code[:2])
    if chapter == 0 or chapter == 77 or chapter > 97:
        raise PydanticCustomError(
            "record.goods.hs_chapter",
            "HS code '{code}' names chapter {chapter:02d}, which does not exist",
            {"code": code, "chapter": chapter},
        )
    return code


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def check_country(code: str) -> str:
    if code not in _countries():
        raise PydanticCustomError(
            "record.code_list.country",
            "'{code}' is not an ISO 3166-1 alpha-2 country code",
            {"code": code},
        )
    return code


def check_currency(code: str) -> str:
    if code not in _currencies():
        raise PydanticCustomError(
            "record.code_list.currency",
            "'{code}' is not an ISO 4217 currency code",
            {"code": code},
        )
    return code

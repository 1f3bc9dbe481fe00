"""Identifiers with correct check digits: containers, wagons, KZ BIN, Chinese USCC."""

from __future__ import annotations

import random
import zlib
from functools import lru_cache

from ctop_node.model.identifiers import iso6346_check_digit, wagon_check_digit

# 1520 mm flat wagons: private/leased fitting platforms (5...) and others (9..., 4...).
_WAGON_1520_PREFIXES = ("52", "54", "59", "94", "95", "42")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code


def container_number(rng: random.Random, owner: str) -> str:
    head = f"{owner}{rng.randrange(1_000_000):06d}"
    return f"{head}{iso6346_check_digit(head)}"


def wagon_1520(rng: random.Random) -> str:
    first7 = rng.choice(_WAGON_1520_PREFIXES) + f"{rng.randrange(100_000):05d}"
    return f"{first7}{wagon_check_digit(first7)}"


def wagon_1435(rng: random.Random) -> str:
    """Chinese flat wagons (X70, X2K ...): 7 digits, no public check digit."""
    return f"5{rng.randrange(1_000_000):06d}"


def _bin_check(first11: str) -> int | None:
    digits = [int(c) for c in first11]
    s = sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11
    if s == 10:
        s = sum(d * w for d, w in zip(digits, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True))
        s %= 11
    return None if s == 10 else s


def kz_bin(rng: random.Random) -> str:
    """A Kazakh business identification number: YYMM, entity type, branch flag, serial, check."""
    while True:
        head = f"{rng.randint(0, 22):02d}{rng.randint(1, 12):02d}40{rng.randrange(100_000):05d}"
        check = _bin_check(head)
        if check is not None:
            return f"{head}{check}"


def _org_code(rng: random.Random) -> str:
    body = "MA" + "".join(rng.choice(_USCC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(6))
    total = sum(_char_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _char_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - 55


def cn_uscc(rng: random.Random, division: str) -> str:
    """A Chinese unified social credit code (18 characters, GB 32100-2015 check character)."""
    head = "91" + division + _org_code(rng)
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(head, _USCC_WEIGHTS, strict=True))
    return head + _USCC_CHARS[(31 - total % 31) % 31]


@lru_cache(maxsize=256)
def company_id(name: str, country: str, division: str = "") -> str:
    """The same company always has the same id, whatever the seed."""
    rng = random.Random(zlib.crc32(name.encode("utf-8")))
    return kz_bin(rng) if country == "KZ" else cn_uscc(rng, division or "110000")

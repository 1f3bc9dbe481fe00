"""Deliberate, realistic mistakes for invalid sample records: one per record.

Each fault edits a valid record dict in place and returns the error code the technical
conditions must report for it, so tests (and demos) know what to expect.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

Record = dict[str, Any]


def _mistype_container(rec: Record, rng: random.Random) -> str:
    # A typo in the check digit, copied everywhere the number appears.
    old = rec["containers"][0]["number"]
    new = f"{old[:10]}{(int(old[10]) + rng.randint(1, 9)) % 10}"
    rec["containers"][0]["number"] = new
    for item in rec["goods"]:
        item["container_number"] = new
    return "record.container.check_digit"


def _mistype_wagon(rec: Record, rng: random.Random) -> str:
    wagon = rec["wagons"][0]
    old = wagon["number"]
    if wagon["gauge"] == "1520":
        new = f"{old[:7]}{(int(old[7]) + rng.randint(1, 9)) % 10}"
        code = "record.wagon.check_digit"
    else:
        new = f"X70-{old}"  # the wagon type written into the number
        code = "record.wagon.format"
    wagon["number"] = new
    for c in rec["containers"]:
        if c["wagon_number"] == old:
            c["wagon_number"] = new
    return code


def _truncate_hs(rec: Record, rng: random.Random) -> str:
    item = rng.choice(rec["goods"])
    item["hs_code"] = item["hs_code"][:5]
    return "record.goods.hs_code"


def _bad_currency(rec: Record, rng: random.Random) -> str:
    for item in rec["goods"]:
        item["currency"] = "USX"
    return "record.code_list.currency"


def _net_above_gross(rec: Record, rng: random.Random) -> str:
    # Net and gross entered in each other's field.
    item = rng.choice(rec["goods"])
    gross = Decimal(item["gross_mass_kg"])
    net = Decimal(item["net_mass_kg"])
    if net < gross:
        item["gross_mass_kg"], item["net_mass_kg"] = str(net), str(gross)
    else:  # unpacked goods (net = gross): the net mass overstated instead
        item["net_mass_kg"] = str(gross + Decimal("12.500"))
    return "record.goods.net_above_gross"


def _missing_field(rec: Record, rng: random.Random) -> str:
    where = rng.randrange(3)
    if where == 0:
        del rng.choice(rec["goods"])["description"]
    elif where == 1:
        del rec["declaration"]["customs_office"]
    else:
        del rec["transport_document"]
    return "record.missing"


def _container_mass_without_tare(rec: Record, rng: random.Random) -> str:
    # The container's gross entered as the goods' net mass: below the goods' gross.
    container = rec["containers"][0]
    gross = sum(Decimal(g["gross_mass_kg"]) for g in rec["goods"])
    net = sum(Decimal(g["net_mass_kg"]) for g in rec["goods"])
    container["gross_mass_kg"] = str(net if net < gross else gross - Decimal("100.000"))
    return "record.container.mass"


def _alpha3_country(rec: Record, rng: random.Random) -> str:
    party = rec["consignee"]
    party["country"] = {"KZ": "KAZ", "CN": "CHN", "DE": "DEU", "PL": "POL"}.get(
        party["country"], party["country"] + "X"
    )
    return "record.code_list.country"


def _local_time_without_offset(rec: Record, rng: random.Random) -> str:
    at = rec["train"]["planned_crossing_at"]
    rec["train"]["planned_crossing_at"] = at[:19]
    return "record.datetime.offset"


FAULTS: tuple[Callable[[Record, random.Random], str], ...] = (
    _mistype_container,
    _mistype_wagon,
    _truncate_hs,
    _bad_currency,
    _net_above_gross,
    _missing_field,
    _container_mass_without_tare,
    _alpha3_country,
    _local_time_without_offset,
)

FAULT_CODES: frozenset[str] = frozenset(
    {
        "record.container.check_digit",
        "record.wagon.check_digit",
        "record.wagon.format",
        "record.goods.hs_code",
        "record.code_list.currency",
        "record.goods.net_above_gross",
        "record.missing",
        "record.container.mass",
        "record.code_list.country",
        "record.datetime.offset",
    }
)


def inject(rec: Record, rng: random.Random) -> str:
    """Break ``rec`` in one realistic way chosen by ``rng``; return the expected error code."""
    return rng.choice(FAULTS)(rec, rng)

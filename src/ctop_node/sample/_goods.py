"""Goods items of one container: quantities, packages, masses and values that fit together.

Masses are kept in whole grams and values in cents (ints), so no float reaches the record.
"""

from __future__ import annotations

import random
from typing import Any

from ctop_node.sample._reference import MAX_GROSS_KG, USD_RATES, Commodity

# How many goods items a consolidated container carries (1-6), most often one or two.
_ITEM_COUNTS = (1, 2, 3, 4, 5, 6)
_ITEM_WEIGHTS = (30, 25, 18, 12, 9, 6)


def kg(grams: int) -> str:
    return f"{grams // 1000}.{grams % 1000:03d}"


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def pick_commodities(
    rng: random.Random, pool: tuple[Commodity, ...], consolidated: bool, main: Commodity
) -> list[Commodity]:
    """The commodities of one container: several for groupage, one lot (or two) for bulk."""
    if consolidated:
        n = rng.choices(_ITEM_COUNTS, _ITEM_WEIGHTS)[0]
        picked = rng.sample(pool, min(n, len(pool)))
        # Unpacked vehicles travel on their own racks, never mixed with cartons.
        if picked[0].package_type == "NE":
            return picked[:1]
        return [picked[0], *(c for c in picked[1:] if c.package_type != "NE")]
    first = main if rng.random() < 0.75 else rng.choice(pool)
    return [first, first] if rng.random() < 0.15 else [first]


def _item(rng: random.Random, c: Commodity, target_kg: float) -> tuple[int, int, int, int]:
    """(net g, gross g, packages, units of quantity) of one item of about ``target_kg`` gross."""
    if c.units_per_package == 0:  # one bulk liner or flexitank
        packages = 1
        units = max(1, round((target_kg - c.package_kg) * rng.uniform(0.985, 1.0)))
        net_g = units * 1000 if c.unit == "KGM" else round(units * c.unit_kg * 1000)
    else:
        package_gross = c.unit_kg * c.units_per_package + c.package_kg
        packages = max(1, round(target_kg / package_gross))
        units = packages * c.units_per_package
        if c.units_per_package > 1 and rng.random() < 0.5:
            units -= rng.randrange(c.units_per_package)  # last package not full
        net_g = round(units * c.unit_kg * 1000 * rng.uniform(0.97, 1.03))
    tare_g = round(packages * c.package_kg * 1000 * rng.uniform(0.9, 1.1))
    return net_g, net_g + tare_g, packages, units


def goods_items(
    rng: random.Random,
    commodities: list[Commodity],
    container: str,
    payload_kg: float,
    tare_kg: int,
    currency: str,
) -> list[dict[str, Any]]:
    """Items sharing ``payload_kg``; their gross never exceeds what the container may carry."""
    shares = [rng.uniform(0.3, 1.0) for _ in commodities]
    total_share = sum(shares)
    limit_g = (MAX_GROSS_KG - tare_kg) * 1000
    items: list[dict[str, Any]] = []
    used_g = 0
    for c, share in zip(commodities, shares, strict=True):
        net_g, gross_g, packages, units = _item(rng, c, payload_kg * share / total_share)
        if items and used_g + gross_g > limit_g:
            break
        used_g += gross_g
        quantity = kg(net_g) if c.unit == "KGM" else str(units)
        usd = (net_g / 1000 if c.unit == "KGM" else units) * c.usd_per_unit
        cents = round(usd * rng.uniform(0.85, 1.15) * USD_RATES[currency] * 100)
        items.append(
            {
                "container_number": container,
                "hs_code": c.hs,
                "description": c.description,
                "packages": packages,
                "package_type": c.package_type,
                "gross_mass_kg": kg(gross_g),
                "net_mass_kg": kg(net_g),
                "value": money(cents),
                "currency": currency,
                "quantity": quantity,
                "unit": c.unit,
            }
        )
    return items

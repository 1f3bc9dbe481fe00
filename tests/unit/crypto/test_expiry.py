"""Days left of a home's CRLs, certificates and CAs, own and peers', at a moved clock."""

from __future__ import annotations

import datetime as dt

import pytest

from ctop_node.crypto.expiry import first_problem, home_expiry, level_of
from tests._homes import Home


@pytest.mark.parametrize(
    ("days", "level"),
    [(-0.1, "expired"), (0.5, "critical"), (6.9, "warning"), (29, "notice"), (31, "ok")],
)
def test_levels(days: float, level: str) -> None:
    assert level_of(days) == level


def test_home_lists_own_and_peer_material(paired: tuple[Home, Home]) -> None:
    kz, _ = paired
    now = dt.datetime.now(dt.UTC)
    items = home_expiry(kz.home, "KZ", now)
    assert {(e.party, e.item) for e in items} == {
        *(("KZ", i) for i in ("ca", "crl", "signing", "encryption", "tls")),
        *(("CN", i) for i in ("ca", "crl", "signing", "encryption")),
    }
    assert first_problem(items) is None  # a fresh 30-day CRL is a notice, not a problem


def test_the_most_urgent_item_is_named(paired: tuple[Home, Home]) -> None:
    kz, _ = paired
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=29, hours=12)
    problem = first_problem(home_expiry(kz.home, "KZ", later))
    assert problem is not None and problem.item == "crl" and problem.level == "critical"
    much_later = later + dt.timedelta(days=800)
    problem = first_problem(home_expiry(kz.home, "KZ", much_later))
    assert problem is not None and problem.level == "expired"

"""Reference data: Parties, crossing points and the agreements in force (Art.4, Art.9).

Parties and agreements are data, never code: a node knows its own Party, its peers and the
agreements in force, so a third administration joins by configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class CrossingPoint:
    code: str
    names: tuple[str, str]  # (side of one Party, side of the other)
    parties: frozenset[str]


@dataclass(frozen=True, slots=True)
class Agreement:
    """A bilateral (or wider) exchange agreement with its dates and technical conditions."""

    code: str
    parties: frozenset[str]
    signed: date
    in_force_from: date
    term_years: int
    auto_renew: bool
    tc_versions: tuple[int, ...]
    crossing_points: tuple[str, ...] = field(default_factory=tuple)
    terminated_on: date | None = None

    def in_force(self, on: date) -> bool:
        if on < self.in_force_from:
            return False
        if self.terminated_on is not None and on >= self.terminated_on:
            return False
        if self.auto_renew:
            return True
        end = self.in_force_from.replace(year=self.in_force_from.year + self.term_years)
        return on < end


CROSSING_POINTS: dict[str, CrossingPoint] = {
    cp.code: cp
    for cp in (
        CrossingPoint("DOSTYK-ALASHANKOU", ("Dostyk", "Alashankou"), frozenset({"KZ", "CN"})),
        CrossingPoint("ALTYNKOL-KHORGOS", ("Altynkol", "Khorgos"), frozenset({"KZ", "CN"})),
    )
}

# Protocol signed in Almaty on 4 February 2021, in force from signature (Art.9), three years,
# renewed automatically unless notice is given six months before expiry.
KZ_CN_2021 = Agreement(
    code="KZ-CN-CTOP-2021",
    parties=frozenset({"KZ", "CN"}),
    signed=date(2021, 2, 4),
    in_force_from=date(2021, 2, 4),
    term_years=3,
    auto_renew=True,
    tc_versions=(1,),
    crossing_points=tuple(CROSSING_POINTS),
)

DEFAULT_AGREEMENTS: tuple[Agreement, ...] = (KZ_CN_2021,)

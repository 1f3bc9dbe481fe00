"""Realistic, deterministic sample records: trains of containers over the KZ-CN border.

One record per container, as one export (or transit) clearance produces it. The same arguments
always give the same records, byte for byte: every draw comes from ``random.Random`` seeded from
``seed``, and without ``start`` the clock is a fixed epoch. Train ``t`` depends only on the seed
and ``t``, so a smaller sample is a prefix of a larger one. Records are yielded one at a time:
memory does not grow with the number of trains.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ctop_node.errors import UsageError
from ctop_node.model.outcome import OutcomeKind
from ctop_node.model.reference import KZ_CN_2021
from ctop_node.sample import _ids
from ctop_node.sample._faults import inject
from ctop_node.sample._goods import goods_items, kg, pick_commodities
from ctop_node.sample._kinds import TrainKind, kind_weights
from ctop_node.sample._reference import (
    BORDER_STATIONS,
    CN_CARRIERS,
    CN_COMPANIES,
    CN_CONSIGNEE_DIVISION,
    CN_STATIONS,
    CONSIGNEES,
    CONTAINER_OWNERS,
    CROSSINGS,
    INDIVIDUALS,
    KZ_CARRIER,
    KZ_COMPANIES,
    KZ_STATIONS,
    MAX_GROSS_KG,
    PERSONAL,
    POSTAL,
    POSTAL_OPERATORS,
    TARE_KG,
    Commodity,
    StationRef,
)

EPOCH = datetime(2026, 11, 25, tzinfo=UTC)
OFFSETS = {"KZ": timezone(timedelta(hours=5)), "CN": timezone(timedelta(hours=8))}
CONTAINERS_PER_TRAIN = (40, 55)
_TRAIN_DECK = 20  # train kinds are dealt in shuffled decks: exact shares per 20 trains
_RECORD_DECK = 1000  # and so are invalid/excluded/secret records, per 1000 records
_NORMAL, _INVALID, _EXCLUDED, _SECRET = range(4)
_EU = frozenset({"PL", "DE", "NL"})


@dataclass(frozen=True, slots=True)
class Sample:
    """A record and what it was built to be: its train, and the outcome a node should reach."""

    record: dict[str, Any]
    train: int
    kind: str
    expected: OutcomeKind  # for a node of the record's sender_party
    fault: str | None  # error code the technical conditions must report, if built invalid


def generate(
    trains: int,
    seed: int,
    *,
    party: str | None = None,
    invalid_share: float = 0.03,
    excluded_share: float = 0.02,
    not_applicable_share: float = 0.2,
    secret_share: float = 0.0,
    start: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Record dicts (JSON-ready: masses and values as strings) for ``trains`` trains."""
    for s in samples(
        trains,
        seed,
        party=party,
        invalid_share=invalid_share,
        excluded_share=excluded_share,
        not_applicable_share=not_applicable_share,
        secret_share=secret_share,
        start=start,
    ):
        yield s.record


def samples(
    trains: int,
    seed: int,
    *,
    party: str | None = None,
    invalid_share: float = 0.03,
    excluded_share: float = 0.02,
    not_applicable_share: float = 0.2,
    secret_share: float = 0.0,
    start: datetime | None = None,
) -> Iterator[Sample]:
    """Like :func:`generate`, with what each record was built to be."""
    _check(trains, party, invalid_share, excluded_share, not_applicable_share, secret_share, start)
    kinds = kind_weights(party, not_applicable_share)
    deal_kind = _dealer(random.Random(f"{seed}/trains"), [w for _, w in kinds], _TRAIN_DECK)
    special_weights = [1 - invalid_share - excluded_share - secret_share, invalid_share,
                       excluded_share, secret_share]  # fmt: skip
    deal_special = _dealer(random.Random(f"{seed}/records"), special_weights, _RECORD_DECK)
    at = start or EPOCH
    for t in range(1, trains + 1):
        rng = random.Random(f"{seed}/train/{t}")
        kind = kinds[next(deal_kind)][0]
        at += timedelta(minutes=rng.randint(20, 100))
        train = _Train(kind, t, at, rng)
        yield from train.samples(rng, deal_special)


def _check(
    trains: int, party: str | None, invalid: float, excluded: float, na: float, secret: float,
    start: datetime | None,
) -> None:  # fmt: skip
    if trains < 0:
        raise UsageError(f"the number of trains must not be negative (got {trains})")
    if party not in (None, "KZ", "CN"):
        raise UsageError(f"party must be KZ or CN (got {party!r})")
    for name, share in (("invalid", invalid), ("excluded", excluded),
                        ("not applicable", na), ("secret", secret)):  # fmt: skip
        if not 0 <= share <= 1:
            raise UsageError(f"the {name} share must be between 0 and 1 (got {share})")
    if invalid + excluded + secret > 1:
        raise UsageError("invalid, excluded and secret shares add up to more than 1")
    if start is not None and start.utcoffset() is None:
        raise UsageError("the start time must have a UTC offset")


def _dealer(rng: random.Random, weights: list[float], size: int) -> Iterator[int]:
    """Indices dealt from shuffled decks holding each index by its weight (largest remainder)."""
    total = sum(weights)
    exact = [w / total * size for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    deck = [i for i, n in enumerate(counts) for _ in range(n)]
    while True:
        rng.shuffle(deck)
        yield from deck


def _weighted(rng: random.Random, choices: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(choices, [c[-1] for c in choices])[0]


def _party(name: str, country: str, national_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "country": country}
    if national_id:
        out["national_id"] = national_id
    return out


def _company(name: str, country: str, division: str = "") -> dict[str, Any]:
    if country in ("KZ", "CN"):
        return _party(name, country, _ids.company_id(name, country, division))
    # EU consignees: an EORI-like number; others none.
    eori = f"{country}{_ids.company_id(name, 'KZ')}" if country in _EU else None
    return _party(name, country, eori)


class _Train:
    """One train: its kind, route, schedule, wagons and containers."""

    def __init__(self, kind: TrainKind, index: int, at: datetime, rng: random.Random) -> None:
        self.kind = kind
        self.index = index
        self.sender = kind.sender
        self.crossing: str = _weighted(rng, CROSSINGS)[0]
        transit, self.destination, _ = _weighted(rng, kind.routes)
        self.transit: list[str] = list(transit)
        self.station = self._station(rng)
        self.number = (f"{kind.train_prefix}{rng.randrange(100):02d}" if kind.train_prefix
                       else str(rng.randint(1001, 1499)))  # fmt: skip
        self.crossing_at = at.replace(second=0, microsecond=0)
        self.main_goods = rng.choice(kind.goods)
        if kind.sender == "KZ":
            self.carrier = _party(*KZ_CARRIER)
        else:
            self.carrier = _company(*_pair(rng.choice(CN_CARRIERS)))
        self.currencies = (
            (("USD", 0.55), ("EUR", 0.3), ("CNY", 0.15)) if self.destination in _EU
            else (("USD", 1.0),) if self.destination in ("VN", "KR", "JP")
            else (("USD", 0.7), ("CNY", 0.3))
        )  # fmt: skip

    def _station(self, rng: random.Random) -> StationRef:
        if self.kind.from_border:
            return BORDER_STATIONS[(self.crossing, self.sender)]
        return rng.choice(KZ_STATIONS if self.sender == "KZ" else CN_STATIONS)

    def samples(self, rng: random.Random, deal_special: Iterator[int]) -> Iterator[Sample]:
        n = rng.randint(*CONTAINERS_PER_TRAIN)
        wagons: set[str] = set()
        wagon, room = "", 0
        owners = rng.sample(CONTAINER_OWNERS, 4)  # a train carries a few owners' boxes
        for seq in range(1, n + 1):
            if room == 0:  # next platform wagon: one or two containers
                wagon = self._wagon_number(rng, wagons)
                room = rng.choice((1, 2))
            room -= 1
            special = next(deal_special)
            record = self._record(rng, seq, wagon, rng.choice(owners), special)
            fault = inject(record, rng) if special == _INVALID else None
            yield Sample(record, self.index, self.kind.name, self._expected(record, special), fault)

    def _seals(self, rng: random.Random) -> list[str]:
        # The customs seal of the clearing Party, often with the carrier's bolt seal.
        seals = [f"{self.sender}{rng.randrange(10**7):07d}"]
        if rng.random() < 0.6:
            prefix = "KTZE" if self.kind.gauge == "1520" else "CRCT"
            seals.append(f"{prefix}{rng.randrange(10**6):06d}")
        return seals

    def _wagon_number(self, rng: random.Random, taken: set[str]) -> str:
        make = _ids.wagon_1520 if self.kind.gauge == "1520" else _ids.wagon_1435
        while (number := make(rng)) in taken:
            pass
        taken.add(number)
        return number

    def _expected(self, record: dict[str, Any], special: int) -> OutcomeKind:
        if special == _INVALID:
            return OutcomeKind.REJECTED
        if special == _SECRET:
            return OutcomeKind.REFUSED
        if special == _EXCLUDED:
            return OutcomeKind.EXCLUDED
        on = datetime.fromisoformat(record["declaration"]["date"]).date()
        if self.kind.applicable and KZ_CN_2021.in_force(on):
            return OutcomeKind.TO_SEND
        return OutcomeKind.NOT_APPLICABLE

    def _record(
        self, rng: random.Random, seq: int, wagon: str, owner: str, special: int
    ) -> dict[str, Any]:
        kind, sender = self.kind, self.sender
        number = _ids.container_number(rng, owner)
        exporter, consignee, commodities, postal = self._parties_and_goods(rng, special)
        size = rng.choice(commodities[0].sizes)
        tare = rng.randint(*TARE_KG[size])
        payload = rng.uniform(*commodities[0].payload_kg)
        currency = _weighted(rng, self.currencies)[0]
        goods = goods_items(rng, commodities, number, payload, tare, currency)
        goods_g = sum(int(g["gross_mass_kg"].replace(".", "")) for g in goods)
        dunnage_g = min(rng.randint(0, 250_000), MAX_GROSS_KG * 1000 - tare * 1000 - goods_g)
        lead_min = rng.randint(120, 600) if kind.from_border else rng.randint(1440, 8640)
        local = OFFSETS[sender]
        declared = (self.crossing_at - timedelta(minutes=lead_min)).astimezone(local)
        serial = self.index * 64 + seq
        office = self.station.office
        container: dict[str, Any] = {
            "number": number,
            "wagon_number": wagon,
            "size_type": size,
            "gross_mass_kg": kg(tare * 1000 + goods_g + dunnage_g),
            "seals": self._seals(rng),
        }
        channel = "online"
        if rng.random() < 0.3:
            container["smart_lock_id"] = f"SL-{rng.randrange(10**8):08d}"
            channel = rng.choices(("online", "both", "lock"), (0.55, 0.3, 0.15))[0]
        yy = declared.strftime("%y")
        doc_prefix = "SMGS" if kind.document == "SMGS" else "CIMSMGS"
        return {
            "record_id": f"{sender}-{office}-{declared.year}-{self.index:05d}-{seq:03d}",
            "sender_party": sender,
            "declaration": {
                "number": (
                    f"{office}/{declared:%d%m%y}/{serial:07d}"
                    if sender == "KZ"
                    else f"{office}{declared.year}1{serial:09d}"
                ),  # fmt: skip
                "date": declared.date().isoformat(),
                "customs_office": office,
                "procedure": kind.procedure,
            },
            "exporter": exporter,
            "consignee": consignee,
            "carrier": self.carrier,
            "train": {
                "number": self.number,
                "departure_station": {
                    "code": self.station.code,
                    "name": self.station.name,
                    "country": self.station.country,
                },
                "crossing_point": self.crossing,
                "planned_crossing_at": self.crossing_at.astimezone(local).isoformat(),
            },
            "wagons": [{"number": wagon, "gauge": kind.gauge}],
            "containers": [container],
            "goods": goods,
            "route": {
                "dispatch_country": kind.dispatch,
                "destination_country": self.destination,
                "transit_countries": list(self.transit),
            },
            "transport_document": {
                "type": kind.document,
                "number": f"{doc_prefix}-{yy}-{rng.randrange(10**7):07d}",
            },
            "flags": {
                "personal_use": special == _EXCLUDED and not postal,
                "postal_item": postal,
                "state_secret": special == _SECRET,
            },
            "channel": channel,
            "issued_at": declared.astimezone(UTC).isoformat(),
        }

    def _parties_and_goods(
        self, rng: random.Random, special: int
    ) -> tuple[dict[str, Any], dict[str, Any], list[Commodity], bool]:
        """Exporter, consignee, commodities, and whether these are postal items."""
        origin, dest = self.kind.dispatch, self.destination
        if special == _EXCLUDED:
            postal_p = 0.8 if dest in _EU else 0.3
            if rng.random() < postal_p and dest in POSTAL_OPERATORS:
                name, country = POSTAL_OPERATORS[origin]
                exporter = _company(name, country, "110102")
                consignee = _party(POSTAL_OPERATORS[dest][0], dest, None)
                return exporter, consignee, [POSTAL], True
            person = rng.choice(INDIVIDUALS[origin])
            # Household effects travel from the person to the same person abroad.
            return _party(person, origin, None), _party(person, dest, None), [PERSONAL], False
        if origin == "KZ":
            exporter = _company(rng.choice(KZ_COMPANIES), "KZ")
        else:
            exporter = _company(*_pair(rng.choice(CN_COMPANIES)))
        division = CN_CONSIGNEE_DIVISION if dest == "CN" else ""
        consignee = _company(rng.choice(CONSIGNEES[dest]), dest, division)
        goods = pick_commodities(rng, self.kind.goods, self.kind.consolidated, self.main_goods)
        return exporter, consignee, goods, False


def _pair(entry: tuple[str, str]) -> tuple[str, str, str]:
    return entry[0], "CN", entry[1]

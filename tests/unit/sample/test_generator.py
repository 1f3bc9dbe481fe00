"""The sample generator: deterministic, valid where meant to be, realistic shares and shapes."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from ctop_node.errors import UsageError, ValidationFailed
from ctop_node.model.identifiers import iso6346_check_digit, wagon_check_digit
from ctop_node.model.record import Consignment
from ctop_node.rules import NodePolicy, OutcomeKind, decide
from ctop_node.sample import EPOCH, FAULT_CODES, Sample, generate, samples
from ctop_node.tc import DEFAULT_REGISTRY

TC = DEFAULT_REGISTRY.latest


def _bytes(trains: int, seed: int, **kw: Any) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in generate(trains, seed, **kw))


def _validate(s: Sample) -> Consignment:
    model = TC.validate_record(s.record)
    assert isinstance(model, Consignment)
    return model


@pytest.fixture(scope="module")
def both() -> list[Sample]:
    """20 trains of both Parties, interleaved."""
    return list(samples(20, 7))


def test_same_seed_same_bytes_different_seed_different() -> None:
    a = _bytes(3, 42)
    assert a == _bytes(3, 42)
    assert a != _bytes(3, 43)
    assert _bytes(2, 42, party="KZ") == _bytes(2, 42, party="KZ")
    assert _bytes(2, 42, party="KZ") != _bytes(2, 42, party="CN")


def test_a_smaller_sample_is_a_prefix_of_a_larger_one() -> None:
    assert _bytes(6, 9).startswith(_bytes(4, 9))


def test_no_clock_without_start_and_start_moves_the_times() -> None:
    first = next(generate(1, 1))
    assert first["train"]["planned_crossing_at"] > EPOCH.isoformat()[:10]
    later = next(generate(1, 1, start=datetime(2027, 3, 1, tzinfo=UTC)))
    assert later["train"]["planned_crossing_at"].startswith("2027-03-01")


def test_records_meant_valid_validate_and_invalid_ones_fail_with_their_code(
    both: list[Sample],
) -> None:
    faults: Counter[str] = Counter()
    for s in both:
        if s.fault is None:
            _validate(s)
            continue
        faults[s.fault] += 1
        with pytest.raises(ValidationFailed) as info:
            TC.validate_record(s.record)
        codes = {e.code for e in info.value.errors}
        assert s.fault in codes, (s.record["record_id"], s.fault, codes)
        assert s.fault in FAULT_CODES
        assert s.expected is OutcomeKind.REJECTED
    # Over ~1000 records the deliberate mistakes are of many kinds, not one.
    assert len(faults) >= 5, faults


def test_record_ids_are_unique_and_name_sender_and_office(both: list[Sample]) -> None:
    ids = [s.record["record_id"] for s in both]
    assert len(ids) == len(set(ids))
    for s in both[:100]:
        rec = s.record
        sender, office = rec["record_id"].split("-")[:2]
        assert sender == rec["sender_party"]
        if "customs_office" in rec["declaration"]:
            assert office == rec["declaration"]["customs_office"]


@pytest.mark.parametrize(("invalid", "excluded"), [(0.03, 0.02), (0.1, 0.0), (0.0, 0.05)])
def test_shares_of_invalid_and_excluded_records(invalid: float, excluded: float) -> None:
    got = list(samples(25, 3, invalid_share=invalid, excluded_share=excluded))
    n = len(got)
    n_invalid = sum(s.fault is not None for s in got)
    n_excluded = sum(s.expected is OutcomeKind.EXCLUDED for s in got)
    # Dealt from decks of 1000 records: within a record or two of the share, plus the tail.
    assert abs(n_invalid - invalid * n) <= max(3, 0.2 * invalid * n), (n_invalid, n)
    assert abs(n_excluded - excluded * n) <= max(3, 0.2 * excluded * n), (n_excluded, n)
    for s in got:
        flags = s.record["flags"]
        is_excluded = flags["personal_use"] or flags["postal_item"]
        assert is_excluded == (s.expected is OutcomeKind.EXCLUDED)


def test_trains_have_40_to_55_containers_one_record_each(both: list[Sample]) -> None:
    per_train: dict[int, list[Sample]] = defaultdict(list)
    for s in both:
        per_train[s.train].append(s)
    assert sorted(per_train) == list(range(1, 21))
    for group in per_train.values():
        assert 40 <= len(group) <= 55
        assert len({s.record["train"]["number"] for s in group}) == 1
        assert len({s.record["containers"][0]["number"] for s in group}) == len(group)
        # A platform wagon carries one or two containers.
        wagons = Counter(s.record["wagons"][0]["number"] for s in group)
        assert set(wagons.values()) <= {1, 2}


def test_check_digits_gauges_and_masses(both: list[Sample]) -> None:
    for s in both:
        if s.fault is not None:
            continue
        rec = s.record
        wagon = rec["wagons"][0]
        container = rec["containers"][0]
        number = container["number"]
        assert int(number[10]) == iso6346_check_digit(number[:10])
        if rec["sender_party"] == "KZ":
            assert wagon["gauge"] == "1520"
            assert len(wagon["number"]) == 8
            assert wagon["number"][0] in "459"
            assert int(wagon["number"][7]) == wagon_check_digit(wagon["number"][:7])
        else:
            assert wagon["gauge"] == "1435"
            assert len(wagon["number"]) == 7
        assert container["size_type"] in {"45G1", "42G1", "22G1"}
        assert 1 <= len(rec["goods"]) <= 6
        goods_gross = sum(Decimal(g["gross_mass_kg"]) for g in rec["goods"])
        tare = Decimal(container["gross_mass_kg"]) - goods_gross
        # What is left of the container's gross is its tare (and a little dunnage).
        low = 2150 if container["size_type"] == "22G1" else 3700
        assert low <= tare <= 4250, (number, tare)
        assert Decimal(container["gross_mass_kg"]) <= 30_480
        for g in rec["goods"]:
            assert Decimal(g["net_mass_kg"]) <= Decimal(g["gross_mass_kg"])
            assert g["currency"] in {"USD", "CNY", "EUR"}
            assert len(g["hs_code"]) == 6


def test_realistic_routes_offsets_and_channels(both: list[Sample]) -> None:
    channels: Counter[str] = Counter()
    locks = 0
    for s in both:
        rec = s.record
        assert rec["train"]["crossing_point"] in {"DOSTYK-ALASHANKOU", "ALTYNKOL-KHORGOS"}
        offset = {"KZ": "+05:00", "CN": "+08:00"}[rec["sender_party"]]
        if s.fault != "record.datetime.offset":
            assert rec["train"]["planned_crossing_at"].endswith(offset)
        container = rec["containers"][0]
        channels[rec["channel"]] += 1
        if "smart_lock_id" in container:
            locks += 1
            assert container["smart_lock_id"].startswith("SL-")
        else:
            assert rec["channel"] == "online"  # no lock, no lock channel
    assert 0.2 < locks / len(both) < 0.4
    assert channels["online"] > channels["both"] > 0 and channels["lock"] > 0


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_every_outcome_occurs_for_each_node_in_20_trains(seed: int) -> None:
    seen: dict[str, Counter[OutcomeKind]] = {"KZ": Counter(), "CN": Counter()}
    for s in samples(20, seed):
        party = s.record["sender_party"]
        if s.fault is not None:
            seen[party][OutcomeKind.REJECTED] += 1
            continue
        outcome = decide(_validate(s), NodePolicy(party))
        assert outcome.kind is s.expected, (s.kind, s.record["record_id"], outcome)
        seen[party][outcome.kind] += 1
    wanted = {
        OutcomeKind.TO_SEND,
        OutcomeKind.NOT_APPLICABLE,
        OutcomeKind.EXCLUDED,
        OutcomeKind.REJECTED,
    }
    for party, counts in seen.items():
        assert wanted <= set(counts), (party, counts)


@pytest.mark.parametrize("party", ["KZ", "CN"])
def test_one_party_node_sees_only_its_records(party: str) -> None:
    kinds: Counter[OutcomeKind] = Counter()
    for s in samples(20, 11, party=party, secret_share=0.01):
        assert s.record["sender_party"] == party
        if s.fault is None:
            kinds[decide(_validate(s), NodePolicy(party)).kind] += 1
    assert set(kinds) == {
        OutcomeKind.TO_SEND,
        OutcomeKind.NOT_APPLICABLE,
        OutcomeKind.EXCLUDED,
        OutcomeKind.REFUSED,
    }


def test_transit_through_kz_is_for_cn_but_not_for_kz() -> None:
    """The China-Europe train: CN's export record goes to KZ; KZ's transit record goes nowhere."""
    cn = next(s for s in samples(20, 5, party="CN") if s.kind == "cn_export_eu" and not s.fault)
    kz = next(s for s in samples(20, 5, party="KZ") if s.kind == "kz_transit_cn_eu" and not s.fault)
    assert decide(_validate(cn), NodePolicy("CN")).peers == ("KZ",)
    assert kz.record["declaration"]["procedure"] == "transit"
    assert decide(_validate(kz), NodePolicy("KZ")).kind is OutcomeKind.NOT_APPLICABLE


def test_streams_without_holding_the_sample() -> None:
    # 10,000 trains: only the first records are produced when only they are read.
    head = list(itertools.islice(generate(10_000, 1), 3))
    assert [r["record_id"][-3:] for r in head] == ["001", "002", "003"]


@pytest.mark.parametrize(
    "kw",
    [
        {"trains": -1},
        {"party": "RU"},
        {"invalid_share": 1.5},
        {"invalid_share": 0.6, "excluded_share": 0.6},
        {"start": datetime(2026, 1, 1)},
    ],
)
def test_bad_arguments_are_usage_errors(kw: dict[str, Any]) -> None:
    args = {"trains": 1, "seed": 0, **kw}
    with pytest.raises(UsageError):
        next(generate(**args))

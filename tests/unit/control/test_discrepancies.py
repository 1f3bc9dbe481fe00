"""Discrepancies computed from stored facts: each code from the fact that causes it, none
from facts that agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ctop_node.control.discrepancies import discrepancies, tolerance_of
from ctop_node.control.results import build_result
from ctop_node.errors import ConfigError
from ctop_node.model.messages import ContainerFound

CONTAINER = "CSQU3054383"


@dataclass(frozen=True)
class Read:
    lock_id: str = "LOCK-0001"
    lock_state: str = "sealed"
    declared: bool = True
    tampered: bool = False
    findings: tuple[dict[str, str], ...] = field(default=())
    read_at: datetime = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _codes(found: list[Any]) -> list[str]:
    return [f.code for f in found]


def _result(**kw: Any) -> Any:
    base: dict[str, Any] = {
        "record_id": "KZ-1",
        "version": 1,
        "office": "CN-ALASHANKOU",
        "country": "CN",
        "arrived_at": None,
        "seal_status": "intact",
        "findings": None,
        "decision": "released",
    }
    return build_result(**{**base, **kw})


def test_agreeing_facts_give_no_discrepancy(record_dict: dict[str, Any]) -> None:
    same = ContainerFound(number=CONTAINER, gross_mass_kg=Decimal("28600"), seals=["KZ1234567"])
    found = discrepancies(
        record_dict, verdict="MATCH", reads=[Read()], results=[_result(containers=[same])]
    )
    assert found == []


@pytest.mark.parametrize(
    ("verdict", "code"),
    [
        ("MISMATCH", "lock.online_mismatch"),
        ("TAMPERED", "lock.tampered"),
        ("LOCK_ONLY", "container.not_announced"),
    ],
)
def test_channel_verdicts(record_dict: dict[str, Any], verdict: str, code: str) -> None:
    assert _codes(discrepancies(record_dict, verdict=verdict)) == [code]


def test_lock_reads_tampered_opened_and_other_lock(record_dict: dict[str, Any]) -> None:
    tampered = discrepancies(record_dict, reads=[Read(tampered=True)])
    assert _codes(tampered) == ["lock.tampered"]
    assert tampered[0].field == "$.containers[0].smart_lock_id"
    assert tampered[0].container == CONTAINER
    opened = [{"code": "lock.opened_before_reading", "message": "x"}]
    assert _codes(discrepancies(record_dict, reads=[Read(findings=tuple(opened))])) == [
        "lock.opened"
    ]
    other = discrepancies(record_dict, reads=[Read(lock_id="LOCK-9", declared=False)])
    assert _codes(other) == ["lock.id_differs"]
    assert (other[0].expected, other[0].found) == ("LOCK-0001", "LOCK-9")


def test_mass_beyond_the_tolerance_only(record_dict: dict[str, Any]) -> None:
    def at(kg: str, tol: str = "0.02") -> list[str]:
        seen = ContainerFound(number=CONTAINER, gross_mass_kg=Decimal(kg))
        return _codes(
            discrepancies(record_dict, results=[_result(containers=[seen])], tolerance=Decimal(tol))
        )

    assert at("29070") == []  # +2.0 %: within
    assert at("29071") == ["mass.beyond_tolerance"]
    assert at("27929") == ["mass.beyond_tolerance"]
    assert at("29071", "0.05") == []


def test_officer_findings(record_dict: dict[str, Any]) -> None:
    result = _result(
        seal_status="broken",
        missing_goods=["1"],
        containers=[
            ContainerFound(number=CONTAINER, seals=["CN999"], smart_lock_id="LOCK-7"),
            ContainerFound(number="TGHU1234567"),
        ],
    )
    found = discrepancies(record_dict, results=[result])
    assert _codes(found) == [
        "seal.broken",
        "goods.missing",
        "seal.differs",
        "lock.id_differs",
        "container.not_announced",
    ]
    assert found[2].field == "$.containers[0].seals"
    assert (found[2].expected, found[2].found) == ("KZ1234567", "CN999")
    assert found[4].found == "TGHU1234567"


def test_only_the_latest_result_counts(record_dict: dict[str, Any]) -> None:
    first, fixed = _result(seal_status="missing"), _result(seal_status="intact")
    assert _codes(discrepancies(record_dict, results=[first, fixed])) == []
    assert _codes(discrepancies(record_dict, results=[fixed, first])) == ["seal.missing"]


def test_cancellation_after_the_train_left(record_dict: dict[str, Any]) -> None:
    # planned crossing 2026-11-26 14:30 +05:00 = 09:30 UTC
    before = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    after = datetime(2026, 11, 26, 9, 45, tzinfo=UTC)
    assert discrepancies(record_dict, cancelled_at=before) == []
    assert _codes(discrepancies(record_dict, cancelled_at=after)) == [
        "record.cancelled_after_departure"
    ]
    read_earlier = Read(read_at=datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    assert _codes(discrepancies(record_dict, cancelled_at=before, reads=[read_earlier])) == [
        "record.cancelled_after_departure"
    ]


def test_tolerance_setting() -> None:
    assert tolerance_of({}) == Decimal("0.02")
    assert tolerance_of({"discrepancy_mass_tolerance": 0.05}) == Decimal("0.05")
    with pytest.raises(ConfigError) as err:
        tolerance_of({"discrepancy_mass_tolerance": "lots"})
    assert err.value.code == "config.mass_tolerance"

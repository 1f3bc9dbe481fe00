"""Art.2 routing and exclusions, Art.6 refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from ctop_node.model.record import Consignment
from ctop_node.model.reference import KZ_CN_2021, Agreement
from ctop_node.rules import NodePolicy, OutcomeKind, decide
from ctop_node.tc import DEFAULT_REGISTRY

KZ, CN = NodePolicy("KZ"), NodePolicy("CN")


def _record(data: dict[str, Any], **route: Any) -> Consignment:
    data["route"].update(route)
    record = DEFAULT_REGISTRY.latest.validate_record(data)
    assert isinstance(record, Consignment)
    return record


def test_kz_export_to_cn_is_sent_to_cn(record_dict: dict[str, Any]) -> None:
    outcome = decide(_record(record_dict), KZ)
    assert (outcome.kind, outcome.peers) == (OutcomeKind.TO_SEND, ("CN",))


def test_china_europe_transit_through_kz_is_sent_by_cn_not_by_kz(
    record_dict: dict[str, Any],
) -> None:
    rec = _record(
        record_dict,
        dispatch_country="CN",
        destination_country="DE",
        transit_countries=["KZ", "RU", "BY", "PL"],
    )
    assert decide(rec, CN).kind is OutcomeKind.TO_SEND
    assert decide(rec, CN).peers == ("KZ",)
    # KZ clears the transit, but CN lies behind it on the route: nothing for CN.
    kz = decide(rec, KZ)
    assert (kz.kind, kz.reason) == (OutcomeKind.NOT_APPLICABLE, "art2.no_peer_on_route")


def test_europe_china_transit_through_kz_is_sent_by_kz(record_dict: dict[str, Any]) -> None:
    rec = _record(
        record_dict,
        dispatch_country="DE",
        destination_country="CN",
        transit_countries=["PL", "BY", "RU", "KZ"],
    )
    assert decide(rec, KZ).peers == ("CN",)


def test_cn_export_to_uzbekistan_through_kz_is_sent_to_kz(record_dict: dict[str, Any]) -> None:
    rec = _record(
        record_dict, dispatch_country="CN", destination_country="UZ", transit_countries=["KZ"]
    )
    assert decide(rec, CN).peers == ("KZ",)


def test_not_exported_from_own_party(record_dict: dict[str, Any]) -> None:
    rec = _record(
        record_dict, dispatch_country="RU", destination_country="CN", transit_countries=[]
    )
    outcome = decide(rec, KZ)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.NOT_APPLICABLE, "art2.not_exported")


def test_kz_export_to_russia_is_not_applicable(record_dict: dict[str, Any]) -> None:
    rec = _record(record_dict, destination_country="RU")
    assert decide(rec, KZ).reason == "art2.no_peer_on_route"


@pytest.mark.parametrize(
    ("flag", "kind", "reason"),
    [
        ("personal_use", OutcomeKind.EXCLUDED, "art2.personal_use"),
        ("postal_item", OutcomeKind.EXCLUDED, "art2.postal_item"),
        ("state_secret", OutcomeKind.REFUSED, "art6.state_secret"),
    ],
)
def test_flags(record_dict: dict[str, Any], flag: str, kind: OutcomeKind, reason: str) -> None:
    record_dict["flags"][flag] = True
    outcome = decide(_record(record_dict), KZ)
    assert (outcome.kind, outcome.reason, outcome.peers) == (kind, reason, ())


def test_state_secret_wins_over_exclusions(record_dict: dict[str, Any]) -> None:
    record_dict["flags"].update(personal_use=True, state_secret=True)
    assert decide(_record(record_dict), KZ).kind is OutcomeKind.REFUSED


def test_agreement_dates_are_data(record_dict: dict[str, Any]) -> None:
    record_dict["declaration"]["date"] = "2020-12-31"  # before the Protocol was signed
    assert decide(_record(record_dict), KZ).reason == "art2.no_peer_on_route"
    ended = replace(KZ_CN_2021, terminated_on=date(2026, 1, 1))
    record_dict["declaration"]["date"] = "2026-11-25"
    assert decide(_record(record_dict), NodePolicy("KZ", (ended,))).kind is (
        OutcomeKind.NOT_APPLICABLE
    )


def test_a_third_party_joins_by_configuration(record_dict: dict[str, Any]) -> None:
    kz_uz = Agreement(
        "KZ-UZ-TEST", frozenset({"KZ", "UZ"}), date(2025, 1, 1), date(2025, 1, 1), 3, True, (1,)
    )
    rec = _record(record_dict, destination_country="UZ", transit_countries=["CN"])
    outcome = decide(rec, NodePolicy("KZ", (KZ_CN_2021, kz_uz)))
    assert outcome.peers == ("CN", "UZ")

"""The scenario catalogue: enough of them, stable numbers and names, codes of the spec, and
docs/conformance.md listing every one as the code declares it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctop_node.conformance import scenarios, spec
from ctop_node.conformance.judge import Expect
from ctop_node.exchange.codes import CODES

DOC = Path(__file__).parents[3] / "docs" / "conformance.md"
WHOLE_REQUEST = {"exchange.too_large", "exchange.too_many_messages", "exchange.bad_batch"}
WHOLE_REQUEST |= {"exchange.content_type"}


def _expects() -> list[Expect]:
    return [e for s in scenarios.ALL for step in s.steps for e in step.expect]


def test_at_least_25_numbered_scenarios_with_unique_names() -> None:
    numbers = [s.number for s in scenarios.ALL]
    assert len(numbers) >= 25 and numbers == list(range(1, len(numbers) + 1))
    assert len(scenarios.BY_NAME) == len(numbers)
    assert all(s.steps and s.sends and s.expects for s in scenarios.ALL)


def test_every_expected_per_message_code_is_a_documented_code() -> None:
    codes = {e.code for e in _expects() if e.status in ("rejection", "refused")}
    assert codes <= set(CODES), sorted(codes - set(CODES))
    refused = {e.code for e in _expects() if e.status == "refused"}
    assert all(CODES[c].klass == "S" for c in refused)
    assert {e.code for e in _expects() if e.status is None} == WHOLE_REQUEST
    assert spec.CLOCK_SKEW in codes and spec.CANCELLED in codes


def test_the_doc_lists_every_scenario_as_declared() -> None:
    assert scenarios.markdown_table() in DOC.read_text("utf-8")


def test_select_by_number_or_name() -> None:
    chosen = scenarios.select(["1", "replay"])
    assert [s.name for s in chosen] == ["consignment", "replay"]
    assert scenarios.select(None) == list(scenarios.ALL)
    with pytest.raises(KeyError):
        scenarios.select(["999"])

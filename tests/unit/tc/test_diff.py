"""``tc diff``: fields and rules added, removed or changed between side-by-side versions."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import BaseModel

from ctop_node.model.messages import ControlResult, MessageType
from ctop_node.tc.diff import diff
from ctop_node.tc.v1 import TC_V1

from ._toy_v2 import PRIORITY_RULE, TC_V2


def test_a_version_against_itself_has_no_changes() -> None:
    assert diff(TC_V1, TC_V1).empty


def test_v1_to_v2_names_the_added_field_the_changed_limit_and_the_added_rule() -> None:
    result = diff(TC_V1, TC_V2)
    fields = {(c.kind, c.where): c.details for c in result.fields}
    assert fields[("added", "CONSIGNMENT customs_priority")] == {
        "type": "integer",
        "required": False,
        "minimum": 1,
        "maximum": 3,
    }
    assert ("added", "AMENDMENT customs_priority") in fields
    assert fields[("changed", "CANCELLATION reason")] == {"max_length": {"from": 512, "to": 256}}
    assert len(fields) == 3  # nothing else differs
    assert [(c.kind, c.where) for c in result.rules] == [("added", "record.priority.lock")]
    assert result.message_types == []


def test_the_reverse_diff_removes_what_v2_added() -> None:
    result = diff(TC_V2, TC_V1)
    kinds = {(c.kind, c.where) for c in result.fields}
    assert ("removed", "CONSIGNMENT customs_priority") in kinds
    assert [(c.kind, c.where) for c in result.rules] == [("removed", "record.priority.lock")]


def test_changed_rules_code_lists_and_message_types() -> None:
    reworded = replace(PRIORITY_RULE, text="Priority 1 travels under a smart lock.")
    payloads: dict[MessageType, type[BaseModel]] = {
        k: v for k, v in TC_V2.payloads.items() if k != MessageType.CONTROL_RESULT
    }
    v3 = replace(TC_V2, version=3, rules=(*TC_V1.rules, reworded), payloads=payloads)
    result = diff(TC_V2, v3)
    assert [(c.kind, c.where) for c in result.message_types] == [("removed", "CONTROL_RESULT")]
    (rule,) = result.rules
    assert rule.kind == "changed" and rule.details["to"]["text"] == reworded.text
    as_dict = result.as_dict()
    assert as_dict["from"] == 2 and as_dict["to"] == 3
    assert as_dict["rules"][0]["change"] == "changed"


class _ControlResultNarrow(ControlResult):
    seal_status: Literal["intact", "broken", "not_checked", "tampered"] = "not_checked"  # type: ignore[assignment]


def test_a_code_list_change_names_the_codes_that_entered_and_left() -> None:
    payloads: dict[MessageType, type[BaseModel]] = {
        **TC_V1.payloads,
        MessageType.CONTROL_RESULT: _ControlResultNarrow,
    }
    v2 = replace(TC_V1, version=2, payloads=payloads)
    (change,) = diff(TC_V1, v2).fields
    assert change.where == "CONTROL_RESULT seal_status"
    assert change.details == {"enum": {"added": ["tampered"], "removed": ["missing"]}}

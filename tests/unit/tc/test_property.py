"""Property tests: whatever arrives, the validator answers with its own errors or a record."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_node.errors import ValidationFailed
from ctop_node.model.record import Consignment
from ctop_node.tc import DEFAULT_REGISTRY

BASE = json.loads((Path(__file__).parents[2] / "data" / "record_kz_cn.json").read_text("utf-8"))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.decimals(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)


def _check(data: Any) -> None:
    try:
        result = DEFAULT_REGISTRY.latest.validate_record(data)
    except ValidationFailed as exc:
        assert exc.errors, "a rejection always lists at least one field"
        for err in exc.errors:
            assert err.field.startswith("$") and err.code and err.message
        return
    assert isinstance(result, Consignment)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_never_crashes_the_validator(data: Any) -> None:
    _check(data)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(PATHS), json_values, st.booleans())
def test_mutated_records_get_field_errors(path: tuple[Any, ...], value: Any, drop: bool) -> None:
    data = copy.deepcopy(BASE)
    target = data
    for part in path[:-1]:
        target = target[part]
    if drop and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    _check(data)

"""Technical-conditions registry: versions side by side, published schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from ctop_node.errors import TcError, ValidationFailed
from ctop_node.model.messages import MessageType
from ctop_node.model.record import Consignment
from ctop_node.tc.registry import TcRegistry, TcVersion
from ctop_node.tc.v1 import TC_V1

from ._toy_v2 import ConsignmentV2, registry_v1_v2


def test_v1_schema_accepts_a_valid_record_and_refuses_a_broken_one(
    record_dict: dict[str, Any],
) -> None:
    schema = TC_V1.json_schema()
    assert schema["x-ctop-tc-version"] == 1
    assert set(schema["x-ctop-message-types"]) == {m.value for m in MessageType}
    validator = jsonschema.Draft202012Validator(
        {**schema["$defs"]["CONSIGNMENT"], "$defs": schema["$defs"]}
    )
    validator.validate(record_dict)
    del record_dict["route"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(record_dict)


def test_v2_beside_v1_reads_v1_records(record_dict: dict[str, Any]) -> None:
    registry = registry_v1_v2()
    assert registry.latest.version == 2
    as_v2 = registry.read(record_dict, from_version=1, to_version=2)
    assert isinstance(as_v2, ConsignmentV2) and as_v2.customs_priority is None
    # v1 still refuses the v2 field; v2 accepts it.
    with pytest.raises(ValidationFailed) as info:
        registry.get(1).validate_record({**record_dict, "customs_priority": 1})
    assert info.value.errors[0].code == "record.unknown_field"
    assert registry.get(2).validate_record({**record_dict, "customs_priority": 1})
    assert "customs_priority" in str(registry.get(2).json_schema())


def test_unknown_version_and_gaps() -> None:
    registry = TcRegistry()
    registry.register(TC_V1)
    with pytest.raises(TcError) as info:
        registry.get(7)
    assert info.value.code == "tc.unknown_version"
    with pytest.raises(TcError):
        registry.register(TC_V1)
    gap = TcVersion(version=3, record_model=Consignment, payloads=TC_V1.payloads)
    with pytest.raises(TcError) as info:
        registry.register(gap)
    assert info.value.code == "tc.gap"

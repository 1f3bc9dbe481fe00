"""The payload codec with the real crypto package: round trips, capacity, and refusals."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_node.errors import LockError
from ctop_node.lock import cbor
from ctop_node.lock.codec import encode_payload, open_payload
from ctop_node.lock.device import LockDevice
from ctop_node.lock.header import parse_payload
from ctop_node.lock.image import read_image
from ctop_node.model import canonical
from ctop_node.model.record import Consignment
from tests._homes import Home, exchange_trust, make_home

from .conftest import at

EXPIRES = datetime.now(UTC) + timedelta(days=7)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Home]:
    root = tmp_path_factory.mktemp("nodes")
    made = {p: make_home(root, p) for p in ("KZ", "CN", "RU")}
    exchange_trust(made["KZ"], made["CN"], root)
    exchange_trust(made["KZ"], made["RU"], root)
    return made


def record_with(base: dict[str, Any], items: int) -> Consignment:
    data = copy.deepcopy(base)
    item = data["goods"][0]
    data["goods"] = [
        {
            **item,
            "description": f"Wheat, other than durum, lot {i:04d}",
            "gross_mass_kg": "24.000",
            "net_mass_kg": "23.500",
            "value": f"{6.24 * (i + 1):.2f}",
        }
        for i in range(items)
    ]
    return Consignment.model_validate(data)


def encode(nodes: dict[str, Home], record: Consignment, **kw: Any) -> bytes:
    kw.setdefault("lock_id", "LOCK-0001")
    return encode_payload(
        record,
        version=1,
        signer=nodes["KZ"].signer,
        recipient=nodes["KZ"].trust().recipient_key("CN"),
        counter=kw.pop("counter", 1),
        expires=EXPIRES,
        **kw,
    )


def code_of(fn: Any) -> str:
    with pytest.raises(LockError) as info:
        fn()
    return info.value.code


def test_round_trip_through_a_lock(
    nodes: dict[str, Home], record_dict: dict[str, Any], device: LockDevice
) -> None:
    record = Consignment.model_validate(record_dict)
    data = encode(nodes, record)
    device.write_payload(data, now=datetime.now(UTC))
    image = read_image(device.image().to_bytes())
    assert image.payload is not None
    cn = nodes["CN"]
    opened = open_payload(image.payload, cn.trust(), cn.decryptor, party="CN", lock_id="LOCK-0001")
    assert opened.record == canonical.canonical_dict(record)
    assert opened.header.digest == canonical.digest(record)  # what the online copy has
    assert opened.signer.party == "KZ"
    assert (opened.header.record_id, opened.header.version, opened.header.tc) == (
        record.record_id,
        1,
        "1",
    )


def test_digest_mode(nodes: dict[str, Home], record_dict: dict[str, Any]) -> None:
    record = record_with(record_dict, 200)
    data = encode(nodes, record, mode="digest")
    cn = nodes["CN"]
    opened = open_payload(data, cn.trust(), cn.decryptor, party="CN")
    assert opened.record is None and opened.summary is not None
    assert opened.header.digest == canonical.digest(record)
    assert opened.summary["items"] == 200
    assert opened.summary["gross_kg"] == "4800.000"
    assert opened.summary["containers"] == [
        {"number": "CSQU3054383", "seals": ["KZ1234567"], "smart_lock_id": "LOCK-0001"}
    ]


def test_over_capacity_proposes_digest_mode_or_online(
    nodes: dict[str, Home], record_dict: dict[str, Any]
) -> None:
    record = record_with(record_dict, 200)
    with pytest.raises(LockError) as info:
        encode(nodes, record, capacity=1024)
    assert info.value.code == "lock.capacity" and "digest mode" in info.value.message
    with pytest.raises(LockError) as info:
        encode(nodes, record, capacity=200)
    assert info.value.code == "lock.capacity" and "online only" in info.value.message


def test_wrong_recipient(nodes: dict[str, Home], record_dict: dict[str, Any]) -> None:
    data = encode(nodes, Consignment.model_validate(record_dict))
    ru = nodes["RU"]
    assert code_of(lambda: open_payload(data, ru.trust(), ru.decryptor, party="RU")) == (
        "lock.payload.recipient"
    )
    # Relabelled in clear for RU: the header is HPKE info, so RU still cannot open it.
    relabelled = _with_header(data, recipient="RU")
    assert code_of(lambda: open_payload(relabelled, ru.trust(), ru.decryptor, party="RU")) == (
        "lock.payload.decrypt"
    )


def test_payload_copied_to_another_lock(
    nodes: dict[str, Home], record_dict: dict[str, Any]
) -> None:
    data = encode(nodes, Consignment.model_validate(record_dict))
    cn = nodes["CN"]
    assert (
        code_of(
            lambda: open_payload(data, cn.trust(), cn.decryptor, party="CN", lock_id="LOCK-0002")
        )
        == "lock.payload.wrong_lock"
    )
    moved = _with_header(data, lock_id="LOCK-0002")
    assert (
        code_of(
            lambda: open_payload(moved, cn.trust(), cn.decryptor, party="CN", lock_id="LOCK-0002")
        )
        == "lock.payload.decrypt"
    )


def test_flipped_byte_in_the_body(nodes: dict[str, Home], record_dict: dict[str, Any]) -> None:
    data = bytearray(encode(nodes, Consignment.model_validate(record_dict)))
    data[-10] ^= 0x01
    cn = nodes["CN"]
    assert code_of(lambda: open_payload(bytes(data), cn.trust(), cn.decryptor, party="CN")) == (
        "lock.payload.decrypt"
    )


def test_signer_unknown_to_the_reader(nodes: dict[str, Home], record_dict: dict[str, Any]) -> None:
    # Signed by RU and encrypted to CN, but CN has no agreement with RU: not a trusted signer.
    data = encode_payload(
        Consignment.model_validate(record_dict),
        version=1,
        signer=nodes["RU"].signer,
        recipient=nodes["KZ"].trust().recipient_key("CN"),
        lock_id="LOCK-0001",
        counter=1,
        expires=EXPIRES,
    )
    cn = nodes["CN"]
    assert code_of(lambda: open_payload(data, cn.trust(), cn.decryptor, party="CN")) == (
        "lock.payload.signature"
    )


def _with_header(data: bytes, **changes: Any) -> bytes:
    value = cbor.decode(data)
    value["hdr"].update(changes)
    return cbor.encode(value)


@pytest.fixture(scope="module")
def genuine(nodes: dict[str, Home]) -> bytes:
    base = Consignment.model_validate_json(
        (Path(__file__).parents[2] / "data" / "record_kz_cn.json").read_text("utf-8")
    )
    return encode(nodes, base)


@settings(
    max_examples=800,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=3),
    cut=st.integers(0, 10**6),
)
def test_mutated_payloads_raise_only_lock_errors(
    nodes: dict[str, Home], genuine: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(genuine)
    for pos, bit in flips:
        data[pos % len(data)] ^= bit
    del data[max(cut % (len(data) + 200), 1) :]
    cn = nodes["CN"]
    try:
        open_payload(bytes(data), cn.trust(), cn.decryptor, party="CN")
    except LockError:
        return


def test_header_of_a_payload_is_readable_without_keys(
    nodes: dict[str, Home], record_dict: dict[str, Any]
) -> None:
    header, _ = parse_payload(encode(nodes, Consignment.model_validate(record_dict), counter=7))
    assert (header.lock_id, header.counter, header.recipient) == ("LOCK-0001", 7, "CN")
    assert at(0) < header.expires_at

"""Strict CBOR: one canonical encoding per value, and every refusal has its own code."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctop_node.errors import LockError
from ctop_node.lock import cbor
from ctop_node.lock.errors import CborError


def refused(data: bytes, **kw: object) -> str:
    with pytest.raises(CborError) as info:
        cbor.decode(data, **kw)  # type: ignore[arg-type]
    return info.value.code


def test_round_trip_of_allowed_types() -> None:
    value = {"a": [1, -2, 2**64 - 1, -(2**64)], "b": b"\x00\xff", 7: None, "t": True, "f": False}
    assert cbor.decode(cbor.encode(value)) == value


def test_cose_tag_is_allowed_and_others_not() -> None:
    tagged = cbor.encode(cbor2.CBORTag(18, [b"", {}, b"x", b"s"]))
    assert cbor.decode(tagged) == cbor2.CBORTag(18, [b"", {}, b"x", b"s"])
    assert refused(tagged, allowed_tags=frozenset()) == "lock.cbor.type"


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("c249010000000000000000"),  # tag 2 bignum
        bytes.fromhex("c074323031332d30332d32315432303a30343a30305a"),  # tag 0 datetime
        bytes.fromhex("d81c80"),  # tag 28 shareable
        bytes.fromhex("d81d00"),  # tag 29 shared reference
        bytes.fromhex("d9010080"),  # tag 256 stringref namespace
        bytes.fromhex("fb3ff8000000000000"),  # float 1.5
        bytes.fromhex("f7"),  # undefined
        bytes.fromhex("f0"),  # simple value 16
        bytes.fromhex("a18001"),  # array as a map key
    ],
)
def test_types_outside_the_allowed_set_are_refused(data: bytes) -> None:
    assert refused(data) == "lock.cbor.type"


def test_trailing_bytes_are_refused_though_cbor2_accepts_them() -> None:
    data = cbor.encode({"a": 1}) + b"\x00"
    assert cbor2.loads(data) == {"a": 1}  # the library's silence we guard against
    assert refused(data) == "lock.cbor.trailing"


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("a2616101616102"),  # {"a": 1, "a": 2}
        bytes.fromhex("a201010102"),  # {1: 1, 1: 2}
        bytes.fromhex("a1616181a2016101016162"),  # nested: {"a": [{1: "a", 1: "b"}]}
    ],
)
def test_duplicate_map_keys_are_refused(data: bytes) -> None:
    assert refused(data) == "lock.cbor.duplicate_key"


@pytest.mark.parametrize("opener", [b"\x81", b"\xa1\x00"])
def test_depth_bomb_is_refused_before_decoding(opener: bytes) -> None:
    bomb = opener * 100_000 + b"\x00"
    assert refused(bomb, max_size=10**6) == "lock.cbor.depth"
    assert cbor.decode(opener * 16 + b"\x00") is not None  # at the limit it is fine


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("5bffffffffffffffff"),  # bytes of 2**64-1
        bytes.fromhex("7b7fffffffffffffff"),  # text of 2**63-1
        bytes.fromhex("9bffffffffffffffff00"),  # array of 2**64-1 items
        bytes.fromhex("bb00000000ffffffff0000"),  # map of 2**32-1 pairs
    ],
)
def test_huge_length_prefix_is_refused(data: bytes) -> None:
    assert refused(data) == "lock.cbor.malformed"


def test_every_truncation_is_refused() -> None:
    data = cbor.encode({"lock": "LOCK-0001", "log": [{"e": b"x" * 30, "n": 300}]})
    for cut in range(len(data)):
        assert refused(data[:cut]) == "lock.cbor.malformed"


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("1801"),  # 1 in two bytes
        bytes.fromhex("a2616201616101"),  # keys out of canonical order
        bytes.fromhex("9f01ff"),  # indefinite array
        bytes.fromhex("5f4101ff"),  # indefinite bytes
    ],
)
def test_non_canonical_encodings_are_refused(data: bytes) -> None:
    assert cbor2.loads(data) is not None
    assert refused(data) == "lock.cbor.noncanonical"


def test_size_limit() -> None:
    data = cbor.encode(b"x" * 100)
    assert refused(data, max_size=50) == "lock.cbor.size"
    assert refused(cbor.encode(b"x" * (64 * 1024))) == "lock.cbor.size"


def test_invalid_utf8_is_malformed_not_a_unicode_error() -> None:
    assert refused(bytes.fromhex("62c328")) == "lock.cbor.malformed"


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_cbor_errors(data: bytes) -> None:
    try:
        value = cbor.decode(data)
    except LockError as exc:
        assert exc.code.startswith("lock.cbor.")
    else:
        assert cbor.encode(value) == data

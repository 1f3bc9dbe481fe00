"""COSE_Sign1 on its own, and the strict CBOR decoder in front of it."""

from __future__ import annotations

import cbor2
import pytest
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.messages.sign1message import Sign1Message

from ctop_node.crypto.cose import decode_sign1, sign1, strict_loads, verify1
from ctop_node.crypto.errors import BadSignature, MalformedMessage, UnknownKey
from ctop_node.crypto.interfaces import Signer
from tests._homes import Home


def test_signer_fits_the_interface(kz: Home) -> None:
    assert isinstance(kz.signer, Signer)
    assert "PRIVATE" not in repr(kz.signer) and kz.signer.kid.hex() in repr(kz.signer)


def test_sign1_round_trip_and_kid(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    data = sign1(b"lock payload", kz.signer)
    assert data[0] == 0xD2  # CBOR tag 18: COSE_Sign1
    verified = verify1(data, cn.trust())
    assert verified.payload == b"lock payload"
    assert verified.signer.party == "KZ" and verified.signer.kid == kz.signer.kid
    assert len(data) - len(b"lock payload") < 90  # compact enough for a smart lock


def test_unsupported_alg_and_unknown_kid(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    msg = Sign1Message(phdr={Algorithm: Es256, KID: b"\x01" * 8}, payload=b"x")
    msg.signature = b"\x00" * 64
    with pytest.raises(MalformedMessage):  # ES256 is not in our profile
        verify1(msg.encode(tag=True, sign=False), cn.trust())
    data = bytearray(sign1(b"x", kz.signer))
    start = bytes(data).index(kz.signer.kid)
    data[start] ^= 0xFF
    with pytest.raises(UnknownKey):
        verify1(bytes(data), cn.trust())


def test_signature_over_other_bytes_is_refused(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    data = bytearray(sign1(b"pay 100", kz.signer))
    data[data.index(b"100")] = ord("9")
    with pytest.raises(BadSignature):
        verify1(bytes(data), cn.trust())


def test_unprotected_headers_are_refused(kz: Home) -> None:
    item = cbor2.loads(sign1(b"x", kz.signer))
    item.value[1] = {4: kz.signer.kid}
    with pytest.raises(MalformedMessage):
        decode_sign1(cbor2.dumps(item))


@pytest.mark.parametrize(
    "phdr",
    [{1: -8}, {1: -8, 4: b"short"}, {1: -7, 4: b"12345678"}, {4: b"12345678"}],
    ids=["no-kid", "short-kid", "es256", "no-alg"],
)
def test_bad_protected_headers(phdr: dict[int, object]) -> None:
    data = cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(phdr), {}, b"x", b"s" * 64]))
    with pytest.raises(MalformedMessage):
        decode_sign1(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        cbor2.dumps([1, 2, 3]),
        cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])),
        cbor2.dumps(cbor2.CBORTag(18, ["a", {}, b"", b""])),
        b"\x5a\xff\xff\xff\xff",  # claims a 4 GiB byte string
    ],
    ids=["empty", "break", "array", "tag17", "three", "text-phdr", "huge-length"],
)
def test_malformed_inputs(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_sign1(data)


def test_strict_loads_refuses_trailing_bytes_which_cbor2_accepts() -> None:
    data = cbor2.dumps({"a": 1}) + b"\x00"
    assert cbor2.loads(data) == {"a": 1}  # the library's leniency we guard against
    with pytest.raises(MalformedMessage, match="trailing"):
        strict_loads(data)


def test_strict_loads_depth_and_size_limits() -> None:
    with pytest.raises(MalformedMessage):
        strict_loads(b"\x81" * 100 + b"\x00")
    assert strict_loads(b"\x81" * 5 + b"\x00") == [[[[[0]]]]]
    with pytest.raises(MalformedMessage, match="exceeds"):
        strict_loads(cbor2.dumps(b"x" * 100), max_size=50)
    with pytest.raises(MalformedMessage):
        strict_loads("text")  # type: ignore[arg-type]

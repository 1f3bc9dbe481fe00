"""Signed trust updates (``crypto.trust_update``): a peer renews its CRL and announces
rotated keys without a manual re-exchange; every artefact is checked against the pinned CA.

Each test: the sender does ... / result: ...
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctop_node.crypto.cose import decode_sign1, sign1
from ctop_node.crypto.envelope import EnvelopeHeader, open_, seal
from ctop_node.crypto.errors import UntrustedChain
from ctop_node.crypto.node import rotate_keys
from ctop_node.crypto.pki import PartyCA, write_pem
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, HomeTrustStore
from ctop_node.crypto.trust_update import (
    APPLIED,
    MAX_UPDATE_BYTES,
    PAYLOAD_KEYS,
    UNCHANGED,
    TrustUpdateRefused,
    apply_update,
    build_update,
)
from ctop_node.model.messages import MessageType
from tests._clock import MovableClock
from tests._homes import Home, make_home


def _message(kz: Home, cn_trust: BundleTrustStore, signer: SoftwareSigner | None = None) -> bytes:
    header = EnvelopeHeader.new(
        MessageType.CONSIGNMENT, sender="KZ", recipient="CN", tc_version="1", record_id="R-1"
    )
    return seal(header, b"payload", signer or kz.signer, cn_trust.recipient_key("CN"))


def _resign_crl(kz: Home, clock: MovableClock) -> None:
    """``pki crl`` at the KZ CA, at the clock's time."""
    ca = PartyCA.load(kz.paths.ca_dir, clock=clock)
    write_pem(kz.paths.crl, ca.resign_crl())


def test_after_31_days_only_the_pushed_crl_keeps_kz_accepted(
    paired: tuple[Home, Home],
) -> None:
    kz, cn = paired
    clock = MovableClock()
    clock.advance(days=31)
    cn_trust = BundleTrustStore.from_home(cn.home, clock=clock)
    raw = _message(kz, cn.trust())
    with pytest.raises(UntrustedChain) as err:  # without the update: refused, fail closed
        open_(raw, cn_trust, cn.decryptor, "CN")
    assert err.value.code == "crypto.crl_stale"

    _resign_crl(kz, clock)
    result = apply_update(
        cn.home, build_update(kz.home, kz.signer, "CN", clock=clock), "CN", clock=clock
    )
    assert result.status == APPLIED and result.crl_number >= 2
    opened = open_(raw, BundleTrustStore.from_home(cn.home, clock=clock), cn.decryptor, "CN")
    assert opened.payload == b"payload"


def test_the_same_update_twice_is_unchanged(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    clock = MovableClock()
    _resign_crl(kz, clock)
    first = build_update(kz.home, kz.signer, "CN", clock=clock)
    assert apply_update(cn.home, first, "CN", clock=clock).status == APPLIED
    clock.advance(minutes=1)
    again = build_update(kz.home, kz.signer, "CN", clock=clock)
    assert apply_update(cn.home, again, "CN", clock=clock).status == UNCHANGED


def test_an_older_update_is_a_rollback(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    clock = MovableClock()
    old = build_update(kz.home, kz.signer, "CN", clock=clock)
    clock.advance(hours=1)
    _resign_crl(kz, clock)
    newer = build_update(kz.home, kz.signer, "CN", clock=clock)
    assert apply_update(cn.home, newer, "CN", clock=clock).status == APPLIED
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, old, "CN", clock=clock)
    assert err.value.code == "crypto.trust_update.rollback"


def test_an_update_cannot_bring_another_ca(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    rogue = make_home(tmp_path / "rogue", "KZ")  # same Party, another CA
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, build_update(rogue.home, rogue.signer, "CN"), "CN")
    assert err.value.code == "crypto.trust_update.other_ca"


def _forged(kz: Home, rogue: Home, **swap: bytes | list[bytes]) -> bytes:
    """KZ's genuine update with parts swapped for the rogue's, re-signed by ``rogue``."""
    genuine = cbor2.loads(decode_sign1(build_update(kz.home, kz.signer, "CN")).payload)
    genuine.update(swap)
    return sign1(cbor2.dumps(genuine, canonical=True), rogue.signer)


def test_parts_of_another_ca_under_the_pinned_fingerprint_are_refused(
    paired: tuple[Home, Home], tmp_path: Path
) -> None:
    kz, cn = paired
    rogue = make_home(tmp_path / "rogue", "KZ")
    theirs = cbor2.loads(decode_sign1(build_update(rogue.home, rogue.signer, "CN")).payload)
    for part, code in (
        ("crl", "crypto.trust_update.crl"),
        ("signing", "crypto.trust_update.certificate"),
        ("encryption", "crypto.trust_update.certificate"),
    ):
        with pytest.raises(TrustUpdateRefused) as err:
            apply_update(cn.home, _forged(kz, rogue, **{part: theirs[part]}), "CN")
        assert err.value.code == code, part
    # KZ's genuine certificates, but signed by a key KZ's CA never certified
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, _forged(kz, rogue), "CN")
    assert err.value.code == "crypto.trust_update.signer"


def test_tampered_update_fails_its_signature(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    raw = bytearray(build_update(kz.home, kz.signer, "CN"))
    raw[-5] ^= 0x01  # inside the signature
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, bytes(raw), "CN")
    assert err.value.code == "crypto.trust_update.bad_signature"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "malformed"),
        (b"\xa0", "malformed"),
        (b"x" * (MAX_UPDATE_BYTES + 1), "too_large"),
    ],
)
def test_garbage_is_refused(paired: tuple[Home, Home], raw: bytes, code: str) -> None:
    _, cn = paired
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, raw, "CN")
    assert err.value.code == f"crypto.trust_update.{code}"


def test_update_for_another_recipient_or_an_unknown_party(
    paired: tuple[Home, Home], tmp_path: Path
) -> None:
    kz, cn = paired
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, build_update(kz.home, kz.signer, "RU"), "CN")
    assert err.value.code == "crypto.trust_update.recipient"
    stranger = make_home(tmp_path / "uz", "UZ")
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, build_update(stranger.home, stranger.signer, "CN"), "CN")
    assert err.value.code == "crypto.trust_update.unknown_party"


def test_a_stale_crl_in_an_update_is_refused(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    clock = MovableClock()
    clock.advance(days=31)
    with pytest.raises(TrustUpdateRefused) as err:  # pushing the old CRL does not help
        apply_update(
            cn.home, build_update(kz.home, kz.signer, "CN", clock=clock), "CN", clock=clock
        )
    assert err.value.code == "crypto.trust_update.crl"


def test_an_update_revoking_its_own_signer_is_refused(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    PartyCA.load(kz.paths.ca_dir).revoke(kz.signer.certificate.serial_number)
    write_pem(kz.paths.crl, PartyCA.load(kz.paths.ca_dir).crl())
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, build_update(kz.home, kz.signer, "CN"), "CN")
    assert err.value.code == "crypto.trust_update.certificate"


def test_rotation_announced_old_messages_still_verify_and_decrypt(
    paired: tuple[Home, Home],
) -> None:
    kz, cn = paired
    old_signer = kz.signer
    before = _message(kz, cn.trust())  # in flight, signed with the key about to retire
    to_kz_old = seal(  # CN encrypted to KZ's old key before it learnt the new one
        EnvelopeHeader.new(MessageType.RECEIPT, sender="CN", recipient="KZ", tc_version="1"),
        b"answer",
        cn.signer,
        cn.trust().recipient_key("KZ"),
    )
    sign_kid, enc_kid = rotate_keys(kz.home, kz.ca)
    assert kz.signer.kid == sign_kid != old_signer.kid
    result = apply_update(cn.home, build_update(kz.home, kz.signer, "CN"), "CN")
    assert result.status == APPLIED
    assert set(result.signing_kids) == {sign_kid.hex(), old_signer.kid.hex()}
    trust = cn.trust()
    assert trust.recipient_key("KZ").kid == enc_kid  # CN now encrypts to the new key
    assert open_(before, trust, cn.decryptor, "CN").payload == b"payload"
    assert open_(_message(kz, trust), trust, cn.decryptor, "CN").signer.kid == sign_kid
    decryptor = SoftwareDecryptor.from_home(kz.home)
    assert decryptor.kid == enc_kid and decryptor.holds(to_kz_old and _rkid(to_kz_old))
    assert open_(to_kz_old, kz.trust(), decryptor, "KZ").payload == b"answer"


def _rkid(raw: bytes) -> bytes:
    inner = cbor2.loads(decode_sign1(raw).payload)
    rkid: bytes = cbor2.loads(inner["h"])["rkid"]
    return rkid


def test_retired_keys_leave_the_bundle_once_expired(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    old = kz.signer
    rotate_keys(kz.home, kz.ca)
    clock = MovableClock(old.certificate.not_valid_after_utc + dt.timedelta(seconds=1))
    payload = cbor2.loads(decode_sign1(build_update(kz.home, kz.signer, "CN", clock=clock)).payload)
    assert len(payload["signing"]) == 1


def test_home_trust_store_sees_an_applied_update(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    clock = MovableClock()
    live = HomeTrustStore(cn.home, clock=clock, interval=0.0)
    clock.advance(days=31)
    raw = _message(kz, cn.trust())
    with pytest.raises(UntrustedChain):
        open_(raw, live, cn.decryptor, "CN")
    _resign_crl(kz, clock)
    apply_update(cn.home, build_update(kz.home, kz.signer, "CN", clock=clock), "CN", clock=clock)
    assert open_(raw, live, cn.decryptor, "CN").payload == b"payload"


def test_payload_with_an_extra_field_is_malformed(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    genuine = cbor2.loads(decode_sign1(build_update(kz.home, kz.signer, "CN")).payload)
    genuine["ca"] = b"a CA smuggled in"
    raw = sign1(cbor2.dumps(genuine, canonical=True), kz.signer)
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, raw, "CN")
    assert err.value.code == "crypto.trust_update.malformed"


_FIXTURE = [HealthCheck.function_scoped_fixture]  # the homes do not change between examples
_CBOR = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=64) | st.text(max_size=64),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=16), inner),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=512),
        _CBOR.map(lambda v: bytes(cbor2.dumps(v))),
        _CBOR.map(lambda v: bytes(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, cbor2.dumps(v), b""])))),
    )
)
def test_any_bytes_are_refused_with_a_trust_update_code(
    paired: tuple[Home, Home], raw: bytes
) -> None:
    _, cn = paired
    with pytest.raises(TrustUpdateRefused) as err:
        apply_update(cn.home, raw, "CN")
    assert err.value.code.startswith("crypto.trust_update.")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(sorted(PAYLOAD_KEYS)), _CBOR)
def test_any_field_of_a_signed_update_replaced_is_refused(
    paired: tuple[Home, Home], key: str, value: object
) -> None:
    kz, cn = paired
    genuine = cbor2.loads(decode_sign1(build_update(kz.home, kz.signer, "CN")).payload)
    if genuine[key] == value or (key == "tls" and value == []):
        return  # still a valid update (no TLS certificate is allowed)
    genuine[key] = value
    with pytest.raises(TrustUpdateRefused):
        apply_update(cn.home, sign1(cbor2.dumps(genuine, canonical=True), kz.signer), "CN")

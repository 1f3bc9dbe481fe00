"""The message envelope: a KZ node seals, a CN node opens; each refusal has its code.

Each test: a sender does something / result: the receiver refuses with one stable code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from ctop_node.crypto.cose import decode_sign1, sign1
from ctop_node.crypto.envelope import EnvelopeHeader, OpenedMessage, open_, seal
from ctop_node.crypto.errors import (
    CertExpired,
    CertRevoked,
    DecryptFailed,
    DigestMismatch,
    MalformedMessage,
    SenderMismatch,
    UnknownKey,
    UntrustedChain,
    WrongRecipient,
)
from ctop_node.crypto.interfaces import Decryptor, PeerIdentity, kid_of
from ctop_node.crypto.pki import PartyCA, load_certificate, write_pem, write_private_key
from ctop_node.crypto.software import SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, TrustBundle, export_trust, import_trust
from ctop_node.errors import CryptoError
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.messages import MessageType
from ctop_node.model.record import Consignment
from tests._homes import Home, make_home, make_pair

PAYLOAD = b'{"record": "' + b"x" * 2000 + b'"}'


def header(**changes: Any) -> EnvelopeHeader:
    base = EnvelopeHeader.new(
        MessageType.CONSIGNMENT,
        sender="KZ",
        recipient="CN",
        tc_version="1",
        record_id="KZ-2026-0001",
        version=1,
    )
    return dataclasses.replace(base, **changes)


def send(kz: Home, cn: Home, payload: bytes = PAYLOAD, **changes: Any) -> bytes:
    return seal(header(**changes), payload, kz.signer, kz.trust().recipient_key("CN"))


def receive(cn: Home, data: bytes, **kw: Any) -> OpenedMessage:
    return open_(data, cn.trust(), cn.decryptor, "CN", **kw)


def resign(
    data: bytes, signer: SoftwareSigner, change: Callable[[dict[str, Any], dict[str, Any]], None]
) -> bytes:
    """A validly signed message whose content was altered before signing (a buggy or
    malicious sender holding a real key)."""
    inner = cbor2.loads(decode_sign1(data).payload)
    fields = cbor2.loads(inner["h"])
    change(inner, fields)
    inner["h"] = cbor2.dumps(fields, canonical=True)
    return sign1(cbor2.dumps(inner, canonical=True), signer)


def test_decryptor_fits_the_interface(cn: Home) -> None:
    assert isinstance(cn.decryptor, Decryptor)


def test_round_trip(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    sent = header(correlation_id="0b8f6a3e-2c1d-4e5f-9a7b-1c2d3e4f5a6b")
    data = seal(sent, PAYLOAD, kz.signer, kz.trust().recipient_key("CN"))
    opened = receive(cn, data)
    assert opened.payload == PAYLOAD and opened.encrypted
    assert opened.header == dataclasses.replace(
        sent, payload_digest=hashlib.sha256(PAYLOAD).hexdigest()
    )
    assert opened.signer.party == "KZ" and opened.signer.kid == kz.signer.kid
    assert opened.raw == data and opened.message_digest == hashlib.sha256(data).hexdigest()
    assert b"xxxxxxxx" not in data  # confidential at rest and in any queue
    # non-repudiation: the kept signature still verifies against the kept raw bytes
    sig = decode_sign1(opened.raw)
    public = opened.signer.certificate.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(opened.signature, sig.to_be_signed)


def test_record_payload_digest_is_the_canonical_record_digest(
    paired: tuple[Home, Home], record_dict: dict[str, Any]
) -> None:
    kz, cn = paired
    record = Consignment.model_validate(record_dict)
    opened = receive(cn, send(kz, cn, canonical_bytes(record)))
    assert opened.header.payload_digest == digest(record)


def test_dict_header_and_receipt_reply(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    first = receive(cn, send(kz, cn))
    receipt = seal(
        {
            "type": MessageType.RECEIPT,
            "tc_version": "1",
            "sender": "CN",
            "recipient": "KZ",
            "correlation_id": first.header.message_id,
        },
        first.message_digest.encode(),
        cn.signer,
        cn.trust().recipient_key("KZ"),
    )
    opened = open_(receipt, kz.trust(), kz.decryptor, "KZ")
    assert opened.header.type is MessageType.RECEIPT
    assert opened.header.correlation_id == first.header.message_id
    assert opened.payload.decode() == first.message_digest


def test_plaintext_is_refused_unless_allowed(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    data = seal(header(), PAYLOAD, kz.signer, None, plaintext=True)
    assert PAYLOAD in data
    with pytest.raises(DecryptFailed) as err:
        receive(cn, data)
    assert err.value.code == "crypto.plaintext"
    assert receive(cn, data, allow_plaintext=True).payload == PAYLOAD


def test_seal_refuses_a_digest_that_does_not_match(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    with pytest.raises(DigestMismatch):
        send(kz, cn, payload_digest="0" * 64)


def test_seal_refuses_to_speak_for_another_party(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    with pytest.raises(SenderMismatch):
        send(kz, cn, sender="CN", recipient="KZ")


# -- refusals, in the order open_() checks them ------------------------------------------


def expect(code: str, cn: Home, data: bytes) -> CryptoError:
    with pytest.raises(CryptoError) as err:
        receive(cn, data)
    assert err.value.code == code, err.value
    return err.value


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d + b"\x00",
        lambda d: d + d,
        lambda d: d[:-1],
        lambda d: b"\x00" + d,
        lambda d: b"\x81" * 200 + d,
    ],
    ids=["trailing-byte", "two-messages", "truncated", "leading-byte", "deep"],
)
def test_malformed(paired: tuple[Home, Home], mutate: Callable[[bytes], bytes]) -> None:
    kz, cn = paired
    expect("crypto.malformed", cn, mutate(send(kz, cn)))


def test_oversized_input_is_refused_before_decoding(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    big = send(kz, cn, b"y" * (1 << 20))
    assert receive(cn, big).payload == b"y" * (1 << 20)
    with pytest.raises(MalformedMessage, match="exceeds"):
        receive(cn, big, max_size=1 << 19)
    expect("crypto.malformed", cn, b"\x00" * (9 << 20))


def test_tampered_payload_byte(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    data = bytearray(send(kz, cn))
    data[-200] ^= 0x01  # inside the ciphertext
    expect("crypto.bad_signature", cn, bytes(data))


def test_tampered_header(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    data = send(kz, cn, record_id="KZ-2026-0001")
    tampered = data.replace(b"KZ-2026-0001", b"KZ-2026-0002")
    assert tampered != data and len(tampered) == len(data)
    expect("crypto.bad_signature", cn, tampered)


def test_signature_by_an_unknown_key(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    rogue = make_home(tmp_path / "rogue", "KZ")  # same Party code, another CA
    data = seal(header(), PAYLOAD, rogue.signer, kz.trust().recipient_key("CN"))
    expect("crypto.unknown_key", cn, data)


@dataclasses.dataclass
class _KnowsExtraCerts:
    """A trust store that can look up certificates it was shown (as if they travelled in
    the message), but still judges them with the real store."""

    store: BundleTrustStore
    extra: dict[bytes, x509.Certificate]

    def certificate_for(self, kid: bytes) -> x509.Certificate:
        return self.extra.get(kid) or self.store.certificate_for(kid)

    def verify_certificate(self, certificate: x509.Certificate, at: dt.datetime) -> PeerIdentity:
        return self.store.verify_certificate(certificate, at)

    def recipient_key(self, party: str) -> Any:
        return self.store.recipient_key(party)


def test_certificate_from_another_ca(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    rogue = make_home(tmp_path / "rogue", "KZ")
    data = seal(header(), PAYLOAD, rogue.signer, kz.trust().recipient_key("CN"))
    trust = _KnowsExtraCerts(cn.trust(), {rogue.signer.kid: rogue.signer.certificate})
    with pytest.raises(UntrustedChain):
        open_(data, trust, cn.decryptor, "CN")


def _signer_with_cert(
    kz: Home, tmp_path: Path, start: dt.datetime, end: dt.datetime
) -> tuple[SoftwareSigner, x509.Certificate]:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = kz.ca.issue_signing(key.public_key(), "short-lived", not_before=start, not_after=end)
    write_private_key(tmp_path / "short.key", key)
    write_pem(tmp_path / "short.pem", cert)
    return SoftwareSigner.from_files(tmp_path / "short.key", tmp_path / "short.pem"), cert


def _trusting(cn: Home, extra_signing: x509.Certificate) -> BundleTrustStore:
    bundles = dict(cn.trust().bundles)
    kz_bundle = bundles["KZ"]
    bundles["KZ"] = dataclasses.replace(kz_bundle, signing=(*kz_bundle.signing, extra_signing))
    return BundleTrustStore(bundles)


def test_expired_certificate(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    now = dt.datetime.now(dt.UTC)
    signer, cert = _signer_with_cert(
        kz, tmp_path, now - dt.timedelta(minutes=4), now - dt.timedelta(minutes=2)
    )
    # signed while the certificate was valid, received after it expired
    data = seal(
        header(created_at=now - dt.timedelta(minutes=3)),
        PAYLOAD,
        signer,
        kz.trust().recipient_key("CN"),
    )
    with pytest.raises(CertExpired):
        open_(data, _trusting(cn, cert), cn.decryptor, "CN")


def test_created_before_certificate_validity(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    now = dt.datetime.now(dt.UTC)
    signer, cert = _signer_with_cert(
        kz, tmp_path, now - dt.timedelta(minutes=1), now + dt.timedelta(days=1)
    )
    data = seal(
        header(created_at=now - dt.timedelta(minutes=3)),
        PAYLOAD,
        signer,
        kz.trust().recipient_key("CN"),
    )
    with pytest.raises(CertExpired):
        open_(data, _trusting(cn, cert), cn.decryptor, "CN")


def test_revoked_certificate(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    data = send(kz, cn)
    assert receive(cn, data).payload == PAYLOAD
    crl = PartyCA.load(kz.paths.ca_dir).revoke(load_certificate(kz.paths.sign_cert).serial_number)
    export_trust(kz.home, tmp_path / "kz-new.json", crl=crl)
    import_trust(cn.home, tmp_path / "kz-new.json", own_party="CN")
    with pytest.raises(CertRevoked):
        receive(cn, data)


def test_sender_that_is_not_the_certificates_party(paired: tuple[Home, Home]) -> None:
    kz, cn = paired

    def claim_ru(inner: dict[str, Any], fields: dict[str, Any]) -> None:
        fields["sender"] = "RU"

    expect("crypto.sender_mismatch", cn, resign(send(kz, cn), kz.signer, claim_ru))


def test_wrong_recipient(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    with pytest.raises(WrongRecipient):
        open_(send(kz, cn), cn.trust(), cn.decryptor, "RU")
    ru = make_home(tmp_path, "RU")
    with pytest.raises(WrongRecipient):  # a node of another Party never opens it
        open_(send(kz, cn), cn.trust(), ru.decryptor, "RU")


def test_encrypted_to_a_key_we_do_not_hold(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    other_cn = make_home(tmp_path / "second", "CN")
    with pytest.raises(DecryptFailed):
        open_(send(kz, cn), cn.trust(), other_cn.decryptor, "CN")


def test_ciphertext_damaged_before_signing(paired: tuple[Home, Home]) -> None:
    kz, cn = paired

    def flip(inner: dict[str, Any], fields: dict[str, Any]) -> None:
        inner["p"] = inner["p"][:-1] + bytes([inner["p"][-1] ^ 1])

    expect("crypto.decrypt", cn, resign(send(kz, cn), kz.signer, flip))


def test_header_changed_after_encryption(paired: tuple[Home, Home]) -> None:
    """The header is bound into the HPKE context: re-signing a changed header is not enough."""
    kz, cn = paired

    def bump(inner: dict[str, Any], fields: dict[str, Any]) -> None:
        fields["version"] = 2

    expect("crypto.decrypt", cn, resign(send(kz, cn), kz.signer, bump))


def test_payload_digest_mismatch(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    data = seal(header(), PAYLOAD, kz.signer, None, plaintext=True)

    def swap(inner: dict[str, Any], fields: dict[str, Any]) -> None:
        inner["p"] = PAYLOAD.replace(b"x", b"z")

    with pytest.raises(DigestMismatch):
        receive(cn, resign(data, kz.signer, swap), allow_plaintext=True)


@pytest.mark.parametrize(
    "field,value",
    [
        ("message_id", "not-a-uuid"),
        ("message_id", "0B8F6A3E-2C1D-4E5F-9A7B-1C2D3E4F5A6B"),
        ("type", "PING"),
        ("sender", "kz"),
        ("created_at", "yesterday"),
        ("created_at", "2026-01-01T00:00:00"),
        ("payload_digest", "ABC"),
        ("version", 0),
        ("version", True),
        ("tc_version", ""),
        ("surprise", 1),
    ],
)
def test_malformed_header_fields(paired: tuple[Home, Home], field: str, value: Any) -> None:
    kz, cn = paired

    def put(inner: dict[str, Any], fields: dict[str, Any]) -> None:
        fields[field] = value

    err = expect("crypto.malformed", cn, resign(send(kz, cn), kz.signer, put))
    assert field in str(err) or "header" in str(err)


def test_signer_key_must_match_its_certificate(kz: Home, cn: Home) -> None:
    from ctop_node.crypto.errors import PkiError

    with pytest.raises(PkiError) as err:
        SoftwareSigner.from_files(kz.paths.sign_key, cn.paths.sign_cert)
    assert err.value.code == "crypto.pki.key_mismatch"
    assert kid_of(load_certificate(kz.paths.sign_cert)) == kz.signer.kid


def test_bundle_store_without_peer_cannot_encrypt(kz: Home) -> None:
    with pytest.raises(UnknownKey):
        kz.trust().recipient_key("CN")
    assert isinstance(TrustBundle.from_home(kz.home), TrustBundle)


# -- fuzz: any input gives a CryptoError, never another exception --------------------------


@pytest.fixture(scope="module")
def fuzz_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Home]:
    root = tmp_path_factory.mktemp("fuzz")
    kz, cn = make_pair(root)
    return send(kz, cn, b"short payload"), cn


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes(fuzz_pair: tuple[bytes, Home], data: bytes) -> None:
    _, cn = fuzz_pair
    with pytest.raises(CryptoError):
        receive(cn, data)


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
    cut=st.booleans(),
)
def test_fuzz_damaged_message(
    fuzz_pair: tuple[bytes, Home], position: int, flip: int, cut: bool
) -> None:
    good, cn = fuzz_pair
    position %= len(good)
    damaged = (
        good[:position]
        if cut
        else (good[:position] + bytes([good[position] ^ flip]) + good[position + 1 :])
    )
    with pytest.raises(CryptoError):
        receive(cn, damaged)

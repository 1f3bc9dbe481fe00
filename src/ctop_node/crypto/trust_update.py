"""Signed trust updates: a node tells its peer about its new CRL and certificates, on the
peer port, so that no manual re-exchange of bundles is needed (``docs/protocol/trust.md``).

Wire: one tagged COSE_Sign1 (the same profile as the message envelope: EdDSA, 8-byte kid in
the protected header, no unprotected header) whose payload is a canonical CBOR map::

    {"format": "ctop-trust-update/1", "party": "KZ", "recipient": "CN",
     "issued_at": "2026-11-28T08:00:00.000000+00:00",
     "ca_fingerprint": "<SHA-256 of the Party CA certificate, hex>",
     "crl": <DER>, "signing": [<DER>, ...], "encryption": <DER>, "tls": [<DER>, ...]}

The anchor is the Party CA the receiver pinned at ``import-trust``: an update carries no
CA, and everything in it (CRL, every certificate, the certificate that signed the update)
must verify against that pinned CA. An update can therefore renew a CRL, announce rotated
keys or new TLS names, but never introduce another CA: that takes a new bundle and a phone
call. :func:`apply_update` checks in the order of the doc and raises
:class:`TrustUpdateRefused` with a stable code at the first failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from ctop_node.crypto.cose import check_signature, decode_sign1, sign1, strict_loads
from ctop_node.crypto.errors import BadSignature, MalformedMessage
from ctop_node.crypto.interfaces import Signer, kid_of
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import Clock, crl_number, party_of, utcnow
from ctop_node.crypto.trust import (
    BUNDLE_FILE,
    MAX_SIGNING_CERTS,
    MAX_TLS_CERTS,
    TrustBundle,
    store_peer_bundle,
)
from ctop_node.errors import CryptoError

UPDATE_FORMAT = "ctop-trust-update/1"
MAX_UPDATE_BYTES = 256 * 1024  # ~25 certificates of < 1 KiB and a CRL of a few thousand serials
MAX_FUTURE = dt.timedelta(minutes=5)  # clock skew between the two nodes
STATE_FILE = "last-update.json"
PAYLOAD_KEYS = frozenset(
    {"format", "party", "recipient", "issued_at", "ca_fingerprint", "crl", "signing"}
    | {"encryption", "tls"}
)


class TrustUpdateRefused(CryptoError):
    """A peer's trust update does not check: ``crypto.trust_update.<why>`` (malformed,
    too_large, recipient, unknown_party, other_ca, time, crl, rollback, certificate, signer,
    bad_signature). Never a message answer code: it is the answer of the trust route."""

    code = "crypto.trust_update"


APPLIED = "applied"
UNCHANGED = "unchanged"


def _der(obj: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return obj.public_bytes(Encoding.DER)


def build_update(home: Path, signer: Signer, recipient: str, *, clock: Clock = utcnow) -> bytes:
    """The trust update this node sends to ``recipient``: its own bundle as it is on disk
    now (current CRL, current and retired signing certificates, encryption and TLS)."""
    now = clock()
    bundle = TrustBundle.from_home(home, at=now)
    payload = {
        "format": UPDATE_FORMAT,
        "party": bundle.party,
        "recipient": recipient,
        "issued_at": now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "ca_fingerprint": bundle.fingerprint.replace(":", ""),
        "crl": _der(bundle.crl),
        "signing": [_der(c) for c in bundle.signing],
        "encryption": _der(bundle.encryption),
        "tls": [_der(c) for c in bundle.tls],
    }
    return sign1(bytes(cbor2.dumps(payload, canonical=True)), signer)


def content_digest(home: Path, *, at: dt.datetime | None = None) -> str:
    """SHA-256 over what an update would carry (not its time): the sender pushes again
    whenever this changes (a new CRL, a rotation, a new TLS certificate)."""
    bundle = TrustBundle.from_home(home, at=at)
    h = hashlib.sha256(hashlib.sha256(_der(bundle.crl)).digest())
    for cert in (*bundle.signing, bundle.encryption, *bundle.tls):
        h.update(hashlib.sha256(_der(cert)).digest())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class UpdateResult:
    status: str  # APPLIED or UNCHANGED
    party: str
    crl_number: int
    crl_next_update: dt.datetime | None
    signing_kids: tuple[str, ...]


def _refuse(code: str, message: str) -> TrustUpdateRefused:
    return TrustUpdateRefused(message, code=f"crypto.trust_update.{code}")


def _bytes_list(value: Any, name: str, low: int, high: int) -> list[bytes]:
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise _refuse("malformed", f"{name} must be an array of {low}..{high} byte strings")
    if not all(isinstance(v, bytes) for v in value):
        raise _refuse("malformed", f"{name} must hold byte strings (DER)")
    return value


def _decode(raw: bytes) -> tuple[bytes, str, bytes, bytes, dict[str, Any]]:
    """(kid, alg, signature, to_be_signed, payload map) of a well-formed update."""
    if len(raw) > MAX_UPDATE_BYTES:
        raise _refuse("too_large", f"a trust update is at most {MAX_UPDATE_BYTES} bytes")
    try:
        msg = decode_sign1(raw, max_size=MAX_UPDATE_BYTES)
        data = strict_loads(msg.payload, max_size=MAX_UPDATE_BYTES, max_depth=3)
    except MalformedMessage as exc:
        raise _refuse("malformed", exc.message) from exc
    if not isinstance(data, dict) or set(data) != PAYLOAD_KEYS:
        # quote at most a few short keys: the payload comes from outside
        got = (
            sorted(str(k)[:32] for k in data)[:12]
            if isinstance(data, dict)
            else type(data).__name__
        )
        raise _refuse(
            "malformed", f"the payload must be a map of {sorted(PAYLOAD_KEYS)}, got {got}"
        )
    if data["format"] != UPDATE_FORMAT:
        raise _refuse("malformed", f"format is not {UPDATE_FORMAT}")
    for key in ("party", "recipient", "issued_at", "ca_fingerprint"):
        if not isinstance(data[key], str) or not 0 < len(data[key]) <= 64:
            raise _refuse("malformed", f"{key} must be text of 1..64 characters")
    if not isinstance(data["crl"], bytes) or not isinstance(data["encryption"], bytes):
        raise _refuse("malformed", "crl and encryption must be byte strings (DER)")
    _bytes_list(data["signing"], "signing", 1, MAX_SIGNING_CERTS)
    _bytes_list(data["tls"], "tls", 0, MAX_TLS_CERTS)
    return msg.kid, msg.alg, msg.signature, msg.to_be_signed, data


def _pinned(home: Path, party: str) -> TrustBundle:
    file = NodePaths(home).peer_dir(party) / BUNDLE_FILE
    if not file.is_file():
        raise _refuse("unknown_party", f"no trust bundle of Party {party} was imported here")
    return TrustBundle.from_json(file.read_text("utf-8"))


def _has_eku(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    try:
        return oid in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False


def _usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _check_cert(
    der: bytes,
    role: str,
    pinned: TrustBundle,
    crl: x509.CertificateRevocationList,
    now: dt.datetime,
) -> x509.Certificate:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise _refuse("malformed", f"a {role} certificate is not DER X.509") from exc
    subject = cert.subject.rfc4514_string()[:120]

    def bad(why: str) -> TrustUpdateRefused:
        return _refuse("certificate", f"{role} certificate {subject}: {why}")

    try:
        cert.verify_directly_issued_by(pinned.ca)
    except Exception as exc:
        raise bad("not issued by the pinned Party CA") from exc
    if party_of(cert) != pinned.party:
        raise bad(f"does not name Party {pinned.party}")
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise bad("is a CA certificate")
    except x509.ExtensionNotFound:
        pass
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise bad(f"not valid now (valid until {cert.not_valid_after_utc.isoformat()})")
    if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
        raise bad(f"serial {cert.serial_number} is revoked by the CRL of this update")
    usage = _usage(cert)
    key = cert.public_key()
    if role == "signing" and not (
        isinstance(key, ed25519.Ed25519PublicKey) and usage is not None and usage.digital_signature
    ):
        raise bad("is not an Ed25519 signing certificate")
    if role == "encryption" and not (
        isinstance(key, x25519.X25519PublicKey) and usage is not None and usage.key_agreement
    ):
        raise bad("is not an X25519 key-agreement certificate")
    if role == "tls" and not _has_eku(cert, ExtendedKeyUsageOID.SERVER_AUTH):
        raise bad("has no serverAuth extended key usage")
    return cert


def _check_crl(der: bytes, pinned: TrustBundle, now: dt.datetime) -> x509.CertificateRevocationList:
    try:
        crl = x509.load_der_x509_crl(der)
    except ValueError as exc:
        raise _refuse("malformed", "crl is not a DER X.509 CRL") from exc
    public = pinned.ca.public_key()
    if crl.issuer != pinned.ca.subject or not crl.is_signature_valid(public):  # type: ignore[arg-type]
        raise _refuse("crl", "the CRL is not signed by the pinned Party CA")
    if crl.next_update_utc is None or crl.next_update_utc < now:
        raise _refuse("crl", "the CRL of this update is already stale (nextUpdate passed)")
    old, new = crl_number(pinned.crl), crl_number(crl)
    if new < old or crl.last_update_utc < pinned.crl.last_update_utc:
        raise _refuse(
            "rollback", f"the CRL (number {new}) is older than the one held (number {old})"
        )
    return crl


def _state(home: Path, party: str) -> dict[str, Any]:
    path = NodePaths(home).peer_dir(party) / STATE_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def apply_update(home: Path, raw: bytes, own_party: str, *, clock: Clock = utcnow) -> UpdateResult:
    """Verify a trust update received from a peer and, when it checks, store the peer's new
    bundle (same pinned CA). Raises :class:`TrustUpdateRefused` (``crypto.trust_update.*``)."""
    now = clock()
    kid, alg, signature, tbs, data = _decode(raw)
    if data["recipient"] != own_party:
        raise _refuse("recipient", f"the update is for {data['recipient']}, we are {own_party}")
    party = data["party"]
    if party == own_party:
        raise _refuse("unknown_party", "an update about our own Party is not accepted")
    pinned = _pinned(home, party)
    if data["ca_fingerprint"].lower() != pinned.fingerprint.replace(":", ""):
        raise _refuse(
            "other_ca",
            f"the update is about a CA other than the pinned CA of {party} "
            f"({pinned.fingerprint}); a new CA needs a new bundle, checked by phone",
        )
    try:
        issued = dt.datetime.fromisoformat(data["issued_at"])
    except ValueError:
        issued = None
    if issued is None or issued.utcoffset() is None:
        raise _refuse("malformed", "issued_at must be an ISO 8601 time with offset")
    if issued > now + MAX_FUTURE:
        raise _refuse("time", f"issued_at {data['issued_at']} is in the future")
    crl = _check_crl(data["crl"], pinned, now)
    signing = [_check_cert(d, "signing", pinned, crl, now) for d in data["signing"]]
    encryption = _check_cert(data["encryption"], "encryption", pinned, crl, now)
    tls = [_check_cert(d, "tls", pinned, crl, now) for d in data["tls"]]
    by_kid = {kid_of(c): c for c in signing}
    signer_cert = by_kid.get(kid)
    if signer_cert is None:
        raise _refuse("signer", f"kid {kid.hex()} is not one of the update's signing certificates")
    try:
        check_signature(alg, signer_cert, signature, tbs)
    except BadSignature as exc:
        raise _refuse("bad_signature", exc.message) from exc
    state = _state(home, party)
    digest = hashlib.sha256(raw).hexdigest()
    last = state.get("issued_at")
    if isinstance(last, str) and issued < dt.datetime.fromisoformat(last):
        raise _refuse("rollback", f"an update issued at {last} was applied already")
    bundle = TrustBundle(party, pinned.ca, crl, tuple(signing), encryption, tuple(tls))
    bundle.check()
    result = UpdateResult(
        UNCHANGED if bundle.to_json() == pinned.to_json() else APPLIED,
        party,
        crl_number(crl),
        crl.next_update_utc,
        tuple(k.hex() for k in by_kid),
    )
    if result.status == APPLIED:
        store_peer_bundle(home, bundle)
    path = NodePaths(home).peer_dir(party) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {"issued_at": issued.isoformat(), "digest": digest, "applied_at": now.isoformat()}
        ),
        "utf-8",
    )
    tmp.replace(path)
    return result

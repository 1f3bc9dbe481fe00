"""Offline check of an evidence bundle (see :mod:`ctop_node.access.evidence`) with nothing
but the bundle and the Party CA certificates: the manifest's signature, every part's digest,
each message's and receipt's signature, certificate chain and CRL, the record digest the
messages carry, the receipts naming the message digest, and the audit entries' links.
The first failure is refused with ``AuditError`` naming the part.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from cryptography import x509

from ctop_node.access._anchor import Anchors, load_pem_certificate, verify_signed
from ctop_node.access.audit_rule import chain_digest, detail_digest
from ctop_node.crypto.cose import decode_sign1, strict_loads
from ctop_node.crypto.interfaces import kid_of
from ctop_node.errors import AuditError, CryptoError

MAX_BUNDLE = 64 * 1024 * 1024
MAX_PARTS = 10_000
FORMAT = "ctop-evidence/1"


@dataclass(slots=True)
class EvidenceReport:
    record: dict[str, Any]
    parts: int
    messages: int = 0
    lock_messages: int = 0  # came on a smart lock: signature checked at reading, not here
    receipts_naming_digest: int = 0
    audit_entries: int = 0
    signed_by: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "record": self.record,
            "parts": self.parts,
            "messages": self.messages,
            "lock_messages": self.lock_messages,
            "receipts_naming_digest": self.receipts_naming_digest,
            "audit_entries": self.audit_entries,
            "signed_by": sorted(self.signed_by),
        }


def _bad(part: str, why: str, code: str = "evidence.part") -> AuditError:
    return AuditError(f"part {part}: {why}", code=code)


def _json(part: str, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _bad(part, "not JSON") from exc


class _Certs:
    """Signing certificates and CRLs of the bundle's trust parts, each CRL checked against
    the anchored CA of its Party."""

    def __init__(self, parts: Mapping[str, bytes], anchors: Anchors) -> None:
        self.by_kid: dict[bytes, tuple[str, x509.Certificate]] = {}
        self.crls: dict[str, x509.CertificateRevocationList] = {}
        for name, data in parts.items():
            if not name.startswith("trust/"):
                continue
            doc = _json(name, data)
            try:
                party = str(doc["party"])
                crl = x509.load_pem_x509_crl(str(doc["crl"]).encode("ascii"))
                certs = [load_pem_certificate(p, name) for p in doc["signing_certs"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise _bad(name, "not a trust bundle") from exc
            ca = anchors.get(party)
            if ca is not None and not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
                raise _bad(name, f"the CRL is not signed by the CA of {party}")
            self.crls[party] = crl
            for cert in certs:
                self.by_kid[kid_of(cert)] = (name, cert)

    def check(
        self, part: str, raw: bytes, anchors: Anchors, at: datetime | None
    ) -> tuple[str, bytes]:
        try:
            kid = decode_sign1(raw).kid
        except CryptoError as exc:
            raise _bad(part, f"not a signed message ({exc.code})") from exc
        found = self.by_kid.get(kid)
        if found is None:
            raise _bad(part, "signed by a key none of the bundle's certificates holds")
        try:
            party, payload = verify_signed(raw, found[1], anchors, f"part {part}", at=at)
        except AuditError as exc:
            raise _bad(part, exc.message, exc.code) from exc
        crl = self.crls.get(party)
        if crl is None:
            raise _bad(part, f"no CRL of Party {party} in the bundle")
        if crl.get_revoked_certificate_by_serial_number(found[1].serial_number) is not None:
            raise _bad(part, "the signing certificate is revoked", "evidence.revoked")
        return party, payload


def _header(part: str, payload: bytes) -> dict[str, Any]:
    try:
        inner = strict_loads(payload)
        fields = strict_loads(inner["h"])
        if not isinstance(fields, dict):
            raise TypeError("header is not a map")
        return fields
    except (CryptoError, KeyError, TypeError) as exc:
        raise _bad(part, "the signed content is not a CTOP envelope") from exc


def _at(part: str, head: Mapping[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(head["created_at"]))
    except (KeyError, ValueError) as exc:
        raise _bad(part, "the header has no created_at") from exc


def _envelope(part: str, raw: bytes, certs: _Certs, anchors: Anchors) -> tuple[str, dict[str, Any]]:
    """(signing Party, header) of a sealed envelope, signature and certificate checked at the
    envelope's ``created_at``."""
    try:
        unverified = decode_sign1(raw).payload
    except CryptoError as exc:
        raise _bad(part, f"not a signed message ({exc.code})") from exc
    party, payload = certs.check(part, raw, anchors, _at(part, _header(part, unverified)))
    head = _header(part, payload)
    if party != head.get("sender"):
        raise _bad(part, f"sender {head.get('sender')} but signed by {party}")
    return party, head


def _lock_message(part: str, raw: bytes, rec: Mapping[str, Any]) -> None:
    """A record that came on a smart lock: its signature is inside the encryption to our
    key (checked when the lock was read); offline, the clear header must name the record."""
    try:
        hdr = strict_loads(raw)["hdr"]
        named = (hdr["record_id"], hdr["version"], hdr["digest"])
    except (CryptoError, KeyError, TypeError) as exc:
        raise _bad(part, "not a lock payload") from exc
    if named != (rec["record_id"], rec["version"], rec["digest"]):
        raise _bad(part, "it does not carry this record version")


def _exchange(
    parts: Mapping[str, bytes],
    certs: _Certs,
    anchors: Anchors,
    rec: Mapping[str, Any],
    ex: Mapping[str, Any],
    report: EvidenceReport,
) -> None:
    n = ex["n"]
    mpart = f"messages/{n}.cose"
    raw = parts[mpart]
    if ex.get("channel") == "lock":
        _lock_message(mpart, raw, rec)
        message_id, recipient = ex["message_id"], rec["origin_party"]
        report.lock_messages += 1
    else:
        party, head = _envelope(mpart, raw, certs, anchors)
        if (head.get("record_id"), head.get("version"), head.get("payload_digest")) != (
            rec["record_id"],
            rec["version"],
            rec["digest"],
        ):
            raise _bad(mpart, "it does not carry this record version")
        report.signed_by.add(party)
        message_id, recipient = head.get("message_id"), head.get("sender")
    report.messages += 1
    rpart = f"receipts/{n}.cose"
    if rpart not in parts:
        return
    aparty, ahead = _envelope(rpart, parts[rpart], certs, anchors)
    if ahead.get("correlation_id") != message_id or ahead.get("recipient") != recipient:
        raise _bad(rpart, "it does not answer the message it is packed with")
    report.signed_by.add(aparty)
    jpart = f"receipts/{n}.json"
    if jpart in parts:
        if hashlib.sha256(parts[jpart]).hexdigest() != ahead.get("payload_digest"):
            raise _bad(jpart, "it is not the content of the signed answer")
        receipt = _json(jpart, parts[jpart])
        if receipt.get("message_digest") != hashlib.sha256(raw).hexdigest():
            raise _bad(jpart, "the receipt does not name this message's digest")
        report.receipts_naming_digest += 1


def _read(data: bytes) -> dict[str, bytes]:
    if len(data) > MAX_BUNDLE:
        raise AuditError("the bundle is larger than any evidence bundle", code="evidence.format")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            # Declared sizes first: a small file must not inflate into gigabytes.
            if len(infos) > MAX_PARTS or sum(i.file_size for i in infos) > MAX_BUNDLE:
                raise AuditError(
                    "the bundle unpacks to more than any evidence bundle", code="evidence.format"
                )
            return {i.filename: zf.read(i) for i in infos}
    except zipfile.BadZipFile as exc:  # also a CRC failure of one member
        raise AuditError(f"not a readable evidence bundle: {exc}", code="evidence.format") from exc


def verify_evidence(data: bytes, anchors: Anchors) -> EvidenceReport:
    parts = _read(data)
    for name in ("manifest.json", "manifest.cose", "manifest.pem"):
        if name not in parts:
            raise _bad(name, "missing", "evidence.format")
    cert = load_pem_certificate(parts["manifest.pem"], "part manifest.pem")
    try:
        _, signed = verify_signed(parts["manifest.cose"], cert, anchors, "part manifest.cose")
    except AuditError as exc:
        raise _bad("manifest.cose", exc.message, exc.code) from exc
    if signed != parts["manifest.json"]:
        raise _bad("manifest.json", "not what the node signed")
    manifest = _json("manifest.json", parts["manifest.json"])
    listed: dict[str, str] = manifest["parts"]
    extra = set(parts) - set(listed) - {"manifest.json", "manifest.cose", "manifest.pem"}
    if extra:
        raise _bad(sorted(extra)[0], "not listed in the manifest")
    for name, digest in listed.items():
        if name not in parts:
            raise _bad(name, "missing")
        if hashlib.sha256(parts[name]).hexdigest() != digest:
            raise _bad(name, "its digest is not the one the manifest lists")
    rec = manifest["record"]
    report = EvidenceReport(record=rec, parts=len(parts))
    if hashlib.sha256(parts["record.json"]).hexdigest() != rec["digest"]:
        raise _bad("record.json", "the body does not hash to the record digest")
    certs = _Certs(parts, anchors)
    for ex in manifest["exchanges"]:
        _exchange(parts, certs, anchors, rec, ex, report)
    for reading in manifest["lock"]:
        lpart = f"lock/{reading['n']}.img"
        if (
            reading["image_digest"]
            and hashlib.sha256(parts[lpart]).hexdigest() != reading["image_digest"]
        ):
            raise _bad(lpart, "the image is not the one read")
        if reading["digest"] != rec["digest"]:
            raise _bad(lpart, "the lock carried another digest of the record")
    for entry in _json("audit.json", parts["audit.json"]):
        if (
            detail_digest(str(entry["detail"])) != entry["detail_digest"]
            or chain_digest(entry["previous"], entry) != entry["digest"]
        ):
            raise _bad("audit.json", f"entry {entry['seq']} does not verify")
        report.audit_entries += 1
    return report

"""The evidence bundle of one record version (as X-Road's signed message-log archives): one
ZIP file an auditor or a court can check offline with the Party CA certificates alone.

Parts: ``record.json`` (the body exactly as digested), ``messages/N.cose`` (each sealed
message that carried it), ``receipts/N.cose`` (the signed answer to it) and, for our own
records, ``receipts/N.json`` (the peer's receipt opened with our key: it names the message
digest), ``trust/<PARTY>.json`` (the certificates and CRL that verified them),
``lock/N.img`` (lock readings), ``audit.json`` (the record's audit entries with the digest
before each), and ``manifest.json`` (every part's SHA-256) signed by the node
(``manifest.cose``, certificate ``manifest.pem``).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.serialization import Encoding

from ctop_node.access._files import write_new_private
from ctop_node.access.audit_chain import CUSTOMS_CONTROL, AuditChain, record_object
from ctop_node.access.audit_rule import GENESIS, timestamp
from ctop_node.access.consent import check_purpose, consent_for
from ctop_node.access.records_export import restriction_mark
from ctop_node.crypto.cose import sign1
from ctop_node.crypto.envelope import open_
from ctop_node.crypto.keyset import NodeKeys
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.trust import BUNDLE_FILE, TrustBundle
from ctop_node.errors import AuditError, CryptoError
from ctop_node.store.audit import AuditLog
from ctop_node.store.consents import ConsentRow
from ctop_node.store.evidence import RecordMaterial, record_material
from ctop_node.store.retention import Retention

FORMAT = "ctop-evidence/1"


def _dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def _trust_json(home: Path, party: str, own: str) -> bytes:
    if party == own:
        return TrustBundle.from_home(home).to_json().encode()
    path = NodePaths(home).peer_dir(party) / BUNDLE_FILE
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AuditError(
            f"no trust bundle of Party {party} at {path}", code="evidence.no_trust"
        ) from exc


def build_evidence(
    chain: AuditChain,
    keys: NodeKeys,
    home: Path,
    own_party: str,
    record_id: str,
    *,
    version: int | None = None,
    origin_party: str | None = None,
    use: Callable[[RecordMaterial], dict[str, Any]] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """The bundle's bytes and its manifest. ``use`` decides, once the record is known, the
    purpose, consent and marks the manifest states (and may refuse)."""
    engine = chain.log.engine
    mat = record_material(engine, record_id, version, origin_party)
    if mat is None:
        raise AuditError(f"record {record_id} is not stored here", code="evidence.not_found")
    key = (mat.origin_party, mat.record_id, mat.version)
    if Retention(engine).purged_at(key) is not None:
        raise AuditError(
            f"record {record_id} v{mat.version} was purged by the retention period: its body "
            "and messages are gone; the audit chain still holds its entries",
            code="evidence.purged",
        )
    parts: dict[str, bytes] = {"record.json": mat.body}
    exchanges = []
    parties = {mat.origin_party, own_party}
    for n, ex in enumerate(mat.exchanged, 1):
        parts[f"messages/{n}.cose"] = ex.message
        item: dict[str, Any] = {
            "n": n,
            "message_id": ex.message_id,
            "peer": ex.peer_party,
            "channel": ex.channel,
            "state": ex.state,
        }
        parties.add(ex.peer_party)
        if ex.answer:
            parts[f"receipts/{n}.cose"] = ex.answer
            if mat.direction == "out":  # the peer's answer, encrypted to us: open it
                try:
                    opened = open_(ex.answer, keys.trust, keys.decryptor, own_party)
                except CryptoError as exc:
                    raise AuditError(
                        f"the answer to message {ex.message_id} does not open: {exc.code}",
                        code="evidence.answer",
                    ) from exc
                parts[f"receipts/{n}.json"] = opened.payload
        exchanges.append(item)
    for n, reading in enumerate(mat.lock, 1):
        parts[f"lock/{n}.img"] = reading.image
    entries = []
    log = AuditLog(engine)
    for e in log.entries(obj=record_object(*key)):
        before = log.entry(e.seq - 1) if e.seq > 1 else None
        entries.append(
            {**e.as_dict(), "at": timestamp(e.at), "previous": before.digest if before else GENESIS}
        )
    parts["audit.json"] = _dumps(entries)
    for party in sorted(parties):
        parts[f"trust/{party}.json"] = _trust_json(home, party, own_party)
    manifest = {
        "format": FORMAT,
        "party": own_party,
        "made_at": timestamp(datetime.now(UTC)),
        "record": {
            "origin_party": mat.origin_party,
            "record_id": mat.record_id,
            "version": mat.version,
            "direction": mat.direction,
            "digest": mat.digest,
        },
        "use": use(mat) if use is not None else {},
        "exchanges": exchanges,
        "lock": [
            {
                "n": n,
                "lock_id": r.lock_id,
                "digest": r.digest,
                "image_digest": r.image_digest,
                "nonce": r.nonce,
                "read_at": timestamp(r.read_at),
            }
            for n, r in enumerate(mat.lock, 1)
        ],
        "parts": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(parts.items())},
    }
    manifest_bytes = _dumps(manifest)
    parts["manifest.json"] = manifest_bytes
    parts["manifest.cose"] = sign1(manifest_bytes, keys.signer)
    parts["manifest.pem"] = keys.signer.certificate.public_bytes(Encoding.PEM)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(parts.items()):
            zf.writestr(name, data)
    return buf.getvalue(), manifest


def write_evidence(
    chain: AuditChain,
    keys: NodeKeys,
    home: Path,
    own_party: str,
    record_id: str,
    out: Path,
    *,
    actor: str,
    origin: str,
    purpose: str = CUSTOMS_CONTROL,
    consents: Sequence[ConsentRow] = (),
    consent_reference: str | None = None,
    version: int | None = None,
    origin_party: str | None = None,
) -> dict[str, Any]:
    """Pack and write a bundle (new file, 0600), audited. A peer record packed for a purpose
    other than customs control needs the providing Party's consent, as any export does."""
    check_purpose(purpose)
    now = datetime.now(UTC)

    def use(mat: RecordMaterial) -> dict[str, Any]:
        consent = None
        if mat.direction == "in" and purpose != CUSTOMS_CONTROL:
            try:
                consent = consent_for(
                    consents,
                    party=mat.origin_party,
                    purpose=purpose,
                    record_ids=[mat.record_id],
                    at=now,
                    reference=consent_reference,
                ).reference
            except AuditError as exc:
                chain.record(
                    actor,
                    "evidence.refused",
                    record_object(mat.origin_party, mat.record_id, mat.version),
                    purpose=purpose,
                    origin=origin,
                    detail={"code": exc.code, "consent": consent_reference, "file": out.name},
                )
                raise
        return {
            "purpose": purpose,
            "consent_reference": consent,
            "packed_by": actor,
            "restriction": restriction_mark(mat.origin_party) if mat.direction == "in" else None,
        }

    data, manifest = build_evidence(
        chain,
        keys,
        home,
        own_party,
        record_id,
        version=version,
        origin_party=origin_party,
        use=use,
    )
    write_new_private(out, data)
    rec = manifest["record"]
    chain.record(
        actor,
        "evidence.export",
        record_object(rec["origin_party"], rec["record_id"], rec["version"]),
        purpose=purpose,
        origin=origin,
        detail={
            "file": out.name,
            "bundle": hashlib.sha256(data).hexdigest(),
            "consent": manifest["use"]["consent_reference"],
        },
    )
    return manifest

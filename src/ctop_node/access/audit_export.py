"""A range of the audit chain with its proof, verifiable offline.

The export holds the entries ``from..to``, the digest of the entry before them, the signed
checkpoints inside the range, and a seal: the node's signature over the range's first and
last positions and digests. :func:`verify_export` needs only the file and the Party CA
certificate: it re-walks the chain with the shared digest rule and checks every signature.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.serialization import Encoding

from ctop_node.access._anchor import Anchors, load_pem_certificate, verify_signed
from ctop_node.access.audit_rule import GENESIS, RULE, timestamp
from ctop_node.access.audit_verify import ChainReport, Problem, verify_chain
from ctop_node.crypto.cose import sign1
from ctop_node.crypto.interfaces import Signer
from ctop_node.crypto.pki import party_of
from ctop_node.errors import AuditError
from ctop_node.store.audit import AuditLog

FORMAT = "ctop-audit-export/1"
MAX_EXPORT = 512 * 1024 * 1024
_SEALED = ("format", "rule", "party", "from", "to", "previous", "last_digest", "count", "at")


def _entry(e: Mapping[str, Any]) -> dict[str, Any]:
    return {**e, "at": timestamp(e["at"])}


def build_export(log: AuditLog, signer: Signer, first: int, last: int) -> dict[str, Any]:
    """The export document of entries ``first..last`` (inclusive), sealed by ``signer``.
    Refused when the stored chain itself does not verify."""
    report = verify_chain(
        [e.as_dict() for e in log.entries()], [asdict(c) for c in log.checkpoints()]
    )
    if not report.ok:
        raise AuditError(
            f"the audit chain is broken at position {report.position}; run `audit verify`",
            code="audit.broken",
        )
    entries = log.entries(first=first, last=last)
    if not entries or entries[0].seq != first or entries[-1].seq != last:
        raise AuditError(
            f"the audit chain holds no complete range {first}..{last} "
            f"(it has {report.first or 0}..{report.last or 0})",
            code="audit.range",
        )
    before = log.entry(first - 1) if first > 1 else None
    party = party_of(signer.certificate) or ""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "rule": RULE,
        "party": party,
        "from": first,
        "to": last,
        "previous": before.digest if before else GENESIS,
        "last_digest": entries[-1].digest,
        "count": len(entries),
        "at": timestamp(datetime.now(UTC)),
    }
    seal = sign1(orjson.dumps({k: doc[k] for k in _SEALED}, option=orjson.OPT_SORT_KEYS), signer)
    doc["entries"] = [_entry(e.as_dict()) for e in entries]
    doc["checkpoints"] = [
        {
            "seq": c.seq,
            "digest": c.digest,
            "at": timestamp(c.at),
            "signed": base64.b64encode(c.signed).decode(),
            "certificate": c.certificate,
        }
        for c in log.checkpoints()
        if first <= c.seq <= last
    ]
    doc["seal"] = base64.b64encode(seal).decode()
    doc["certificate"] = signer.certificate.public_bytes(Encoding.PEM).decode("ascii")
    return doc


def verify_export(data: bytes, anchors: Anchors) -> ChainReport:
    """Check an export file offline; the report names the first bad position."""
    if len(data) > MAX_EXPORT:
        raise AuditError("the file is larger than any audit export", code="audit.export_format")
    try:
        doc = orjson.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        first, last = int(doc["from"]), int(doc["to"])
        cert = load_pem_certificate(doc["certificate"], "the export's seal")
        checkpoints = [{**c, "signed": base64.b64decode(c["signed"])} for c in doc["checkpoints"]]
        seal = base64.b64decode(doc["seal"])
        entries = list(doc["entries"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AuditError(f"not an audit export: {exc}", code="audit.export_format") from exc
    party, payload = verify_signed(seal, cert, anchors, "the export's seal")
    sealed = orjson.loads(payload)
    if sealed != {k: doc.get(k) for k in _SEALED} or party != doc["party"]:
        raise AuditError(
            "the export's seal does not cover this range: its header was changed",
            code="audit.seal",
        )
    report = verify_chain(
        entries,
        checkpoints,
        anchors=anchors,
        party=party,
        first_seq=first,
        previous=str(doc["previous"]),
    )
    if report.ok and (report.last != last or report.last_digest != doc["last_digest"]):
        end = report.last or first - 1
        report.problems.append(
            Problem(
                end + 1,
                "audit.truncated",
                f"the seal covers positions {first}..{last}, the file's entries end at {end}",
            )
        )
    return report

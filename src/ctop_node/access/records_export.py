"""Exports of stored records (Art.6): peer data leaves the node only for customs control,
or under a registered consent of the Party that provided it; every export and every refusal
is an audit entry, and the file carries the use restriction (in the user's language) and a
watermark: who exported, when, why, under which consent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ctop_node.access._files import write_new_private
from ctop_node.access.audit_chain import CUSTOMS_CONTROL, AuditChain, record_object
from ctop_node.access.audit_rule import timestamp
from ctop_node.access.consent import check_purpose, consent_for
from ctop_node.errors import AuditError
from ctop_node.i18n import _
from ctop_node.store.consents import ConsentRow
from ctop_node.store.interfaces import RecordRow

FORMAT = "ctop-records-export/1"


def restriction_mark(party: str) -> str:
    """The use restriction of data received from ``party``, in the user's language."""
    return _(
        "CONFIDENTIAL: received from {party} under the CTOP Protocol, Art.6. For customs "
        "control only. Not to be passed to any third party, published, or used in court or "
        "administrative proceedings without the written consent of {party}."
    ).format(party=party)


@dataclass(frozen=True, slots=True)
class ExportRequest:
    actor: str
    origin: str  # from where: cli@host
    purpose: str
    out: Path
    at: datetime
    node_party: str = ""
    consent_reference: str | None = None


def _refuse(chain: AuditChain, req: ExportRequest, export_id: str, exc: AuditError) -> None:
    chain.record(
        req.actor,
        "records.export_refused",
        f"export:{export_id}",
        purpose=req.purpose,
        origin=req.origin,
        detail={"code": exc.code, "consent": req.consent_reference, "file": req.out.name},
    )


def export_records(
    rows: Sequence[RecordRow],
    register: Sequence[ConsentRow],
    chain: AuditChain,
    req: ExportRequest,
) -> dict[str, Any]:
    """Check the purpose against the consents, write ``req.out`` (new, 0600), audit it.
    Returns the watermark. A refusal is audited, then raised as ``AuditError``."""
    check_purpose(req.purpose)
    export_id = uuid.uuid4().hex
    peer_rows = [r for r in rows if r.direction == "in"]
    used: dict[str, ConsentRow] = {}
    if req.purpose != CUSTOMS_CONTROL:
        for party in sorted({r.origin_party for r in peer_rows}):
            ids = [r.record_id for r in peer_rows if r.origin_party == party]
            try:
                used[party] = consent_for(
                    register,
                    party=party,
                    purpose=req.purpose,
                    record_ids=ids,
                    at=req.at,
                    reference=req.consent_reference,
                )
            except AuditError as exc:
                _refuse(chain, req, export_id, exc)
                raise
    references = sorted({c.reference for c in used.values()})
    watermark = {
        "export_id": export_id,
        "exported_by": req.actor,
        "exported_at": timestamp(req.at),
        "exported_from": req.origin,
        "node_party": req.node_party,
        "purpose": req.purpose,
        "consent_reference": ", ".join(references) or None,
    }
    doc = {
        "format": FORMAT,
        "watermark": watermark,
        "restrictions": {
            p: restriction_mark(p) for p in sorted({r.origin_party for r in peer_rows})
        },
        "records": [
            {
                "record_id": r.record_id,
                "version": r.version,
                "origin_party": r.origin_party,
                "direction": r.direction,
                "digest": r.digest,
                "restriction": restriction_mark(r.origin_party) if r.direction == "in" else None,
                "consent_reference": used[r.origin_party].reference
                if r.origin_party in used and r.direction == "in"
                else None,
                "body": r.body,
            }
            for r in rows
        ],
    }
    write_new_private(req.out, orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    for r in peer_rows:
        chain.record(
            req.actor,
            "records.export",
            record_object(r.origin_party, r.record_id, r.version),
            purpose=req.purpose,
            origin=req.origin,
            detail={
                "export_id": export_id,
                "file": req.out.name,
                "consent": used[r.origin_party].reference if r.origin_party in used else None,
            },
        )
    if not peer_rows:
        chain.record(
            req.actor,
            "records.export",
            f"export:{export_id}",
            purpose=req.purpose,
            origin=req.origin,
            detail={"file": req.out.name, "records": len(rows)},
        )
    return watermark

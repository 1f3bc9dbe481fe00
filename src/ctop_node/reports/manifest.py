"""Signed manifests of what a node sent and holds, and their reconciliation (Art.5).

The format and its check are :mod:`ctop_node.exchange.manifest` (a MANIFEST message carries
the same signed bytes); here a manifest is built from this node's database and compared with
the peer's, each Party on its own database.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from ctop_node.crypto.interfaces import Signer, TrustStore
from ctop_node.errors import ReportError
from ctop_node.exchange.manifest import (
    FIELDS,
    MAX_MANIFEST_BYTES,
    Manifest,
    read_manifest,
    sign_manifest,
)
from ctop_node.reports.evaluation import Table, period_of
from ctop_node.store import SqlStore
from ctop_node.store.peer_manifests import PeerManifests

__all__ = [
    "MAX_MANIFEST_BYTES",
    "add_reconciliation",
    "Manifest",
    "build_manifest",
    "load_manifest",
    "read_manifest",
    "reconcile",
    "reconcile_with_received",
    "reconciliation_summary",
]


def _rows(store: SqlStore, start: date, end: date) -> list[list[Any]]:
    return [
        [
            e.direction,
            e.party,
            e.record_id,
            e.version,
            e.digest,
            e.channel,
            e.message_id,
            e.at.isoformat() if e.at else None,
        ]
        for e in store.manifest_entries(period_of(start, end))
    ]


def build_manifest(
    store: SqlStore, party: str, start: date, end: date, signer: Signer, *, now: datetime
) -> bytes:
    """The signed manifest of ``party``'s node for the days ``start`` .. ``end``."""
    return sign_manifest(party, start, end, _rows(store, start, end), signer, now=now)


def load_manifest(path: Path, trust: TrustStore) -> Manifest:
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ReportError(
                f"{path} is larger than {MAX_MANIFEST_BYTES} bytes: not a manifest",
                code="report.manifest_size",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc}", code="report.manifest_unreadable") from exc
    return read_manifest(data, trust)


def _index(m: Manifest, direction: str, party: str) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (e["record_id"], e["version"]): e
        for e in m.entries
        if e["direction"] == direction and e["party"] == party
    }


def _compare(sender: Manifest, receiver: Manifest) -> list[dict[str, Any]]:
    sent = _index(sender, "out", receiver.party)
    held = _index(receiver, "in", sender.party)
    diffs: list[dict[str, Any]] = []

    def diff(kind: str, key: tuple[str, int], **more: Any) -> None:
        diffs.append(
            {
                "kind": kind,
                "sender": sender.party,
                "receiver": receiver.party,
                "record_id": key[0],
                "version": key[1],
            }
            | more
        )

    for key in sorted(sent.keys() | held.keys()):
        s, h = sent.get(key), held.get(key)
        if s is not None and h is None:
            diff("sent_not_held", key, digest_sent=s["digest"], channel=s["channel"])
        elif h is not None and s is None:
            diff("held_not_sent", key, digest_held=h["digest"], channel=h["channel"])
        elif s is not None and h is not None:
            if s["digest"] != h["digest"]:
                diff("digest_differs", key, digest_sent=s["digest"], digest_held=h["digest"])
            if "lock" in (s["channel"], h["channel"]):
                diff("lock_only", key, channel_sent=s["channel"], channel_held=h["channel"])
    return diffs


def reconcile(ours: Manifest, theirs: Manifest) -> dict[str, Any]:
    """Both directions: what one side sent that the other does not hold (or holds unsent),
    digests that differ, and versions that travelled by lock alone on either side."""
    if ours.party == theirs.party:
        raise ReportError(
            f"both manifests are signed by Party {ours.party}", code="report.same_party"
        )
    return {
        "ours": {"party": ours.party, "from": ours.start, "to": ours.end},
        "theirs": {"party": theirs.party, "from": theirs.start, "to": theirs.end},
        "differences": _compare(ours, theirs) + _compare(theirs, ours),
    }


def reconcile_with_received(
    store: SqlStore,
    party: str,
    start: date,
    end: date,
    signer: Signer,
    trust: TrustStore,
    *,
    now: datetime,
    peer: str | None = None,
) -> dict[str, Any] | None:
    """Our manifest for ``start`` .. ``end``, made now from our database, reconciled with the
    one the peer sent us last for exactly these days (MANIFEST message); None when no peer
    manifest for these days was received. The stored manifest is checked again, as of
    when it was received."""
    received = PeerManifests(store.engine).latest(start, end, sender=peer)
    if received is None:
        return None
    ours = read_manifest(build_manifest(store, party, start, end, signer, now=now), trust)
    theirs = read_manifest(received.manifest, trust, at=received.received_at)
    result = reconcile(ours, theirs)
    result["theirs"] |= {
        "message_id": received.message_id,
        "received_at": received.received_at.isoformat(),
    }
    return result


def add_reconciliation(report: dict[str, Any], rec: dict[str, Any]) -> None:
    """Put a reconciliation in a report: as itself and as a table (CSV, HTML)."""
    report["reconciliation"] = rec
    table = Table(["kind", "sender", "receiver", "record_id", "version"])
    for d in rec["differences"]:
        table.rows.append([d["kind"], d["sender"], d["receiver"], d["record_id"], d["version"]])
    report["tables"]["reconciliation"] = table.as_dict()


def reconciliation_summary(
    store: SqlStore, party: str, start: date, end: date, trust: TrustStore
) -> dict[str, Any] | None:
    """Counts only (for the UI's report page, which shows no record): the differences by
    kind between our database and the manifest a peer sent last for exactly these days;
    None when none was received. Our side is read, not signed: it never leaves the node."""
    received = PeerManifests(store.engine).latest(start, end)
    if received is None:
        return None
    theirs = read_manifest(received.manifest, trust, at=received.received_at)
    ours = Manifest(
        party,
        start.isoformat(),
        end.isoformat(),
        [dict(zip(FIELDS, row, strict=True)) for row in _rows(store, start, end)],
    )
    diffs = reconcile(ours, theirs)["differences"]
    kinds = ("sent_not_held", "held_not_sent", "digest_differs", "lock_only")
    return {
        "peer": theirs.party,
        "received_at": received.received_at,
        "entries": len(theirs.entries),
        "by_kind": {k: sum(1 for d in diffs if d["kind"] == k) for k in kinds},
        "differences": len(diffs),
    }

"""Signed manifests of what a node sent and holds, and their reconciliation (Art.5).

A manifest lists, for a period, every record version the node sent to a peer (outbox entry
or smart-lock write) and every one it holds from a peer: message id, record id, version,
digest, channel and time; never record content. It is CBOR inside a COSE_Sign1 made by the
node's :class:`~ctop_node.crypto.interfaces.Signer`, so the peer can check it against the
Party CA it already trusts and compare it with its own, each Party on its own database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cbor2

from ctop_node.crypto.cose import sign1, verify1
from ctop_node.crypto.interfaces import Signer, TrustStore
from ctop_node.errors import CryptoError, ReportError
from ctop_node.reports.evaluation import period_of
from ctop_node.store import SqlStore

MANIFEST_TYPE = "CTOP_MANIFEST"
MANIFEST_VERSION = 1
# A million entries of ~150 bytes each, with room to spare.
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
_FIELDS = ("direction", "party", "record_id", "version", "digest", "channel", "message_id", "at")


@dataclass(frozen=True)
class Manifest:
    party: str  # the signer's Party, from its certificate
    start: str
    end: str
    entries: list[dict[str, Any]]


def build_manifest(
    store: SqlStore, party: str, start: date, end: date, signer: Signer, *, now: datetime
) -> bytes:
    """The signed manifest of ``party``'s node for the days ``start`` .. ``end``."""
    rows = [
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
    payload = {
        "type": MANIFEST_TYPE,
        "v": MANIFEST_VERSION,
        "party": party,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "generated_at": now.astimezone(UTC).isoformat(),
        "fields": list(_FIELDS),
        "entries": rows,
    }
    return sign1(cbor2.dumps(payload), signer)


def read_manifest(data: bytes, trust: TrustStore, *, at: datetime | None = None) -> Manifest:
    """Check the signature against ``trust`` first, then the shape; refuse anything else."""
    try:
        verified = verify1(data, trust, at=at, max_size=MAX_MANIFEST_BYTES)
    except CryptoError as exc:
        raise ReportError(f"manifest refused: {exc}", code=exc.code) from exc
    try:
        payload = cbor2.loads(verified.payload)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise ReportError(f"manifest payload is not CBOR: {exc}", code="report.manifest") from exc
    if not (
        isinstance(payload, dict)
        and payload.get("type") == MANIFEST_TYPE
        and payload.get("v") == MANIFEST_VERSION
        and payload.get("fields") == list(_FIELDS)
        and isinstance(payload.get("entries"), list)
    ):
        raise ReportError("not a CTOP manifest of version 1", code="report.manifest")
    if payload.get("party") != verified.signer.party:
        raise ReportError(
            f"manifest names Party {payload.get('party')!r} but is signed by "
            f"{verified.signer.party}"
        )
    entries = []
    for i, row in enumerate(payload["entries"]):
        if not isinstance(row, list) or len(row) != len(_FIELDS):
            raise ReportError(f"manifest entry {i} has the wrong shape", code="report.manifest")
        entries.append(dict(zip(_FIELDS, row, strict=True)))
    return Manifest(verified.signer.party, str(payload["from"]), str(payload["to"]), entries)


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

"""The audit chain's verifier, standalone: it shares only the digest rule
(:mod:`ctop_node.access.audit_rule`) with the writer, and reads entries as plain mappings,
from the database or from an export file alike.

It walks the entries in stored order and names the first position where the chain breaks:

- ``audit.missing``: a seq is skipped (entries deleted);
- ``audit.out_of_order``: a seq goes backwards or repeats (entries reordered or inserted);
- ``audit.detail``: an entry's detail does not match its detail digest (detail edited);
- ``audit.digest``: an entry's digest does not follow from its content and the previous
  digest (entry edited, inserted, reordered or deleted);
- ``audit.rewritten``: the chain is self-consistent but differs from what a signed
  checkpoint vouched for (rewritten and re-hashed after the checkpoint);
- ``audit.truncated``: a signed checkpoint names a position the chain no longer reaches;
- ``audit.signature``/``audit.untrusted``/``audit.no_anchor``: a checkpoint's signature.

Entries appended after the last checkpoint and then removed leave no trace: sign checkpoints
often (every ``checkpoint_every`` entries, and ``ctop-node audit checkpoint``) and keep
exports elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ctop_node.access._anchor import Anchors, load_pem_certificate, verify_signed
from ctop_node.access.audit_rule import GENESIS, RULE, chain_digest, detail_digest, timestamp
from ctop_node.errors import AuditError


@dataclass(frozen=True, slots=True)
class Problem:
    position: int
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "code": self.code, "message": self.message}


@dataclass(slots=True)
class ChainReport:
    entries: int = 0
    first: int | None = None
    last: int | None = None
    last_digest: str = GENESIS
    checkpoints: int = 0
    checkpoints_verified: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def position(self) -> int | None:
        """Where the chain first goes wrong."""
        return min((p.position for p in self.problems), default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "position": self.position,
            "entries": self.entries,
            "first": self.first,
            "last": self.last,
            "last_digest": self.last_digest,
            "checkpoints": self.checkpoints,
            "checkpoints_verified": self.checkpoints_verified,
            "problems": [p.as_dict() for p in sorted(self.problems, key=lambda p: p.position)],
        }


def _at(value: Any) -> str:
    return timestamp(value) if isinstance(value, datetime) else str(value)


def _walk(
    entries: Iterable[Mapping[str, Any]], report: ChainReport, first_seq: int, previous: str
) -> dict[int, str]:
    """Recompute the chain; the digests verified, by seq, up to the first break."""
    good: dict[int, str] = {}
    expected = first_seq
    for entry in entries:
        seq = int(entry["seq"])
        report.entries += 1
        if report.problems:
            continue  # past the first break nothing can be vouched for; keep counting
        if report.first is None:
            report.first = seq
        if seq > expected:
            report.problems.append(
                Problem(
                    expected,
                    "audit.missing",
                    f"entries {expected}..{seq - 1} are missing: the chain jumps to {seq}",
                )
            )
            continue
        if seq < expected:
            report.problems.append(
                Problem(
                    expected,
                    "audit.out_of_order",
                    f"at position {expected} the chain holds entry {seq}: reordered or inserted",
                )
            )
            continue
        fields = {**entry, "at": _at(entry["at"])}
        if detail_digest(str(entry["detail"])) != entry["detail_digest"]:
            report.problems.append(
                Problem(seq, "audit.detail", f"entry {seq}: its detail was changed")
            )
            continue
        digest = chain_digest(previous, fields)
        if digest != entry["digest"]:
            report.problems.append(
                Problem(
                    seq,
                    "audit.digest",
                    f"entry {seq} does not follow from its content and the entry before it: "
                    "edited, inserted, reordered or an entry before it deleted",
                )
            )
            continue
        good[seq] = digest
        previous = digest
        report.last = seq
        report.last_digest = digest
        expected = seq + 1
    return good


def _checkpoint(
    cp: Mapping[str, Any],
    good: Mapping[int, str],
    report: ChainReport,
    anchors: Anchors | None,
    party: str | None,
) -> None:
    seq = int(cp["seq"])
    if anchors is not None:
        what = f"checkpoint at position {seq}"
        try:
            cert = load_pem_certificate(str(cp["certificate"]), what)
            signer, payload = verify_signed(bytes(cp["signed"]), cert, anchors, what)
            signed = orjson.loads(payload)
        except (AuditError, orjson.JSONDecodeError) as exc:
            code = exc.code if isinstance(exc, AuditError) else "audit.signature"
            report.problems.append(Problem(seq, code, str(getattr(exc, "message", exc))))
            return
        if (
            signed.get("rule") != RULE
            or signed.get("seq") != seq
            or signed.get("digest") != cp["digest"]
            or (party is not None and signer != party)
        ):
            report.problems.append(
                Problem(
                    seq,
                    "audit.signature",
                    f"checkpoint at position {seq}: the signed content is not this checkpoint",
                )
            )
            return
        report.checkpoints_verified += 1
    if report.last is None or seq > report.last:
        if not report.problems:
            end = report.last or 0
            report.problems.append(
                Problem(
                    end + 1,
                    "audit.truncated",
                    f"a checkpoint signed the chain up to position {seq}, but it ends at {end}",
                )
            )
        return
    if seq in good and good[seq] != cp["digest"]:
        report.problems.append(
            Problem(
                seq,
                "audit.rewritten",
                f"the entries up to position {seq} differ from what the checkpoint signed",
            )
        )


def verify_chain(
    entries: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Mapping[str, Any]] = (),
    *,
    anchors: Anchors | None = None,
    party: str | None = None,
    first_seq: int = 1,
    previous: str = GENESIS,
) -> ChainReport:
    """Check entries (in stored order) and checkpoints. ``anchors`` (Party -> CA certificate)
    checks the checkpoints' signatures; without it only their digests are compared.
    ``first_seq``/``previous``: where a partial range (an export) starts."""
    report = ChainReport()
    good = _walk(entries, report, first_seq, previous)
    for cp in checkpoints:
        report.checkpoints += 1
        _checkpoint(cp, good, report, anchors, party)
    return report

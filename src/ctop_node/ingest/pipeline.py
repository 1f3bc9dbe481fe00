"""Ingest: raw items -> technical conditions -> Protocol rules -> store, in batches.

Every item read ends in exactly one outcome. Items are written in batches, one transaction
each, so a record is durable (with its outbox entry) once its batch is committed, and a bad
item never takes its neighbours down with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ctop_node.errors import FieldError, ValidationFailed
from ctop_node.ingest.interfaces import RawItem
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.record import Consignment
from ctop_node.rules import NodePolicy, OutcomeKind, decide
from ctop_node.store.interfaces import Accepted, IngestEntry, RecordStore
from ctop_node.tc.registry import DEFAULT_REGISTRY, TcRegistry

# Beyond this many, errors are counted but not kept in memory (a 1 GB file of garbage).
MAX_KEPT_ERRORS = 10_000

Progress = Callable[[RawItem], None]


@dataclass
class IngestSummary:
    read: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    new_versions: int = 0
    unchanged: int = 0
    held: int = 0  # new versions of records cancelled before: stored, not sent
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_dropped: int = 0

    def add_errors(self, entry: IngestEntry) -> None:
        for err in entry.errors:
            if len(self.errors) >= MAX_KEPT_ERRORS:
                self.errors_dropped += 1
                continue
            self.errors.append(
                {**err.as_dict(), "source": entry.source, "position": entry.position}
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            **{kind.value: self.counts.get(kind.value, 0) for kind in OutcomeKind},
            "new_versions": self.new_versions,
            "unchanged": self.unchanged,
            "not_sent_cancelled": self.held,
            "errors": self.errors,
            "errors_not_listed": self.errors_dropped,
        }

    @property
    def rejected(self) -> int:
        return self.counts.get(OutcomeKind.REJECTED.value, 0)

    def merge(self, other: IngestSummary) -> None:
        self.read += other.read
        self.counts.update(other.counts)
        self.new_versions += other.new_versions
        self.unchanged += other.unchanged
        self.held += other.held
        room = max(0, MAX_KEPT_ERRORS - len(self.errors))
        self.errors.extend(other.errors[:room])
        self.errors_dropped += other.errors_dropped + max(0, len(other.errors) - room)


class Classifier:
    """Turns one raw item into its outcome. Pure: no I/O."""

    def __init__(
        self,
        policy: NodePolicy,
        registry: TcRegistry = DEFAULT_REGISTRY,
        tc_version: int | None = None,
    ) -> None:
        self.policy = policy
        self.tc = registry.get(tc_version) if tc_version is not None else registry.latest

    def classify(self, raw: RawItem) -> IngestEntry:
        rid = _record_id_of(raw.data)
        if raw.error is not None or raw.data is None:
            code = raw.error.code if raw.error is not None else "input"
            message = raw.error.message if raw.error is not None else "no data"
            where = f"{raw.source}, {raw.position}: {message}"
            return _unstored(raw, rid, OutcomeKind.REJECTED, FieldError(rid, "$", code, where))
        try:
            record = self.tc.validate_record(raw.data)
        except ValidationFailed as exc:
            return _unstored(raw, rid, OutcomeKind.REJECTED, *exc.errors)
        assert isinstance(record, Consignment)
        rid, party = record.record_id, self.policy.party
        if record.sender_party is not None and record.sender_party != party:
            return _unstored(
                raw,
                rid,
                OutcomeKind.REJECTED,
                FieldError(
                    rid,
                    "$.sender_party",
                    "record.sender_party.mismatch",
                    f"record says it was cleared by {record.sender_party}, this node is {party}",
                ),
            )
        outcome = decide(record, self.policy)
        if outcome.kind is OutcomeKind.REFUSED:
            # Art.6: the body of a secret record is never stored, only that it was refused.
            return _unstored(
                raw,
                rid,
                outcome.kind,
                FieldError(rid, "$.flags.state_secret", outcome.reason, outcome.detail),
            )
        if record.sender_party is None:
            record = record.model_copy(update={"sender_party": party})
        body = canonical_bytes(record)
        return IngestEntry(
            source=raw.source,
            position=raw.position,
            record_id=rid,
            outcome=outcome.kind,
            reason=outcome.reason,
            detail=outcome.detail,
            accepted=Accepted(record, self.tc.version, digest(body), body),
            peers=outcome.peers,
        )


def _unstored(raw: RawItem, rid: str | None, kind: OutcomeKind, *errors: FieldError) -> IngestEntry:
    """An outcome whose body is not stored (rejected or refused), with its field errors."""
    first = errors[0]
    return IngestEntry(
        source=raw.source,
        position=raw.position,
        record_id=rid,
        outcome=kind,
        reason=first.code if kind is OutcomeKind.REFUSED or len(errors) == 1 else "tc.invalid",
        detail=first.message,
        errors=tuple(errors),
    )


def _record_id_of(data: dict[str, Any] | None) -> str | None:
    if isinstance(data, dict):
        rid = data.get("record_id")
        if isinstance(rid, str) and 0 < len(rid) <= 128:
            return rid
    return None


class IngestPipeline:
    def __init__(
        self, store: RecordStore, classifier: Classifier, *, batch_size: int = 500
    ) -> None:
        self.store = store
        self.classifier = classifier
        self.batch_size = batch_size

    def run(self, items: Iterable[RawItem], progress: Progress | None = None) -> IngestSummary:
        summary = IngestSummary()
        batch: list[IngestEntry] = []
        for raw in items:
            batch.append(self.classifier.classify(raw))
            if progress is not None:
                progress(raw)
            if len(batch) >= self.batch_size:
                self._flush(batch, summary)
                batch = []
        if batch:
            self._flush(batch, summary)
        return summary

    def _flush(self, batch: list[IngestEntry], summary: IngestSummary) -> None:
        results = self.store.write_batch(batch, origin_party=self.classifier.policy.party)
        for entry, result in zip(batch, results, strict=True):
            summary.read += 1
            summary.counts[entry.outcome.value] += 1
            summary.add_errors(entry)
            if result.unchanged:
                summary.unchanged += 1
            elif result.version is not None:
                summary.new_versions += 1
            if result.held:
                summary.held += 1

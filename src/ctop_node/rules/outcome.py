"""The decision on a record read by ingest: one of the five outcomes, with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from ctop_node.model.outcome import OutcomeKind as OutcomeKind


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    reason: str  # stable code, e.g. "art2.personal_use"
    detail: str = ""
    peers: tuple[str, ...] = field(default_factory=tuple)

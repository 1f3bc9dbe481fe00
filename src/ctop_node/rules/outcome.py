"""The five outcomes every record read by ingest ends in, each with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class OutcomeKind(StrEnum):
    TO_SEND = "to_send"
    NOT_APPLICABLE = "not_applicable"  # Art.2: not exported from us, or no peer on the route
    EXCLUDED = "excluded"  # Art.2: personal-use goods, international postal items
    REFUSED = "refused"  # Art.6: state secrets are never exchanged
    REJECTED = "rejected"  # the technical conditions are not met


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    reason: str  # stable code, e.g. "art2.personal_use"
    detail: str = ""
    peers: tuple[str, ...] = field(default_factory=tuple)

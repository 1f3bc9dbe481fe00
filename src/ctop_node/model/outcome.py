"""The five outcomes every record read by ingest ends in: a value the rules decide and the
store keeps (so it lives below both)."""

from __future__ import annotations

from enum import StrEnum


class OutcomeKind(StrEnum):
    TO_SEND = "to_send"
    NOT_APPLICABLE = "not_applicable"  # Art.2: not exported from us, or no peer on the route
    EXCLUDED = "excluded"  # Art.2: personal-use goods, international postal items
    REFUSED = "refused"  # Art.6: state secrets are never exchanged
    REJECTED = "rejected"  # the technical conditions are not met

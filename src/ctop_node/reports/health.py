"""Is the node fit to take traffic? What ``/readyz`` answers: the database answers with its
schema, the sender thread runs, and no certificate or CRL (ours or a peer's) has expired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ctop_node.crypto.expiry import home_expiry
from ctop_node.errors import CtopError
from ctop_node.store.operations import OperationsQueries


def readiness_problems(
    readings: OperationsQueries,
    home: Path,
    party: str,
    *,
    sender_alive: Callable[[], bool],
    now: datetime,
) -> list[str]:
    """One line per reason the node is not ready; empty when it is."""
    problems: list[str] = []
    try:
        readings.ping()
    except CtopError as exc:
        problems.append(f"database: {exc.message}")
    if not sender_alive():
        problems.append("sender: not running")
    try:
        expired = [e for e in home_expiry(home, party, now) if e.level == "expired"]
    except (CtopError, OSError, ValueError) as exc:
        problems.append(f"trust: cannot read the certificates and CRLs: {type(exc).__name__}")
    else:
        problems.extend(
            f"trust: {e.party} {e.item} {e.ident} expired at {e.not_after.isoformat()}"
            for e in expired
        )
    return problems

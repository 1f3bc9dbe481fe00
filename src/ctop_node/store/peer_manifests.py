"""Signed manifests received from peers (MANIFEST messages), for reconciliation (Art.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from ctop_node.store._errors import translated
from ctop_node.store.schema import peer_manifests


@dataclass(frozen=True, slots=True)
class PeerManifest:
    message_id: str
    sender_party: str
    first_day: date
    last_day: date
    entries: int
    manifest: bytes  # the COSE_Sign1 as the peer signed it
    received_at: datetime


def insert_received(
    conn: Connection,
    message_id: str,
    sender: str,
    first_day: date,
    last_day: date,
    entries: int,
    manifest: bytes,
    now: datetime,
) -> None:
    """Keep a checked peer manifest (inside the inbox transaction)."""
    conn.execute(
        peer_manifests.insert(),
        {
            "message_id": message_id,
            "sender_party": sender,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "entries": entries,
            "manifest": manifest,
            "received_at": now,
        },
    )


class PeerManifests:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(
        self, first_day: date, last_day: date, *, sender: str | None = None
    ) -> PeerManifest | None:
        """The manifest received last for exactly these days (from ``sender``, or any peer)."""
        query = select(peer_manifests).where(
            peer_manifests.c.first_day == first_day.isoformat(),
            peer_manifests.c.last_day == last_day.isoformat(),
        )
        if sender is not None:
            query = query.where(peer_manifests.c.sender_party == sender)
        query = query.order_by(
            peer_manifests.c.received_at.desc(), peer_manifests.c.message_id.desc()
        ).limit(1)
        with translated("read the peer manifests"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return PeerManifest(
            message_id=row.message_id,
            sender_party=row.sender_party,
            first_day=date.fromisoformat(row.first_day),
            last_day=date.fromisoformat(row.last_day),
            entries=int(row.entries),
            manifest=bytes(row.manifest),
            received_at=row.received_at,
        )

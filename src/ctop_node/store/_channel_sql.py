"""The store's answers to the channels and reports: the questions ``lock/`` and ``reports/``
used to ask in SQL of their own. Mixed into :class:`ctop_node.store.sql.SqlStore`; only the
store knows the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import orjson
from sqlalchemy import and_, select, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import ColumnElement, Exists

from ctop_node.store._errors import translated
from ctop_node.store.inbox import Inbox
from ctop_node.store.interfaces import LockCandidate, ReceivedVersion, SentVersion, VersionKey
from ctop_node.store.lockreads import LockReads
from ctop_node.store.outbox import Outbox
from ctop_node.store.schema import inbox, outbox, record_heads, records

# Inbox states in which a message did carry the record version (not a rejected one).
_CARRIED = ("applied", "waiting", "duplicate", "mismatch")
_RECORD_TYPES = ("CONSIGNMENT", "AMENDMENT")


class ChannelQueries:
    """What the online and lock channels and the reports read and write through the store."""

    engine: Engine

    # -- the stores of the exchange, on this store's engine ----------------------------------

    @cached_property
    def inbox(self) -> Inbox:
        return Inbox(self.engine)

    @cached_property
    def outbox_queue(self) -> Outbox:
        return Outbox(self.engine)

    @cached_property
    def lock_reads(self) -> LockReads:
        return LockReads(self.engine)

    # -- departure -------------------------------------------------------------------------

    def lock_candidates(self, *, limit: int = 10_000) -> list[LockCandidate]:
        """Our record versions with an outbox entry still pending or delivered, oldest entry
        first: what a lock may carry (``lock.pending`` decides which must)."""
        stmt = (
            select(
                records.c.record_id,
                records.c.version,
                records.c.body,
                outbox.c.peer_party,
                outbox.c.state,
                outbox.c.created_at,
            )
            .join(outbox, outbox.c.record_pk == records.c.id)
            .where(and_(records.c.direction == "out", outbox.c.state.in_(("pending", "delivered"))))
            .where(outbox.c.kind == "record", ~_cancelled_for_peer())
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with translated("list records for smart locks"), self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            LockCandidate(
                record_id=r.record_id,
                version=r.version,
                peer_party=r.peer_party,
                outbox_state=r.state,
                queued_at=r.created_at,
                body=orjson.loads(r.body),
            )
            for r in rows
        ]

    def peers_of(self, record_id: str, version: int, *, origin_party: str) -> list[str]:
        """The Parties a record version of ours is queued for (any outbox state)."""
        return self._peers_where(record_id, version, origin_party)

    def _peers_where(
        self, record_id: str, version: int, origin_party: str, *more: ColumnElement[bool]
    ) -> list[str]:
        """The peers of a record version's outbox entries that meet ``more`` too."""
        stmt = (
            select(outbox.c.peer_party)
            .join(records, records.c.id == outbox.c.record_pk)
            .where(
                records.c.record_id == record_id,
                records.c.version == version,
                records.c.origin_party == origin_party,
                outbox.c.kind == "record",
                *more,
            )
        )
        with translated("read the outbox"), self.engine.connect() as conn:
            return sorted({r[0] for r in conn.execute(stmt)})

    def lock_peers_of(self, record_id: str, version: int, *, origin_party: str) -> list[str]:
        """The Parties a lock may still carry a record version of ours to: its outbox entry
        is not withdrawn and the record is not cancelled (for that Party or at all). A
        version withdrawn (a later version was refused under Art.6 or stopped the exchange)
        or cancelled never goes on a lock, as it never goes online."""
        return self._peers_where(
            record_id,
            version,
            origin_party,
            records.c.direction == "out",
            outbox.c.state != "withdrawn",
            ~_cancelled_for_peer(),
            ~_cancelled_head(),
        )

    def sent_versions(self, peer: str) -> list[SentVersion]:
        """Every outbox entry of ours for ``peer``, with its record version's digest."""
        stmt = (
            select(records.c.record_id, records.c.version, records.c.digest, outbox.c.state)
            .join(outbox, outbox.c.record_pk == records.c.id)
            .where(outbox.c.peer_party == peer, outbox.c.kind == "record")
        )
        with translated("read the outbox"), self.engine.connect() as conn:
            return [SentVersion(r[0], r[1], r[2], r[3]) for r in conn.execute(stmt)]

    # -- arrival ---------------------------------------------------------------------------

    def received_versions(self, origin_party: str) -> list[ReceivedVersion]:
        """Every record version received from ``origin_party`` (one row per stored version)."""
        stmt = select(records.c.record_id, records.c.version, records.c.digest).where(
            records.c.origin_party == origin_party, records.c.direction == "in"
        )
        with translated("read received records"), self.engine.connect() as conn:
            return [ReceivedVersion(r[0], r[1], r[2]) for r in conn.execute(stmt)]

    def online_digests(
        self, keys: Sequence[VersionKey] | None = None
    ) -> dict[VersionKey, list[str]]:
        """Per (sender, record_id, version): the distinct payload digests that arrived online
        carrying the version (rejected messages excluded), oldest first. ``None``: all."""
        stmt = select(
            inbox.c.sender_party, inbox.c.record_id, inbox.c.version, inbox.c.payload_digest
        ).where(
            inbox.c.channel == "online",
            inbox.c.type.in_(_RECORD_TYPES),
            inbox.c.state.in_(_CARRIED),
        )
        if keys is not None:
            if not keys:
                return {}
            stmt = stmt.where(
                tuple_(inbox.c.sender_party, inbox.c.record_id, inbox.c.version).in_(list(keys))
            )
        out: dict[VersionKey, list[str]] = {}
        with translated("read the inbox"), self.engine.connect() as conn:
            for party, rid, version, digest in conn.execute(stmt.order_by(inbox.c.received_at)):
                found = out.setdefault((party, rid, version), [])
                if digest not in found:
                    found.append(digest)
        return out


def _cancelled_for_peer() -> Exists:
    """The outbox row's record has a cancellation queued or sent for the same peer: a lock
    must not carry a record its sender cancelled."""
    other = outbox.alias("cancellation")
    return (
        select(other.c.id)
        .where(
            other.c.kind == "cancellation",
            other.c.record_id == outbox.c.record_id,
            other.c.peer_party == outbox.c.peer_party,
        )
        .exists()
    )


def _cancelled_head() -> Exists:
    """The record (of the joined ``records`` row) is cancelled: by its sender, or because a
    later version was refused (Art.6) after an earlier one was queued."""
    return (
        select(record_heads.c.record_id)
        .where(
            record_heads.c.origin_party == records.c.origin_party,
            record_heads.c.record_id == records.c.record_id,
            record_heads.c.outcome == "cancelled",
        )
        .exists()
    )

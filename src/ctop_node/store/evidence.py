"""What the store holds about one record version, for its evidence bundle: the raw body,
the sealed messages that carried it and their answers, and the lock readings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ctop_node.store._errors import translated
from ctop_node.store.schema import inbox, lock_reads, outbox, records


@dataclass(frozen=True, slots=True)
class Exchanged:
    """One message of the record version and the answer to it."""

    message_id: str
    peer_party: str
    channel: str
    state: str
    message: bytes  # as sent or received (empty once purged)
    answer: bytes | None  # the RECEIPT/REJECTION: ours (received) or the peer's (sent)


@dataclass(frozen=True, slots=True)
class LockReading:
    lock_id: str
    digest: str
    image_digest: str | None
    nonce: str | None
    read_at: datetime
    image: bytes


@dataclass(frozen=True, slots=True)
class RecordMaterial:
    origin_party: str
    record_id: str
    version: int
    direction: str
    digest: str
    body: bytes
    exchanged: list[Exchanged] = field(default_factory=list)
    lock: list[LockReading] = field(default_factory=list)


def record_material(
    engine: Engine, record_id: str, version: int | None, origin_party: str | None
) -> RecordMaterial | None:
    """The material of one version (the latest when ``version`` is None), or None."""
    stmt = select(records).where(records.c.record_id == record_id)
    if origin_party is not None:
        stmt = stmt.where(records.c.origin_party == origin_party)
    if version is not None:
        stmt = stmt.where(records.c.version == version)
    with translated("read a record's evidence"), engine.connect() as conn:
        rec = conn.execute(stmt.order_by(records.c.version.desc()).limit(1)).first()
        if rec is None:
            return None
        key = (rec.origin_party, rec.record_id, rec.version)
        exchanged: list[Exchanged] = []
        if rec.direction == "in":
            for r in conn.execute(
                select(inbox)
                .where(
                    inbox.c.sender_party == key[0],
                    inbox.c.record_id == key[1],
                    inbox.c.version == key[2],
                )
                .order_by(inbox.c.received_at)
            ):
                exchanged.append(
                    Exchanged(
                        r.message_id,
                        r.sender_party,
                        r.channel,
                        r.state,
                        bytes(r.message),
                        bytes(r.answer),
                    )
                )
        else:
            for r in conn.execute(
                select(outbox).where(outbox.c.record_pk == rec.id).order_by(outbox.c.id)
            ):
                if r.message is None:
                    continue  # never sealed: nothing was sent
                exchanged.append(
                    Exchanged(
                        r.message_id,
                        r.peer_party,
                        "online",
                        r.state,
                        bytes(r.message),
                        bytes(r.answer) if r.answer is not None else None,
                    )
                )
        lock = [
            LockReading(r.lock_id, r.digest, r.image_digest, r.nonce, r.read_at, bytes(r.image))
            for r in conn.execute(
                select(lock_reads)
                .where(
                    lock_reads.c.sender_party == key[0],
                    lock_reads.c.record_id == key[1],
                    lock_reads.c.version == key[2],
                )
                .order_by(lock_reads.c.id)
            )
        ]
    return RecordMaterial(
        origin_party=rec.origin_party,
        record_id=rec.record_id,
        version=int(rec.version),
        direction=rec.direction,
        digest=rec.digest,
        body=bytes(rec.body),
        exchanged=exchanged,
        lock=lock,
    )

"""Departure customs writes a stored record version to a smart lock and seals it.

The payload is made from the stored canonical body of the version (the bytes the online copy
carries), so both channels carry the same digest. The lock's anti-replay counter must rise:
we use the current time in milliseconds, above the device's last counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson

from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.errors import CryptoError, RecordError
from ctop_node.lock.codec import encode_payload
from ctop_node.lock.device import LockDevice
from ctop_node.lock.errors import PayloadError
from ctop_node.lock.findings import declared_locks
from ctop_node.store import SqlStore
from ctop_node.store.lockreads import LockWrite

DEFAULT_VALID_DAYS = 30


@dataclass(frozen=True, slots=True)
class WriteResult:
    lock_id: str
    record_id: str
    version: int
    peer: str
    mode: str
    size: int
    capacity: int
    payload_id: str
    declared: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "lock_id": self.lock_id,
            "record_id": self.record_id,
            "version": self.version,
            "peer": self.peer,
            "mode": self.mode,
            "size": self.size,
            "capacity": self.capacity,
            "payload_id": self.payload_id,
            "declared": self.declared,
        }


def write_record(
    config: NodeConfig,
    store: SqlStore,
    record_id: str,
    lock_path: Path,
    *,
    mode: Literal["full", "digest"] = "full",
    peer: str | None = None,
    version: int | None = None,
    valid_days: int = DEFAULT_VALID_DAYS,
    now: datetime | None = None,
) -> WriteResult:
    """Encode, write and seal. ``CapacityError`` (with a proposal) when it does not fit."""
    now = now or datetime.now(UTC)
    row = store.get_record(record_id, version, origin_party=config.party)
    if row is None or row.direction != "out":
        raise RecordError(
            f"record {record_id} of {config.party} is not stored here", code="record.not_found"
        )
    peers = store.peers_of(record_id, row.version, origin_party=config.party)
    if peer is None:
        if len(peers) != 1:
            raise RecordError(
                f"record {record_id} v{row.version} goes to {', '.join(peers) or 'no Party'}: "
                "name the arrival Party with --peer",
                code="lock.write.peer",
            )
        peer = peers[0]
    elif peer not in peers:
        raise RecordError(
            f"record {record_id} v{row.version} is not sent to {peer}", code="lock.write.peer"
        )
    # A version withdrawn before delivery (a later version was flagged as a state secret, or
    # no longer goes to the peer) or a cancelled record travels on no channel (Art.6).
    if peer not in store.lock_peers_of(record_id, row.version, origin_party=config.party):
        raise RecordError(
            f"record {record_id} v{row.version} was withdrawn or cancelled for {peer}: "
            "it must not be written to a lock",
            code="lock.write.withdrawn",
            record_id=record_id,
        )
    device = LockDevice.load(lock_path)
    try:
        keys = node_keys(config.home)
        signer, recipient = keys.signer, keys.trust.recipient_key(peer)
    except CryptoError as exc:
        raise PayloadError(f"cannot seal for {peer}: {exc.message}", code=exc.code) from exc
    counter = max(int(now.timestamp() * 1000), device.replay_counter + 1)
    body = orjson.loads(row.body) if isinstance(row.body, bytes) else row.body
    payload = encode_payload(
        body,
        version=row.version,
        signer=signer,
        recipient=recipient,
        lock_id=device.lock_id,
        counter=counter,
        expires=now + timedelta(days=valid_days),
        mode=mode,
        capacity=device.capacity,
        tc=str(row.tc_version),
    )
    header = device.write_payload(payload, now=now)
    device.seal(now=now)
    device.save()
    store.lock_reads.add_write(
        LockWrite(
            record_id=record_id,
            version=row.version,
            peer_party=peer,
            lock_id=device.lock_id,
            payload_id=header.payload_id,
            digest=header.digest,
            mode=mode,
            size=len(payload),
            written_at=now,
        )
    )
    return WriteResult(
        lock_id=device.lock_id,
        record_id=record_id,
        version=row.version,
        peer=peer,
        mode=mode,
        size=len(payload),
        capacity=device.capacity,
        payload_id=header.payload_id,
        declared=device.lock_id in declared_locks(body),
    )

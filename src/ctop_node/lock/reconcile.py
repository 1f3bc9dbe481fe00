"""Reconciliation of the two channels at the arrival node, per record version.

The online side is the inbox (rows of channel ``online`` that carried the record version:
applied, waiting, duplicate or mismatch); the lock side is ``lock_reads``. The verdict, in
order of precedence:

- ``TAMPERED``: a lock that carried the version was opened or raised a tamper alarm before
  the authority reading, was never sealed, or is not the ``smart_lock_id`` declared in the
  record (the findings and the device events are attached);
- ``MISMATCH``: the digests of the two channels differ (both digests are given);
- ``MATCH``: both channels delivered the version with the same digest;
- ``LOCK_ONLY`` / ``ONLINE_ONLY``: one channel only (so far).

The verdict is derived from the stored rows each time it is asked for, so it changes as the
second channel arrives and can never disagree with what is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ctop_node.store import SqlStore
from ctop_node.store.interfaces import VersionKey
from ctop_node.store.lockreads import LockRead


class ChannelVerdict(StrEnum):
    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    TAMPERED = "TAMPERED"
    LOCK_ONLY = "LOCK_ONLY"
    ONLINE_ONLY = "ONLINE_ONLY"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    sender_party: str
    record_id: str
    version: int
    verdict: ChannelVerdict
    online_digests: tuple[str, ...] = ()
    lock_digests: tuple[str, ...] = ()
    locks: tuple[str, ...] = ()
    findings: tuple[dict[str, Any], ...] = ()
    events: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(
            c for c, d in (("online", self.online_digests), ("lock", self.lock_digests)) if d
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sender_party": self.sender_party,
            "record_id": self.record_id,
            "version": self.version,
            "verdict": self.verdict.value,
            "channels": list(self.channels),
            "online_digests": list(self.online_digests),
            "lock_digests": list(self.lock_digests),
            "locks": list(self.locks),
            "findings": list(self.findings),
            "events": list(self.events),
        }


Key = VersionKey


def verdict_of(online: Sequence[str], reads: Sequence[LockRead]) -> ChannelVerdict:
    lock = {r.digest for r in reads}
    if any(r.tampered for r in reads):
        return ChannelVerdict.TAMPERED
    if online and lock:
        return ChannelVerdict.MATCH if set(online) == lock else ChannelVerdict.MISMATCH
    return ChannelVerdict.LOCK_ONLY if lock else ChannelVerdict.ONLINE_ONLY


def _build(key: Key, online: list[str], reads: list[LockRead]) -> Reconciliation:
    verdict = verdict_of(online, reads)
    tampered = [r for r in reads if r.tampered]
    return Reconciliation(
        sender_party=key[0],
        record_id=key[1],
        version=key[2],
        verdict=verdict,
        online_digests=tuple(online),
        lock_digests=tuple(dict.fromkeys(r.digest for r in reads)),
        locks=tuple(dict.fromkeys(r.lock_id for r in reads)),
        findings=tuple({**f, "lock_id": r.lock_id} for r in tampered for f in r.findings),
        events=tuple({**e, "lock_id": r.lock_id} for r in tampered for e in r.events),
    )


def reconcile(store: SqlStore, keys: Sequence[Key]) -> dict[Key, Reconciliation]:
    """The reconciliation of each (sender, record_id, version) that arrived by any channel."""
    online = store.online_digests(keys)
    reads = store.lock_reads.for_versions(keys)
    return {
        k: _build(k, online.get(k, []), reads.get(k, [])) for k in keys if k in online or k in reads
    }


def reconcile_one(
    store: SqlStore, sender: str, record_id: str, version: int
) -> Reconciliation | None:
    return reconcile(store, [(sender, record_id, version)]).get((sender, record_id, version))


def reconcile_all(store: SqlStore) -> list[Reconciliation]:
    """Every received record version (both channels): for reports and the demo."""
    online = store.online_digests(None)
    keys = sorted(set(online) | set(store.lock_reads.versions_read()))
    reads = store.lock_reads.for_versions(keys)
    return [_build(k, online.get(k, []), reads.get(k, [])) for k in keys]


def verdict_counts(store: SqlStore) -> dict[str, int]:
    counts = Counter(r.verdict.value for r in reconcile_all(store))
    return {v.value: counts.get(v.value, 0) for v in ChannelVerdict}

"""What really crossed: counts taken from the sender's and the receiver's databases, never
from the sender's own belief. Used by the demo, the fault tests and the benchmark.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from ctop_node.store import SqlStore


@dataclass(frozen=True)
class ExchangeCounts:
    sender: str
    receiver: str
    sent: int  # outbox entries of the sender for the receiver (every version to deliver)
    delivered: int  # of those, acknowledged by a valid signed receipt
    rejected: int
    pending: int
    dead: int
    stored_at_peer: int  # distinct record versions of the sender stored by the receiver
    duplicates: int  # receiver rows beyond one per record version (must be 0)
    lost: int  # acknowledged by a receipt yet missing at the receiver (must be 0)
    corrupted: int  # stored versions whose digest differs from what was sent (must be 0)
    unexpected: int  # versions at the receiver that the sender never queued (must be 0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def exchange_counts(
    sender_store: SqlStore, receiver_store: SqlStore, sender: str, receiver: str
) -> ExchangeCounts:
    sent_rows = sender_store.sent_versions(receiver)
    rows = receiver_store.received_versions(sender)
    states: Counter[str] = Counter(r.state for r in sent_rows)
    queued = {(r.record_id, r.version): r.digest for r in sent_rows if r.state != "rejected"}
    acknowledged = {(r.record_id, r.version) for r in sent_rows if r.state == "delivered"}
    stored = {(r.record_id, r.version): r.digest for r in rows}
    return ExchangeCounts(
        sender=sender,
        receiver=receiver,
        sent=len(sent_rows),
        delivered=states["delivered"],
        rejected=states["rejected"],
        pending=states["pending"],
        dead=states["dead"],
        stored_at_peer=len(stored),
        duplicates=len(rows) - len(stored),
        lost=len(acknowledged - stored.keys()),
        corrupted=sum(1 for k, d in stored.items() if k in queued and queued[k] != d),
        unexpected=len(stored.keys() - queued.keys()),
    )

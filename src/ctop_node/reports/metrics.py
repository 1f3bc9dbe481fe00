"""Prometheus metrics of one node, read at scrape time from its database and home.

Nothing is counted in memory: every figure comes from the tables (outbox, inbox, peer status,
lock reads) or the trust material on disk, so the numbers are the same whichever process did
the work and survive a restart. Aggregates only: peers, states and codes, never record content.
A database that does not answer turns ``ctop_database_up`` to 0 instead of failing the scrape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ctop_node.crypto.expiry import home_expiry
from ctop_node.errors import CtopError
from ctop_node.store.operations import LATENCY_BUCKETS, OperationsQueries
from ctop_node.store.outbox import Outbox

CIRCUIT_STATES = ("closed", "open", "half_open")
OUTBOX_STATES = ("pending", "delivered", "rejected", "dead")


class NodeCollector(Collector):
    """One scrape = a handful of aggregate queries and a read of the PEM files."""

    def __init__(
        self,
        readings: OperationsQueries,
        outbox: Outbox,
        home: Path,
        party: str,
        *,
        peers: Iterable[str] = (),
        clock: Callable[[], datetime],
    ) -> None:
        self.readings = readings
        self.outbox = outbox
        self.home = home
        self.party = party
        self.peers = tuple(peers)
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        up = GaugeMetricFamily("ctop_database_up", "1 when the node's database answers")
        try:
            db = list(self._database(now))
        except CtopError:
            up.add_metric([], 0)
            db = []
        else:
            up.add_metric([], 1)
        yield up
        yield from db
        yield from self._trust(now)

    def _database(self, now: datetime) -> Iterator[Metric]:
        r = self.readings
        r.ping()  # a removed SQLite file still answers on an open connection
        counts = r.outbox_counts()
        peers = sorted(set(self.peers) | {p for p, _ in counts})
        entries = GaugeMetricFamily(
            "ctop_outbox_entries", "outbox entries per peer and state", labels=["peer", "state"]
        )
        for peer in peers:
            for state in sorted(set(OUTBOX_STATES) | {s for p, s in counts if p == peer}):
                entries.add_metric([peer, state], counts.get((peer, state), 0))
        yield entries
        depth = GaugeMetricFamily(
            "ctop_outbox_depth", "entries waiting to be delivered", labels=["peer"]
        )
        age = GaugeMetricFamily(
            "ctop_outbox_oldest_pending_age_seconds",
            "age of the oldest pending entry (0 when none)",
            labels=["peer"],
        )
        oldest = r.oldest_pending()
        for peer in peers:
            depth.add_metric([peer], counts.get((peer, "pending"), 0))
            at = oldest.get(peer)
            age.add_metric([peer], 0.0 if at is None else max(0.0, (now - at).total_seconds()))
        yield depth
        yield age
        delivered = CounterMetricFamily(
            "ctop_deliveries", "entries the peer acknowledged with a receipt", labels=["peer"]
        )
        latency = HistogramMetricFamily(
            "ctop_delivery_latency_seconds",
            "queued -> the peer's receipt, per delivered entry",
            labels=["peer"],
        )
        for h in r.delivery_latency():
            delivered.add_metric([h.peer], h.count)
            bounds = [str(b) for b in LATENCY_BUCKETS] + ["+Inf"]
            latency.add_metric(
                [h.peer], list(zip(bounds, [*h.buckets, h.count], strict=True)), h.sum_s
            )
        yield delivered
        yield latency
        failures = CounterMetricFamily(
            "ctop_rejections",
            "entries refused by the peer (rejected) or given up (dead), by code",
            labels=["peer", "state", "code"],
        )
        for (peer, state, code), n in sorted(r.final_failures().items()):
            failures.add_metric([peer, state, code], n)
        yield failures
        yield from self._circuits(peers, now)
        received = CounterMetricFamily(
            "ctop_inbox_messages",
            "messages received, per sender, channel and state",
            labels=["peer", "channel", "state"],
        )
        for (peer, channel, state), n in sorted(r.inbox_counts().items()):
            received.add_metric([peer, channel, state], n)
        yield received
        locks = CounterMetricFamily(
            "ctop_lock_readings",
            "smart-lock readings stored, per sender and whether tampering was found",
            labels=["peer", "tampered"],
        )
        for (peer, tampered), n in sorted(r.lock_read_counts().items()):
            locks.add_metric([peer, "true" if tampered else "false"], n)
        yield locks
        yield self._audit_checkpoint_age(now)

    def _audit_checkpoint_age(self, now: datetime) -> Metric:
        # Entries after the last checkpoint can be removed without a trace (audit_verify):
        # this age is how long that window has been open.
        age = GaugeMetricFamily(
            "ctop_audit_checkpoint_age_seconds",
            "seconds since the last signed audit checkpoint (none yet: since the first "
            "audit entry; 0 when the audit log is empty)",
        )
        last, first = self.readings.audit_checkpoint_times()
        since = last or first
        age.add_metric([], 0.0 if since is None else max(0.0, (now - since).total_seconds()))
        return age

    def _circuits(self, peers: list[str], now: datetime) -> Iterator[Metric]:
        statuses = self.outbox.peer_statuses()
        state = GaugeMetricFamily(
            "ctop_circuit_state",
            "1 for the current circuit state of each peer",
            labels=["peer", "state"],
        )
        failures = GaugeMetricFamily(
            "ctop_circuit_consecutive_failures", "failed batches in a row", labels=["peer"]
        )
        for peer in sorted(set(peers) | set(statuses)):
            status = statuses.get(peer)
            current = "closed" if status is None else status.state_at(now)
            for s in CIRCUIT_STATES:
                state.add_metric([peer, s], 1 if s == current else 0)
            failures.add_metric([peer], 0 if status is None else status.consecutive_failures)
        yield state
        yield failures

    def _trust(self, now: datetime) -> Iterator[Metric]:
        readable = GaugeMetricFamily(
            "ctop_trust_material_readable", "1 when every certificate and CRL could be read"
        )
        days = GaugeMetricFamily(
            "ctop_trust_days_left",
            "days until a certificate or CRL expires (negative: expired)",
            labels=["party", "item", "id"],
        )
        try:
            items = home_expiry(self.home, self.party, now)
        except (CtopError, OSError, ValueError):
            readable.add_metric([], 0)
            yield readable
            return
        readable.add_metric([], 1)
        for e in items:
            days.add_metric([e.party, e.item, e.ident], round(e.days_left, 4))
        yield readable
        yield days


def metrics_registry(collector: NodeCollector) -> CollectorRegistry:
    """A registry of its own (never the global one): the node's collector and the process's
    CPU, memory and open files."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition format, version 0.0.4."""
    return generate_latest(registry)

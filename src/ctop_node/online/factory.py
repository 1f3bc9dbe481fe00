"""Build the online sender of a node from its home: what ``ctop-node serve`` starts.

config = NodeConfig.load(home)
store = open_store(config.db_url)
sender = sender_from_home(config, store)               # HttpTransport inside
thread = threading.Thread(target=sender.run_forever, args=(stop,), daemon=True)
...
stop.set(); thread.join(); sender.transport.close()
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.crypto.node import NodePaths
from ctop_node.online.backoff import CircuitPolicy
from ctop_node.online.http_client import MAX_BATCH_MESSAGES, HttpTransport
from ctop_node.online.interfaces import Transport
from ctop_node.online.peers import PeerConfig
from ctop_node.online.sender import RESEAL_AFTER, Sender
from ctop_node.store import SqlStore

DEFAULT_HTTP_TIMEOUT_S = 15.0


def http_transport(home: Path, *, timeout: float = DEFAULT_HTTP_TIMEOUT_S) -> HttpTransport:
    """HTTPS transport to every peer of ``node.json`` with this node's TLS certificate."""
    paths = NodePaths(home)
    peers = PeerConfig.load(home)
    return HttpTransport(peers.endpoints, paths.tls_cert, paths.tls_key, timeout=timeout)


def sender_from_home(
    config: NodeConfig,
    store: SqlStore,
    *,
    transport: Transport | None = None,
    **options: Any,
) -> Sender:
    """A :class:`Sender` with the node's keys and trust store; ``options`` go to
    ``Sender`` (batch_size, backoff, circuit, max_attempts, rng, clock)."""
    home = config.home
    settings = config.settings
    # A running node drains in full batches (sealing, sending and judging overlap).
    options.setdefault("batch_size", MAX_BATCH_MESSAGES)
    # Operators tune outage detection in node.json; a silent partition is noticed after
    # one HTTP timeout, so the default is far below a batch's worst case of 30 s.
    options.setdefault(
        "circuit",
        CircuitPolicy(
            failures_to_open=int(settings.get("circuit_failures", 3)),
            open_for=timedelta(seconds=float(settings.get("circuit_open_s", 10))),
        ),
    )
    # Kept sealed bytes older than this are sealed anew: the peer judges created_at
    # against its clock (clock_skew_s there, 600 s by default): keep this well below it.
    reseal = settings.get("reseal_after_s", RESEAL_AFTER.total_seconds())
    options.setdefault("reseal_after", timedelta(seconds=float(reseal)))
    timeout = float(settings.get("http_timeout_s", DEFAULT_HTTP_TIMEOUT_S))
    keys = node_keys(home)
    return Sender(
        config.party,
        store.outbox_queue,
        transport or http_transport(home, timeout=timeout),
        keys.signer,
        keys.decryptor,
        keys.trust,
        **options,
    )

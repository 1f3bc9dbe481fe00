"""Build the online sender of a node from its home: what ``ctop-node serve`` starts.

config = NodeConfig.load(home)
store = open_store(config.db_url)
sender = sender_from_home(config, store.engine)        # HttpTransport inside
thread = threading.Thread(target=sender.run_forever, args=(stop,), daemon=True)
...
stop.set(); thread.join(); sender.transport.close()
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from ctop_node.config import NodeConfig
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import utcnow
from ctop_node.crypto.software import HomeDecryptor, SoftwareSigner
from ctop_node.crypto.trust import HomeTrustStore
from ctop_node.online.backoff import CircuitPolicy
from ctop_node.online.http_client import MAX_BATCH_MESSAGES, HttpTransport
from ctop_node.online.interfaces import Transport
from ctop_node.online.peers import PeerConfig
from ctop_node.online.sender import Sender
from ctop_node.store.outbox import Outbox

DEFAULT_HTTP_TIMEOUT_S = 15.0


def http_transport(home: Path, *, timeout: float = DEFAULT_HTTP_TIMEOUT_S) -> HttpTransport:
    """HTTPS transport to every peer of ``node.json`` with this node's TLS certificate."""
    paths = NodePaths(home)
    peers = PeerConfig.load(home)
    return HttpTransport(peers.endpoints, paths.tls_cert, paths.tls_key, timeout=timeout)


def sender_from_home(
    config: NodeConfig,
    engine: Engine,
    *,
    transport: Transport | None = None,
    **options: Any,
) -> Sender:
    """A :class:`Sender` with the node's keys and trust store; ``options`` go to
    ``Sender`` (batch_size, backoff, circuit, max_attempts, rng, clock, pipelined)."""
    home = config.home
    settings = config.settings
    # A running node overlaps sealing, sending and judging (Sender.drain) in full batches.
    options.setdefault("pipelined", True)
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
    timeout = float(settings.get("http_timeout_s", DEFAULT_HTTP_TIMEOUT_S))
    return Sender(
        config.party,
        Outbox(engine),
        transport or http_transport(home, timeout=timeout),
        SoftwareSigner.from_home(home),
        HomeDecryptor(home),  # re-read after `pki rotate`
        # re-read on a trust update or a new CRL; CRL freshness on the sender's clock
        HomeTrustStore(home, clock=options.get("clock", utcnow)),
        **options,
    )

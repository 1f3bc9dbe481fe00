"""The running node: peer port (mutual TLS), internal API port and the outbox sender, in one
process. ``ctop-node serve`` runs it until SIGTERM/SIGINT.

The two ports are two uvicorn servers on one event loop; the sender works in a thread and
shares the store's engine. When either server stops (a signal, a bind error), all stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn

from ctop_node.config import NodeConfig
from ctop_node.control.discrepancies import tolerance_of
from ctop_node.errors import ConfigError
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.lock.pending import fallback_after
from ctop_node.online.control_sender import ControlSender
from ctop_node.online.endpoint import EndpointFaults, peer_app
from ctop_node.online.factory import sender_from_home
from ctop_node.online.peers import PeerConfig
from ctop_node.online.server import build_receiver, peer_tls_files, uvicorn_config
from ctop_node.online.status import node_status
from ctop_node.online.trust_push import TrustPusher
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore, open_store
from ctop_node.store.control import ControlStore
from ctop_node.web.api import api_app, ensure_api_token, upload_limit
from ctop_node.web.settings import session_settings

log = logging.getLogger(__name__)


@dataclass
class NodeServer:
    config: NodeConfig
    host: str = "127.0.0.1"
    sender_options: dict[str, Any] | None = None
    faults: EndpointFaults | None = None  # injected by tests (tests/_faulty_node.py) only
    api_max_upload: int | None = None  # bytes; None: node.json's api_max_upload_bytes or 64 MiB

    def status(self, store: SqlStore, peers: list[str]) -> dict[str, Any]:
        status = node_status(store, self.config.party, datetime.now(UTC), peers=peers)
        return {"party": self.config.party, **status}

    def run(self) -> None:
        cfg = self.config
        if not cfg.peer_port or not cfg.api_port:
            raise ConfigError(
                f"{cfg.home}: node.json needs peer_port and api_port (ctop-node init)",
                code="config.ports",
            )
        tls = peer_tls_files(cfg.home)
        peers = PeerConfig.load(cfg.home).parties
        store = open_store(cfg.db_url)
        token = ensure_api_token(cfg.home)
        policy = NodePolicy(cfg.party)

        receiver = build_receiver(cfg.home, cfg.party, store)
        peer_server = _Server(
            uvicorn_config(peer_app(receiver, faults=self.faults), self.host, cfg.peer_port, tls)
        )
        # One store (one connection pool) serves the API, the receiver and the sender.
        pipeline = IngestPipeline(store, Classifier(policy))
        max_upload = self.api_max_upload or upload_limit(cfg.settings)
        api = api_app(
            pipeline,
            token,
            status=lambda: self.status(store, peers),
            party=cfg.party,
            session_settings=session_settings(cfg.settings),
            max_upload=max_upload,
            mass_tolerance=tolerance_of(cfg.settings),
            lock_fallback=fallback_after(cfg),
        )
        api_server = _Server(
            uvicorn.Config(
                api,
                host=self.host,
                port=cfg.api_port,
                lifespan="off",
                log_level="warning",
                access_log=False,
                server_header=False,
                timeout_graceful_shutdown=3,
            )
        )
        stop = threading.Event()
        sender = sender_from_home(cfg, store, **(self.sender_options or {}))
        worker = threading.Thread(
            target=sender.run_forever, args=(stop,), name="ctop-sender", daemon=True
        )
        worker.start()
        # Control results recorded here go back to the record's origin Party (issue 10).
        control_sender = ControlSender(
            cfg.party,
            ControlStore(store.engine),
            sender.transport,
            sender.signer,
            sender.decryptor,
            sender.trust,
        )
        threading.Thread(
            target=control_sender.run_forever, args=(stop,), name="ctop-control", daemon=True
        ).start()
        # Push our CRL and certificates to the peers when they change (trust updates).
        pusher = TrustPusher.for_node(cfg, sender.transport)
        if pusher is not None:
            threading.Thread(
                target=pusher.run_forever, args=(stop,), name="ctop-trust", daemon=True
            ).start()
        log.info(
            "node %s: peer port %s, api port %s, peers %s",
            cfg.party,
            cfg.peer_port,
            cfg.api_port,
            ",".join(peers) or "none",
        )
        try:
            asyncio.run(_serve_all(peer_server, api_server))
        finally:
            stop.set()
            worker.join(timeout=30)
            sender.transport.close()
            store.close()


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to the node: uvicorn's own handling re-raises
    the signal after serving, which would kill the process before the sender is stopped."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _serve_all(*servers: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()

    def stop_all() -> None:
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_all)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    # One server ending (a bind error, say) ends the node.
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop_all()
    await asyncio.gather(*tasks, return_exceptions=True)

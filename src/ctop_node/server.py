"""The running node: peer port (mutual TLS), internal API port and the outbox sender, in one
process. ``ctop-node serve`` runs it until SIGTERM/SIGINT.

The two ports are two uvicorn servers on one event loop; the sender works in a thread and
shares the store's engine. When either server stops (a signal, a bind error), all stop.

The two ports bind separately: the peer port (mutual TLS, open to the other Party) on
``peer_host``, the internal API (bearer token, the clearance system's) on ``api_host``, which
stays on 127.0.0.1 unless told otherwise; the API can have its own TLS certificate
(``api_tls_cert``/``api_tls_key``). Opening the peer port to another network never opens the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from ctop_node.access.audit_chain import AuditChain, Checkpointer
from ctop_node.cli._logging import route_library_logs
from ctop_node.config import NodeConfig
from ctop_node.control.discrepancies import tolerance_of
from ctop_node.crypto.keyset import node_keys
from ctop_node.errors import ConfigError
from ctop_node.files import restrict_home
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.lock.pending import fallback_after
from ctop_node.online.control_sender import ControlSender
from ctop_node.online.endpoint import EndpointFaults, peer_app
from ctop_node.online.factory import sender_from_home
from ctop_node.online.peers import PeerConfig
from ctop_node.online.server import (
    PeerLimits,
    PeerServer,
    build_receiver,
    peer_tls_files,
    server_tls_context,
    uvicorn_config,
)
from ctop_node.online.status import node_status
from ctop_node.online.trust_push import TrustPusher
from ctop_node.reports.evaluation import DEFAULT_LOCK_SHARE_THRESHOLD
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore, open_store
from ctop_node.store.audit import AuditLog
from ctop_node.store.control import ControlStore
from ctop_node.web.api import api_app, ensure_api_token, upload_limit
from ctop_node.web.health import add_node_probes
from ctop_node.web.settings import session_settings

log = logging.getLogger(__name__)


LOOPBACK = "127.0.0.1"


@dataclass
class NodeServer:
    """``peer_host``/``api_host``/``api_tls_*``/``limits``: ``None`` means the value of
    ``node.json`` (``peer_host``, ``api_host``, ``api_tls_cert``, ``api_tls_key``,
    ``peer_max_connections`` ...), else the default (127.0.0.1 for both, no API TLS)."""

    config: NodeConfig
    peer_host: str | None = None
    api_host: str | None = None
    api_tls_cert: Path | None = None
    api_tls_key: Path | None = None
    limits: PeerLimits | None = None
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
        settings = cfg.settings
        peer_host = self.peer_host or str(settings.get("peer_host") or LOOPBACK)
        api_host = self.api_host or str(settings.get("api_host") or LOOPBACK)
        api_tls = self._api_tls()
        limits = self.limits or PeerLimits.from_settings(settings)
        restrict_home(cfg.home)
        tls = peer_tls_files(cfg.home)
        peers = PeerConfig.load(cfg.home).parties
        store = open_store(cfg.db_url)
        token = ensure_api_token(cfg.home)
        policy = NodePolicy(cfg.party)

        receiver = build_receiver(cfg.home, cfg.party, store, settings=cfg.settings)
        peer_server = _NodePeerServer(
            uvicorn_config(
                peer_app(receiver, faults=self.faults), peer_host, cfg.peer_port, limits
            ),
            server_tls_context(tls),
            limits,
        )
        # One store (one connection pool) serves the API, the receiver and the sender.
        pipeline = IngestPipeline(store, Classifier(policy))
        max_upload = self.api_max_upload or upload_limit(cfg.settings)
        # Art.6: reads, refusals and logins on the internal port go to the audit chain, whose
        # head the node key signs every audit_checkpoint_interval_s (thread below).
        audit = AuditChain(AuditLog(store.engine), signer=node_keys(cfg.home).signer)
        api = api_app(
            pipeline,
            token,
            status=lambda: self.status(store, peers),
            party=cfg.party,
            session_settings=session_settings(cfg.settings),
            max_upload=max_upload,
            mass_tolerance=tolerance_of(cfg.settings),
            lock_fallback=fallback_after(cfg),
            audit=audit,
            report_threshold=float(
                cfg.settings.get("report_lock_share_threshold", DEFAULT_LOCK_SHARE_THRESHOLD)
            ),
            report_trust=lambda: node_keys(cfg.home).trust,
        )
        api_server = _Server(
            uvicorn.Config(
                api,
                host=api_host,
                port=cfg.api_port,
                ssl_certfile=str(api_tls[0]) if api_tls else None,
                ssl_keyfile=str(api_tls[1]) if api_tls else None,
                lifespan="off",
                log_level="warning",
                access_log=False,
                server_header=False,
                timeout_graceful_shutdown=3,
            )
        )
        # A taken port is the node's one error before any worker starts (and logs).
        _check_free(peer_server, api_server)
        stop = threading.Event()
        sender = sender_from_home(cfg, store, **(self.sender_options or {}))
        worker = threading.Thread(
            target=sender.run_forever, args=(stop,), name="ctop-sender", daemon=True
        )
        worker.start()
        # /healthz, /readyz, /metrics on the internal API (routes added before it serves).
        add_node_probes(
            api,
            token=token,
            store=store,
            home=cfg.home,
            party=cfg.party,
            peers=peers,
            sender_alive=worker.is_alive,
        )
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
        checkpointer = Checkpointer(audit, timedelta(seconds=cfg.node.audit_checkpoint_interval_s))
        audit_worker = threading.Thread(
            target=checkpointer.run_forever, args=(stop,), name="ctop-audit", daemon=True
        )
        audit_worker.start()
        # Push our CRL and certificates to the peers when they change (trust updates).
        pusher = TrustPusher.for_node(cfg, sender.transport)
        if pusher is not None:
            threading.Thread(
                target=pusher.run_forever, args=(stop,), name="ctop-trust", daemon=True
            ).start()
        log.info(
            "node %s: peer port %s:%s, api port %s:%s (%s), peers %s",
            cfg.party,
            peer_host,
            cfg.peer_port,
            api_host,
            cfg.api_port,
            "https" if api_tls else "http",
            ",".join(peers) or "none",
        )
        try:
            route_library_logs()  # uvicorn set its own handlers when configured above
            asyncio.run(_serve_all(peer_server, api_server))
        finally:
            stop.set()
            worker.join(timeout=30)
            audit_worker.join(timeout=10)  # it signs the head as the node stops
            sender.transport.close()
            store.close()

    def _api_tls(self) -> tuple[Path, Path] | None:
        settings = self.config.settings
        cert = self.api_tls_cert or settings.get("api_tls_cert")
        key = self.api_tls_key or settings.get("api_tls_key")
        if not cert and not key:
            return None
        if not cert or not key:
            raise ConfigError(
                "the internal API's TLS needs both api_tls_cert and api_tls_key",
                code="config.api_tls",
            )
        paths = (Path(cert), Path(key))
        for path in paths:
            if not path.is_file():
                raise ConfigError(f"API TLS file not found: {path}", code="config.api_tls")
        return paths


class _LeavesSignals(uvicorn.Server):
    """A uvicorn server that leaves signals to the node: uvicorn's own handling re-raises
    the signal after serving, which would kill the process before the sender is stopped."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class _Server(_LeavesSignals):
    pass


class _NodePeerServer(_LeavesSignals, PeerServer):
    pass


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
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:  # a bind error is the node's error, not a silent exit
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


def _check_free(*servers: uvicorn.Server) -> None:
    """A port already taken is the operator's to fix: say which, before uvicorn exits with a
    traceback."""
    for s in servers:
        host, port = s.config.host, s.config.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {host}:{port}: {exc.strerror or exc} (another process "
                    "holds the port, or the address is not this host's): change peer_port or "
                    "api_port in node.json, or stop the other process",
                    code="config.port_in_use",
                ) from exc

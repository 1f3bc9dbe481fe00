"""Runs the peer endpoint under uvicorn with mutual TLS.

The TLS context requires a client certificate chaining to one of the peer Parties' CAs
(``ssl.CERT_REQUIRED``): no certificate, or one of another CA, fails the handshake. TLS proves
only "a node of a trusted Party CA"; who sent a message is proven by its signature.

The port is open to the other Party's network, so everything it holds is bounded
(:class:`PeerLimits`, ``node.json`` keys, docs/security.md "Peer port"): connections (pending
handshakes and established), the time to complete the TLS handshake (our own accept path,
:mod:`.tls_front`), the time to send a request body (:mod:`.body_deadline`), idle keep-alive
and the size of request headers.

``python -m ctop_node.online.server --home H [--db URL] [--port P]`` runs a node's peer port
on its own (tests, ``serve`` wiring); ``ctop-node serve`` builds the same pieces.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.crypto.node import NodePaths
from ctop_node.errors import ConfigError, CtopError
from ctop_node.exchange.checks import DEFAULT_MAX_SKEW
from ctop_node.exchange.receive import Receiver
from ctop_node.online._malloc import pin_mmap_threshold
from ctop_node.online.body_deadline import BodyDeadline
from ctop_node.online.endpoint import peer_app
from ctop_node.online.tls_front import FrontLimits, TlsFront
from ctop_node.store import SqlStore, open_store

PEER_CA_BUNDLE = "peer-ca-bundle.pem"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path  # our node's TLS certificate (server and client auth)
    key: Path
    client_ca_bundle: Path  # PEM of every peer Party's CA: whose nodes may connect


def peer_tls_files(home: Path) -> TlsFiles:
    """The node's TLS files and a CA bundle of every imported peer Party (written to
    ``certs/peer-ca-bundle.pem``). ``ConfigError`` when no peer is imported yet."""
    paths = NodePaths(home)
    cas = sorted(paths.peers.glob("*/ca.pem")) if paths.peers.is_dir() else []
    if not cas:
        raise ConfigError(
            f"no peer trust bundle imported in {home}: run `ctop-node pki import-trust` first",
            code="config.peer_trust",
        )
    bundle = paths.certs / PEER_CA_BUNDLE
    tmp = bundle.with_suffix(".tmp")
    tmp.write_text("".join(ca.read_text("ascii") for ca in cas), "ascii")
    tmp.replace(bundle)
    return TlsFiles(paths.tls_cert, paths.tls_key, bundle)


def clock_skew(settings: Mapping[str, Any]) -> timedelta:
    """``clock_skew_s`` of node.json: how far an online message's ``created_at`` may be
    from our clock, either way (default 600 s)."""
    raw = settings.get("clock_skew_s", DEFAULT_MAX_SKEW.total_seconds())
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 86_400:
        raise ConfigError(
            f"node.json clock_skew_s must be a number of seconds in 1..86400, not {raw!r}",
            code="config.clock_skew",
        )
    return timedelta(seconds=raw)


def build_receiver(
    home: Path, party: str, store: SqlStore, *, settings: Mapping[str, Any] | None = None
) -> Receiver:
    """A receiver with the node's key set; ``settings`` (the node.json) give the clock
    skew it accepts."""
    keys = node_keys(home)
    return Receiver(
        party,
        store.inbox,
        keys.signer,
        keys.decryptor,
        keys.trust,
        max_skew=clock_skew(settings or {}),
    )


@dataclass(frozen=True, slots=True)
class PeerLimits:
    """What one peer port holds at most; each field is a ``node.json`` key (same name, with
    the ``peer_`` prefix) and a ``serve`` option."""

    max_connections: int = 256  # pending handshakes + established
    handshake_timeout_s: float = 10.0  # accept -> TLS established
    body_timeout_s: float = 60.0  # first body byte -> whole body (16 MiB max)
    keepalive_s: float = 5.0  # idle between requests on one connection
    max_header_bytes: int = 16 * 1024  # request line + headers

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **overrides: float | None) -> PeerLimits:
        """Read ``peer_max_connections`` etc. from ``node.json``; ``overrides`` (command-line
        values, ``None`` = not given) win. A value of the wrong type or below 1 is a
        ``ConfigError`` naming the key."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = f"peer_{f.name}"
            raw = overrides.get(f.name)
            if raw is None:
                raw = settings.get(key, f.default)
            kind = int if f.type in ("int", int) else float
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 1:
                raise ConfigError(
                    f"node.json {key}: expected a number >= 1, got {raw!r}",
                    code="config.peer_limits",
                )
            if kind is int and raw != int(raw):
                raise ConfigError(
                    f"node.json {key}: expected a whole number, got {raw!r}",
                    code="config.peer_limits",
                )
            values[f.name] = kind(raw)
        return cls(**values)


def server_tls_context(tls: TlsFiles) -> ssl.SSLContext:
    """Server side of mutual TLS: our certificate, a client certificate from a peer CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    ctx.load_verify_locations(cafile=str(tls.client_ca_bundle))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def uvicorn_config(
    app: ASGIApp, host: str, port: int, limits: PeerLimits | None = None
) -> uvicorn.Config:
    """uvicorn's HTTP side of the peer port (TLS is :class:`PeerServer`'s own)."""
    limits = limits or PeerLimits()
    return uvicorn.Config(
        BodyDeadline(app, limits.body_timeout_s),
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        http="h11",
        # The front keeps connections within the limit; uvicorn answers 503 when its count
        # (the requesting connection included) reaches this, so one more than the limit.
        limit_concurrency=limits.max_connections + 1,
        timeout_keep_alive=max(1, round(limits.keepalive_s)),
        h11_max_incomplete_event_size=limits.max_header_bytes,
        # A peer's idle keep-alive connection must not hold a shutdown for long.
        timeout_graceful_shutdown=3,
    )


class _H11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with its idle timer running from the first moment: uvicorn
    starts it only after a response, so a peer that completed the handshake and then sent
    nothing held its connection (and a place under the connection limit) for ever."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )


class PeerServer(uvicorn.Server):
    """uvicorn's server with :class:`TlsFront` as its listener: the handshake is ours (with a
    deadline and a connection limit), HTTP after it is uvicorn's."""

    def __init__(self, config: uvicorn.Config, tls: ssl.SSLContext, limits: PeerLimits) -> None:
        super().__init__(config)
        self.tls = tls
        self.limits = limits
        self.front: TlsFront | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        pin_mmap_threshold()  # handshake buffers go back to the OS when freed
        config = self.config
        server_state = self.server_state

        def protocol() -> asyncio.Protocol:
            return _H11Protocol(config=config, server_state=server_state, app_state={})

        front = TlsFront(
            config.host,
            config.port,
            self.tls,
            protocol,
            FrontLimits(self.limits.max_connections, self.limits.handshake_timeout_s),
            established=lambda: len(server_state.connections),
        )
        try:
            await front.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on the peer port {config.host}:{config.port}: {exc}",
                code="config.peer_bind",
            ) from exc
        self.front = front
        self.servers = [front]  # type: ignore[list-item]  # uvicorn only calls close()
        log.info("peer port listening on %s:%d (mutual TLS)", config.host, front.port)
        self.started = True


def peer_server(
    app: ASGIApp, host: str, port: int, tls: TlsFiles, limits: PeerLimits | None = None
) -> PeerServer:
    limits = limits or PeerLimits()
    return PeerServer(uvicorn_config(app, host, port, limits), server_tls_context(tls), limits)


def run_peer_server(
    app: ASGIApp, host: str, port: int, tls: TlsFiles, limits: PeerLimits | None = None
) -> None:
    """Serve ``app`` with mutual TLS until interrupted (SIGINT/SIGTERM)."""
    peer_server(app, host, port, tls, limits).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctop_node.online.server")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--db", default=None, help="database URL (default: the node's)")
    parser.add_argument("--party", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = NodeConfig.load(args.home, party=args.party, db_url=args.db)
        port = args.port if args.port is not None else config.peer_port
        tls = peer_tls_files(args.home)
        with open_store(config.db_url) as store:
            app = peer_app(build_receiver(args.home, config.party, store, settings=config.settings))
            limits = PeerLimits.from_settings(config.settings)
            run_peer_server(app, args.host, port, tls, limits)
    except CtopError as exc:
        logging.getLogger(__name__).error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

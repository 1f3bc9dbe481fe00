"""Runs the peer endpoint under uvicorn with mutual TLS.

uvicorn requires a client certificate chaining to one of the peer Parties' CAs
(``ssl.CERT_REQUIRED``): no certificate, or one of another CA, fails the handshake. TLS proves
only "a node of a trusted Party CA"; who sent a message is proven by its signature.

``python -m ctop_node.online.server --home H [--db URL] [--port P]`` runs a node's peer port
on its own (tests, ``serve`` wiring); ``ctop-node serve`` builds the same pieces.
"""

from __future__ import annotations

import argparse
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.crypto.node import NodePaths
from ctop_node.errors import ConfigError, CtopError
from ctop_node.exchange.checks import DEFAULT_MAX_SKEW
from ctop_node.exchange.receive import Receiver
from ctop_node.online.endpoint import peer_app
from ctop_node.store import SqlStore, open_store

PEER_CA_BUNDLE = "peer-ca-bundle.pem"


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


def uvicorn_config(app: ASGIApp, host: str, port: int, tls: TlsFiles) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        ssl_ca_certs=str(tls.client_ca_bundle),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        # A peer's idle keep-alive connection must not hold a shutdown for long.
        timeout_graceful_shutdown=3,
    )


def run_peer_server(app: ASGIApp, host: str, port: int, tls: TlsFiles) -> None:
    """Serve ``app`` with mutual TLS until interrupted (SIGINT/SIGTERM)."""
    uvicorn.Server(uvicorn_config(app, host, port, tls)).run()


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
            run_peer_server(app, args.host, port, tls)
    except CtopError as exc:
        logging.getLogger(__name__).error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

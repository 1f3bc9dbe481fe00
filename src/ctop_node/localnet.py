"""Two (or more) real nodes on loopback: what the demo, the end-to-end tests and the exchange
benchmark start. Each node is a separate ``ctop-node serve`` process with its own home,
database, keys and certificates; trust bundles are exchanged as two Parties would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ctop_node.config import NodeConfig, sqlite_url, write_node_config
from ctop_node.crypto.node import init_node
from ctop_node.crypto.trust import export_trust, import_trust
from ctop_node.errors import ConfigError
from ctop_node.online.peers import add_peer
from ctop_node.web.api import ensure_api_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalNode:
    party: str
    home: Path
    db_url: str
    peer_port: int
    api_port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def peer_url(self) -> str:
        return f"https://127.0.0.1:{self.peer_port}"

    @property
    def token(self) -> str:
        return ensure_api_token(self.home)

    @property
    def config(self) -> NodeConfig:
        return NodeConfig.load(self.home)

    def start(
        self,
        *,
        log: Path | None = None,
        env: dict[str, str] | None = None,
        module: Sequence[str] = ("ctop_node", "serve"),
    ) -> None:
        """Start ``python -m <module...> --home HOME`` (default ``ctop_node serve``; tests
        start their own entry point with injected faults)."""
        log = log or self.home / "serve.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *module, "--home", str(self.home)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                tail = (self.home / "serve.log").read_text("utf-8", "replace")[-2000:]
                raise ConfigError(f"node {self.party} exited: {tail}", code="localnet.exited")
            try:
                if httpx.get(f"{self.api_url}/api/v1/health", timeout=1.0).status_code == 200:
                    with socket.create_connection(("127.0.0.1", self.peer_port), timeout=1.0):
                        return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.05)  # polling a port with a deadline, not waiting for luck
        raise ConfigError(f"node {self.party} not ready in {timeout} s", code="localnet.timeout")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind."""
        self.stop(signal.SIGKILL)


def create_nodes(
    base: Path, parties: tuple[str, ...] = ("KZ", "CN"), *, db_urls: dict[str, str] | None = None
) -> dict[str, LocalNode]:
    """Homes with fresh PKI for each Party, trust exchanged both ways, peers configured."""
    nodes: dict[str, LocalNode] = {}
    for party in parties:
        home = base / party.lower()
        init_node(home, party)
        db = (db_urls or {}).get(party) or sqlite_url(home)
        node = LocalNode(party, home, db, free_port(), free_port())
        write_node_config(
            home,
            {
                "party": party,
                "db_url": db,
                "peer_port": node.peer_port,
                "api_port": node.api_port,
                "node_name": f"ctop-node {party}",
            },
        )
        nodes[party] = node
    for party, node in nodes.items():
        bundle = base / f"trust-{party}.json"
        export_trust(node.home, bundle)
        for other in nodes.values():
            if other is not node:
                import_trust(other.home, bundle, own_party=other.party)
    for node in nodes.values():
        for other in nodes.values():
            if other is not node:
                add_peer(node.home, other.party, other.peer_url)
    return nodes


def stop_all(nodes: dict[str, LocalNode], sig: int = signal.SIGTERM) -> None:
    """Signal every node first, then wait: their shutdowns overlap."""
    for node in nodes.values():
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(sig)
    for node in nodes.values():
        node.stop(sig)

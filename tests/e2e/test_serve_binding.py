"""Where ``ctop-node serve`` listens. Operator does ... / result: ...

- ``--peer-host 127.0.0.2`` / the peer port is there (mutual TLS works), the internal API is
  not: it stays on 127.0.0.1 (opening the peer port to the other Party never opens the API);
- ``api_tls_cert``/``api_tls_key`` in node.json / the API speaks HTTPS only;
- ``--api-cert`` without ``--api-key`` / the node refuses to start, naming the missing key.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ctop_node.config import write_node_config
from ctop_node.crypto.node import NodePaths
from ctop_node.localnet import LocalNode
from ctop_node.online.endpoint import HEALTH_PATH
from tests.e2e.conftest import READY_S, Pair


def serve(node: LocalNode, *args: str) -> subprocess.Popen[bytes]:
    with (node.home / "serve.log").open("ab") as out:
        node.proc = subprocess.Popen(
            [sys.executable, "-m", "ctop_node", "serve", "--home", str(node.home), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    return node.proc


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_listening(proc: subprocess.Popen[bytes], *addrs: tuple[str, int]) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited"
        if all(listening(h, p) for h, p in addrs):
            return
        time.sleep(0.05)  # polling ports with a deadline
    pytest.fail(f"not listening within {READY_S} s: {addrs}")


def test_the_api_is_not_on_the_peer_host(nodes: Pair) -> None:
    cn = nodes.cn
    proc = serve(cn, "--peer-host", "127.0.0.2")
    wait_listening(proc, ("127.0.0.2", cn.peer_port), ("127.0.0.1", cn.api_port))
    # The peer port answers on its address with mutual TLS ...
    ctx = nodes.kz_tls()
    with socket.create_connection(("127.0.0.2", cn.peer_port), timeout=10.0) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.getpeercert() is not None
    # ... and only there.
    assert not listening("127.0.0.1", cn.peer_port)
    # The internal API is on loopback 127.0.0.1 only, not on the peer host.
    assert not listening("127.0.0.2", cn.api_port)
    r = httpx.get(f"http://127.0.0.1:{cn.api_port}/api/v1/health", timeout=10.0)
    assert r.status_code == 200


def test_the_api_can_have_its_own_tls_certificate(nodes: Pair) -> None:
    cn = nodes.cn
    paths = NodePaths(cn.home)
    write_node_config(
        cn.home,
        {
            **cn.config.settings,
            "api_tls_cert": str(paths.tls_cert),
            "api_tls_key": str(paths.tls_key),
        },
    )
    proc = serve(cn)
    wait_listening(proc, ("127.0.0.1", cn.peer_port), ("127.0.0.1", cn.api_port))
    url = f"https://localhost:{cn.api_port}/api/v1/health"
    ctx = ssl.create_default_context(cafile=str(paths.ca_cert))
    with httpx.Client(verify=ctx, timeout=10.0) as client:
        assert client.get(url).status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{cn.api_port}/api/v1/health", timeout=10.0)
    with httpx.Client(verify=nodes.kz_tls(), timeout=10.0) as peer:
        assert peer.get(cn.peer_url + HEALTH_PATH).status_code == 200


def test_api_tls_needs_both_files(nodes: Pair, tmp_path: Path) -> None:
    cn = nodes.cn
    proc = serve(cn, "--api-cert", str(NodePaths(cn.home).tls_cert))
    assert proc.wait(READY_S) == 1
    log = (cn.home / "serve.log").read_text("utf-8", "replace")
    assert "api_tls_key" in log
    assert "Traceback" not in log

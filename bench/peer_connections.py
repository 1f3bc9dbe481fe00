"""Peer-port memory under idle connections: what N TCP connections that never send a
ClientHello cost a node, and whether the memory comes back once they are closed.

    .venv/bin/python bench/peer_connections.py [--connections 1000] [--skip-baseline]

Fresh KZ and CN homes (real PKI). Two servers are measured in the same run, each a separate
process on 127.0.0.1, by its VmRSS (/proc/PID/status):

- ``baseline``: uvicorn terminating TLS itself (``ssl=`` on ``loop.create_server``), the peer
  port as it was before issue 8, serving the same certificates;
- ``ctop-node serve``: the node as shipped (its own accept path: connection limit, handshake
  timeout, TLS only once the ClientHello has arrived).

For each: RSS at rest, with N connections open, and 3 s after they are all closed; first N
idle connections (not a byte sent), then N that send a ClientHello and stall. The node runs
with ``peer_max_connections`` raised to N so every connection is held (the default limit
would refuse the excess, which costs nothing).
"""

from __future__ import annotations

import argparse
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ctop_node.config import write_node_config
from ctop_node.crypto.node import NodePaths
from ctop_node.localnet import LocalNode, create_nodes, free_port
from ctop_node.online.endpoint import HEALTH_PATH
from ctop_node.online.http_client import tls_context

_BASELINE = textwrap.dedent(
    """
    import ssl, sys, uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    cert, key, ca, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    async def health(request):
        return JSONResponse({"ok": True})
    app = Starlette(routes=[Route("/ctop/v1/health", health)])
    uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, ssl_certfile=cert, ssl_keyfile=key,
        ssl_ca_certs=ca, ssl_cert_reqs=ssl.CERT_REQUIRED, lifespan="off",
        log_level="warning", access_log=False)).run()
    """
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text("ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)  # polling a port with a deadline
    raise RuntimeError(f"port {port} not open in {timeout} s")


def settle(pid: int, seconds: float = 3.0) -> int:
    """RSS once it stopped moving for a moment (at most ``seconds``)."""
    last = rss_kib(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)  # sampling RSS
        now = rss_kib(pid)
        if abs(now - last) < 256:
            return now
        last = now
    return last


def client_hello() -> bytes:
    """The first flight of a TLS client: what a connection that then stalls has sent."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="bench")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def measure(
    name: str,
    pid: int,
    port: int,
    n: int,
    warm: httpx.Client,
    url: str,
    *,
    hello: bytes = b"",
    hold: float = 1.0,
) -> None:
    for _ in range(3):
        assert warm.get(url).status_code == 200
    rest = settle(pid)
    socks: list[socket.socket] = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10.0)
        if hello:
            s.sendall(hello)
        socks.append(s)
    time.sleep(hold)  # let the server accept (and start TLS on) all of them
    held = rss_kib(pid)
    for s in socks:
        s.close()
    time.sleep(3.0)  # the server sees the closes
    after = settle(pid)
    assert warm.get(url).status_code == 200, "the server still answers"
    per = (held - rest) / n
    print(
        f"{name:<28} rest {rest / 1024:6.1f} MiB  {n} held {held / 1024:6.1f} MiB "
        f"(+{(held - rest) / 1024:6.1f} MiB, {per:6.1f} KiB/conn)  "
        f"closed {after / 1024:6.1f} MiB (+{(after - rest) / 1024:5.1f} MiB)",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    n = args.connections
    with tempfile.TemporaryDirectory() as tmp:
        nodes = create_nodes(Path(tmp))
        cn: LocalNode = nodes["CN"]
        kz = NodePaths(nodes["KZ"].home)
        cfg = dict(cn.config.settings)
        cfg["peer_max_connections"] = n + 50
        write_node_config(cn.home, cfg)
        ctx = tls_context(NodePaths(cn.home).ca_cert, kz.tls_cert, kz.tls_key)
        with httpx.Client(verify=ctx, timeout=10.0) as client:
            if not args.skip_baseline:
                paths = NodePaths(cn.home)
                port = free_port()
                bundle = paths.certs / "bench-ca.pem"
                bundle.write_bytes(Path(kz.ca_cert).read_bytes())
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        _BASELINE,
                        str(paths.tls_cert),
                        str(paths.tls_key),
                        str(bundle),
                        str(port),
                    ]
                )
                try:
                    wait_port(port)
                    url = f"https://127.0.0.1:{port}{HEALTH_PATH}"
                    measure("baseline, idle", proc.pid, port, n, client, url)
                    hello = client_hello()
                    measure("baseline, ClientHello", proc.pid, port, n, client, url, hello=hello)
                finally:
                    proc.kill()  # uvicorn waits 60 s for stuck handshakes
                    proc.wait(30)
            cn.start()
            try:
                cn.wait_ready(60.0)
                assert cn.proc is not None
                url = cn.peer_url + HEALTH_PATH
                pid, port = cn.proc.pid, cn.peer_port
                measure("ctop-node serve, idle", pid, port, n, client, url)
                hello = client_hello()
                measure("ctop-node serve, ClientHello", pid, port, n, client, url, hello=hello)
            finally:
                cn.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

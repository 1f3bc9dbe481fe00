"""The peer port of a real ``ctop-node serve`` (CN) under connections that hold resources.
Client does ... / result: ...

- opens 300 TCP connections and sends nothing / each costs the node a few KiB (was ~300),
  all are closed after the handshake timeout, and RSS returns near where it was;
- 300 connections send a ClientHello and stall / closed after the handshake timeout, and the
  memory of their TLS state comes back;
- completes the handshake, then sends nothing / closed after the keep-alive time;
- sends the headers and part of a body, then stalls / 408 ``exchange.body_timeout`` and the
  connection is closed after the body timeout; no traceback in the log;
- disconnects in the middle of a body / one log line, no traceback;
- opens connections over ``peer_max_connections`` / the excess is closed at once, while a
  peer already connected keeps being served, and a new one gets in once the idle ones go.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ctop_node.config import write_node_config
from ctop_node.localnet import LocalNode
from ctop_node.online.endpoint import HEALTH_PATH, MESSAGES_PATH
from tests.e2e.conftest import READY_S, Pair, wait_until

N_IDLE = 300
# What one idle connection may cost: the budget is 100 MB for 1,000 (issue 8); the node
# measures ~3 KiB; uvicorn's own TLS took ~305 KiB.
MAX_KIB_PER_IDLE = 100
HANDSHAKE_S = 2.0
# While RSS is measured all N idle connections must still be open: the handshake deadline of
# that test outlasts opening them on a loaded machine.
IDLE_HANDSHAKE_S = 15.0
BODY_S = 2.0
# RSS may stay this much above where it was once everything is closed (allocator slack).
RETURN_SLACK_KIB = 16 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text("ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def configure(node: LocalNode, **settings: Any) -> None:
    write_node_config(node.home, {**node.config.settings, **settings})


def start_cn(pair: Pair, **settings: Any) -> int:
    configure(pair.cn, **settings)
    pair.cn.start()
    pair.cn.wait_ready(READY_S)
    assert pair.cn.proc is not None
    for _ in range(3):  # warm the TLS and HTTP paths before the baseline
        assert pair.cn_healthy()
    return pair.cn.proc.pid


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def connect(port: int, n: int, first: bytes = b"") -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10.0)
        if first:
            s.sendall(first)
        socks.append(s)
    return socks


def closed_by_peer(s: socket.socket) -> bool:
    """Whether the server has closed ``s`` (EOF or reset waiting), without blocking."""
    s.setblocking(False)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def client_hello() -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="flood")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def wait_rss(pid: int, what: str, cond: Callable[[int], bool], timeout: float) -> int:
    wait_until(what, lambda: cond(rss_kib(pid)), timeout, step=0.2)
    return rss_kib(pid)


def log_text(node: LocalNode) -> str:
    return (node.home / "serve.log").read_text("utf-8", "replace")


def test_idle_connections_cost_little_and_are_closed_after_the_handshake_timeout(
    nodes: Pair,
) -> None:
    pid = start_cn(
        nodes, peer_handshake_timeout_s=IDLE_HANDSHAKE_S, peer_max_connections=N_IDLE + 50
    )
    base, fds = rss_kib(pid), open_fds(pid)
    opened = time.monotonic()
    socks = connect(nodes.cn.peer_port, N_IDLE)
    wait_until(
        f"the node accepted all {N_IDLE} connections",
        # (the warm-up's server side may still be closing when the baseline is counted)
        lambda: open_fds(pid) >= fds + N_IDLE - 5,
        10.0 + 0.05 * N_IDLE,
    )
    held = rss_kib(pid)
    try:
        per = (held - base) / N_IDLE
        assert per < MAX_KIB_PER_IDLE, f"{per:.1f} KiB per idle connection"
        # The deadline scales with the work: the handshake timeout, plus time to accept N.
        budget = IDLE_HANDSHAKE_S + 10.0 + 0.05 * N_IDLE
        wait_until(
            f"all {N_IDLE} idle connections closed by the node",
            lambda: all(closed_by_peer(s) for s in socks),
            budget,
            step=0.2,
        )
        assert time.monotonic() - opened >= IDLE_HANDSHAKE_S * 0.9, "closed before the timeout"
    finally:
        for s in socks:
            s.close()
    after = wait_rss(pid, "RSS back near baseline", lambda r: r < base + RETURN_SLACK_KIB, 30)
    assert after < base + RETURN_SLACK_KIB
    assert nodes.cn_healthy()
    assert "Traceback" not in log_text(nodes.cn)


def test_stalled_client_hellos_are_closed_and_their_memory_comes_back(nodes: Pair) -> None:
    pid = start_cn(nodes, peer_handshake_timeout_s=HANDSHAKE_S, peer_max_connections=N_IDLE + 50)
    base = rss_kib(pid)
    socks = connect(nodes.cn.peer_port, N_IDLE, client_hello())
    try:
        wait_until(
            f"all {N_IDLE} stalled handshakes closed by the node",
            lambda: all(closed_by_peer(s) for s in socks),
            HANDSHAKE_S + 10.0 + 0.05 * N_IDLE,
            step=0.2,
        )
    finally:
        for s in socks:
            s.close()
    # Each held TLS state (~300 KiB) must be freed and given back: 300 of them are ~90 MB.
    wait_rss(pid, "RSS back near baseline", lambda r: r < base + RETURN_SLACK_KIB, 30)
    assert nodes.cn_healthy()
    assert "Traceback" not in log_text(nodes.cn)


def _raw_tls(pair: Pair) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", pair.cn.peer_port), timeout=30.0)
    return pair.kz_tls().wrap_socket(raw, server_hostname="localhost")


def _partial_post(s: ssl.SSLSocket, declared: int, sent: bytes) -> None:
    head = (
        f"POST {MESSAGES_PATH} HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: application/cbor\r\nContent-Length: {declared}\r\n\r\n"
    )
    s.sendall(head.encode("ascii") + sent)


def _read_all(s: ssl.SSLSocket) -> bytes:
    chunks = []
    while True:
        try:
            data = s.recv(65536)
        except (ConnectionError, ssl.SSLError):
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def test_a_slow_body_is_cut_after_the_body_timeout(nodes: Pair) -> None:
    start_cn(nodes, peer_body_timeout_s=BODY_S)
    with _raw_tls(nodes) as s:
        started = time.monotonic()
        _partial_post(s, 100_000, b"\x9f" + b"\x00" * 10)
        answer = _read_all(s)  # returns when the node closes the connection
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"exchange.body_timeout" in answer
    assert BODY_S * 0.9 <= took < BODY_S + 20, took
    assert nodes.cn_healthy()
    log = log_text(nodes.cn)
    assert "request body not received within" in log
    assert "Traceback" not in log


def test_a_peer_silent_after_the_handshake_is_closed_after_the_keepalive(nodes: Pair) -> None:
    keepalive = 2
    start_cn(nodes, peer_keepalive_s=keepalive)
    with _raw_tls(nodes) as s:
        started = time.monotonic()
        assert _read_all(s) == b""  # returns when the node closes the connection
        took = time.monotonic() - started
    assert keepalive * 0.9 <= took < keepalive + 20, took
    assert nodes.cn_healthy()


def test_a_disconnect_in_the_middle_of_a_body_is_one_log_line(nodes: Pair) -> None:
    start_cn(nodes)
    for _ in range(5):
        with _raw_tls(nodes) as s:
            _partial_post(s, 100_000, b"\x9f" + b"\x00" * 10)
    wait_until(
        "the node logged the five disconnects",
        lambda: log_text(nodes.cn).count("disconnected before the request body") == 5,
        30,
    )
    assert nodes.cn_healthy()
    assert "Traceback" not in log_text(nodes.cn)


def test_connections_over_the_limit_are_closed_while_a_peer_is_served(nodes: Pair) -> None:
    limit = 20
    start_cn(nodes, peer_max_connections=limit, peer_handshake_timeout_s=8, peer_keepalive_s=60)
    with httpx.Client(verify=nodes.kz_tls(), timeout=10.0) as peer:
        url = nodes.cn.peer_url + HEALTH_PATH
        assert peer.get(url).status_code == 200  # the peer's keep-alive connection
        idle = connect(nodes.cn.peer_port, limit - 1)  # the limit is reached
        try:
            extra = connect(nodes.cn.peer_port, 5)
            try:
                wait_until(
                    "the connections over the limit closed at once",
                    lambda: all(closed_by_peer(s) for s in extra),
                    5.0,
                    step=0.05,
                )
            finally:
                for s in extra:
                    s.close()
            assert not any(closed_by_peer(s) for s in idle), "held ones must not be dropped"
            for _ in range(5):  # the connected peer is still served, on its connection
                assert peer.get(url).status_code == 200
            wait_until(
                "the idle connections time out",
                lambda: all(closed_by_peer(s) for s in idle),
                8 + 20,
                step=0.2,
            )
        finally:
            for s in idle:
                s.close()
    assert nodes.cn_healthy()  # a new connection gets in again
    assert "connection limit 20 reached" in log_text(nodes.cn)
    assert nodes.cn.stop() == 0  # SIGTERM: a clean shutdown
    assert "Traceback" not in log_text(nodes.cn)

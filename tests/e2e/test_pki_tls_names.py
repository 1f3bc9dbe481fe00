"""TLS host names between two real nodes (issue 8, finding 1). KZ's sender dials CN at
``https://127.0.0.2:<port>``, as it would dial ``https://cn-node:8443`` between two hosts.

- CN's TLS certificate reissued for 127.0.0.2 (``ctop-node pki reissue-tls --ip``) / the
  records are delivered;
- CN's certificate names only localhost/127.0.0.1 (what ``init`` used to issue for every
  node) / nothing is delivered and KZ's status names the host the certificate must carry
  (``transport.tls.name_mismatch``), not a bare CERTIFICATE_VERIFY_FAILED.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ctop_node.localnet import LocalNode
from ctop_node.online.peers import add_peer
from ctop_node.store.schema import peer_status
from tests.e2e.conftest import READY_S, Pair, records_for, start, wait_until

HOST = "127.0.0.2"
RECORDS = 20


def _loopback_alias() -> bool:
    try:
        with socket.socket() as s:
            s.bind((HOST, 0))
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _loopback_alias(), reason=f"{HOST} is not on loopback")


def _host_flags(host: str) -> tuple[list[str], str]:
    """The ``serve`` options that put the peer port on ``host`` and where the API then
    listens: ``--peer-host`` (API stays on 127.0.0.1) where it exists, else ``--host``."""
    helptext = subprocess.run(
        [sys.executable, "-m", "ctop_node", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    if "--peer-host" in helptext:
        return ["--peer-host", host], "127.0.0.1"
    return ["--host", host], host


def _start_on(node: LocalNode, host: str) -> None:
    """``ctop-node serve`` with its peer port on ``host``, ready when both ports answer."""
    flags, api_host = _host_flags(host)
    log = (node.home / "serve.log").open("ab")
    node.proc = subprocess.Popen(
        [sys.executable, "-m", "ctop_node", "serve", "--home", str(node.home), *flags],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )
    log.close()

    def ready() -> bool:
        assert node.proc is not None and node.proc.poll() is None, (
            node.home / "serve.log"
        ).read_text("utf-8", "replace")[-2000:]
        try:
            url = f"http://{api_host}:{node.api_port}/api/v1/health"
            if httpx.get(url, timeout=1.0).status_code != 200:
                return False
            with socket.create_connection((host, node.peer_port), timeout=1.0):
                return True
        except (httpx.HTTPError, OSError):
            return False

    wait_until(f"{node.party} serving on {host}", ready, READY_S)


def _cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ctop_node", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _last_error(pair: Pair) -> str:
    with pair.engine(pair.kz).connect() as conn:
        error = conn.execute(
            select(peer_status.c.last_error).where(peer_status.c.peer_party == "CN")
        ).scalar_one_or_none()
    return str(error or "")


def test_a_certificate_for_the_dialled_address_delivers(
    nodes: Pair, record_dict: dict[str, Any]
) -> None:
    out = _cli("pki", "reissue-tls", "--home", str(nodes.cn.home), "--ip", HOST)
    assert HOST in out
    add_peer(nodes.kz.home, "CN", f"https://{HOST}:{nodes.cn.peer_port}")
    _start_on(nodes.cn, HOST)
    start(nodes.kz)
    nodes.ingest(nodes.kz, records_for(record_dict, RECORDS, prefix="TLSNAME"))
    nodes.wait_drained()
    assert nodes.outbox_states()["delivered"] == RECORDS
    assert len(nodes.received()) == RECORDS


def test_a_certificate_for_other_names_is_a_clear_error(
    nodes: Pair, record_dict: dict[str, Any]
) -> None:
    add_peer(nodes.kz.home, "CN", f"https://{HOST}:{nodes.cn.peer_port}")
    _start_on(nodes.cn, HOST)  # CN's certificate names localhost and 127.0.0.1 only
    start(nodes.kz)
    nodes.ingest(nodes.kz, records_for(record_dict, 1, prefix="TLSBAD"))
    wait_until("KZ's sender reported the TLS failure", lambda: bool(_last_error(nodes)), 60.0)
    error = _last_error(nodes)
    assert "transport.tls.name_mismatch" in error
    assert f"expected host {HOST}" in error and f"--ip {HOST}" in error
    assert nodes.outbox_states()["delivered"] == 0 and nodes.received() == []

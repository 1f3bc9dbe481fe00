"""A network partition between the two nodes, with a network namespace and a veth pair: CN
runs inside the namespace at its own address, KZ outside. Client sends while the link is
down / result: nothing is lost; once the link is back the backlog drains by itself, every
version once and in order. Skipped (with the reason) where the kernel or the user may not
create namespaces.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import PartyCA, load_private_key, write_pem
from ctop_node.online.endpoint import HEALTH_PATH
from ctop_node.online.peers import add_peer
from tests.e2e.conftest import READY_S, Pair, changed, records_for, start, wait_until


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


class Link:
    """A namespace ``ns`` reached from here over ``host_if`` (10.231.x.1 <-> 10.231.x.2)."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = f"ctop-{tag}"
        self.host_if, self.ns_if = f"ct{tag}h", f"ct{tag}n"
        octet = random.Random(tag).randrange(1, 250)
        self.host_ip, self.ns_ip = f"10.231.{octet}.1", f"10.231.{octet}.2"

    def up(self) -> str | None:
        """Build it; the reason when this machine does not allow it."""
        steps = [
            ("netns", "add", self.ns),
            ("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if),
            ("link", "set", self.ns_if, "netns", self.ns),
            ("addr", "add", f"{self.host_ip}/24", "dev", self.host_if),
            ("link", "set", self.host_if, "up"),
            ("netns", "exec", self.ns, "ip", "addr", "add", f"{self.ns_ip}/24", "dev", self.ns_if),
            ("netns", "exec", self.ns, "ip", "link", "set", self.ns_if, "up"),
            ("netns", "exec", self.ns, "ip", "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                return f"`ip {' '.join(step)}` failed: {done.stderr.strip()}"
        return None

    def cut(self) -> None:
        assert _ip("link", "set", self.host_if, "down").returncode == 0

    def heal(self) -> None:
        assert _ip("link", "set", self.host_if, "up").returncode == 0

    def down(self) -> None:
        _ip("link", "del", self.host_if)  # also removes the peer end
        _ip("netns", "del", self.ns)


@pytest.fixture
def link() -> Iterator[Link]:
    if sys.platform != "linux" or shutil.which("ip") is None:
        pytest.skip("needs Linux and iproute2 (`ip`)")
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root")
    link = Link()
    try:
        problem = link.up()
        if problem:
            pytest.skip(f"network namespaces not allowed here: {problem}")
        yield link
    finally:
        link.down()


def _reissue_tls(home: NodePaths, ip: str) -> None:
    """CN's TLS certificate, valid for its namespace address as well (same key)."""
    ca = PartyCA.load(home.ca_dir)
    key = load_private_key(home.tls_key)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert = ca.issue_tls(key.public_key(), "cn", ips=("127.0.0.1", ip))
    write_pem(home.tls_cert, cert)


def _start_cn_in(link: Link, pair: Pair) -> str:
    cn = pair.cn
    cmd = ["ip", "netns", "exec", link.ns, sys.executable, "-m", "ctop_node", "serve"]
    cmd += ["--home", str(cn.home), "--peer-host", link.ns_ip, "--api-host", link.ns_ip]
    with (cn.home / "serve.log").open("ab") as out:
        # `ip netns exec` execs the command: this is the node's own pid, which the fixture
        # kills at the end like any other node.
        cn.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"https://{link.ns_ip}:{cn.peer_port}"

    def ready() -> bool:
        assert cn.proc is not None and cn.proc.poll() is None, "CN exited"
        try:
            with httpx.Client(verify=pair.kz_tls(), timeout=2.0) as client:
                return client.get(url + HEALTH_PATH).status_code == 200
        except httpx.TransportError:
            return False

    wait_until("CN ready in its namespace", ready, READY_S, step=0.1)
    return url


def test_partition_then_heal_drains_backlog_in_order(
    link: Link, nodes: Pair, record_dict: dict[str, Any]
) -> None:
    pair = nodes
    _reissue_tls(NodePaths(pair.cn.home), link.ns_ip)
    url = _start_cn_in(link, pair)
    add_peer(pair.kz.home, "CN", url)
    start(pair.kz)
    recs = records_for(record_dict, 20, prefix="NETNS")
    pair.ingest(pair.kz, recs)
    pair.wait_drained()

    link.cut()
    pair.ingest(pair.kz, [changed(r, 2) for r in recs[:10]])
    pair.ingest(pair.kz, [changed(r, 3) for r in recs[:5]])

    def tried() -> bool:
        return pair.peer_failures() >= 1 or any(r.last_error for r in pair.outbox_rows())

    wait_until("KZ's sender hit the partition", tried, 60, step=0.2)
    assert pair.outbox_states()["pending"] > 0
    link.heal()
    pair.wait_drained()

    c = pair.counts()
    assert (c.sent, c.delivered, c.stored_at_peer) == (35, 35, 35), c
    assert (c.duplicates, c.lost, c.corrupted, c.unexpected, c.pending) == (0, 0, 0, 0, 0), c
    versions: dict[str, list[int]] = defaultdict(list)
    for row in pair.received():
        versions[row.record_id].append(row.version)
    assert [versions[r["record_id"]] for r in recs[:5]] == [[1, 2, 3]] * 5
    assert [versions[r["record_id"]] for r in recs[5:10]] == [[1, 2]] * 5
    rows = pair.inbox_rows()
    assert len(rows) == 35 and {r.state for r in rows} == {"applied"}

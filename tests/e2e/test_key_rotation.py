"""Key rotation between two running nodes (issue 8): KZ rotates its signing and encryption
keys while both serve; the trust update announces them; nothing in flight is lost.

- records delivered, then ``ctop-node pki rotate`` at KZ / KZ pushes, CN's bundle of KZ
  lists the new signing certificate first and the old one after it, and the new
  encryption key; records ingested next are delivered (signed with the retired key, CN's
  receipts encrypted to KZ's new key and opened by the running KZ);
- KZ restarted / it signs with the new key and is still delivered.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from ctop_node.crypto.cose import decode_sign1
from ctop_node.crypto.interfaces import kid_of
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import load_certificate
from ctop_node.crypto.trust import TrustBundle
from tests.e2e.conftest import Pair, records_for, start, wait_until

N = 5


def _held(cn_home: Path) -> TrustBundle:
    path = NodePaths(cn_home).peer_dir("KZ") / "bundle.json"
    return TrustBundle.from_json(path.read_text("utf-8"))


def _delivered(pair: Pair, n: int) -> None:
    wait_until(f"{n} records delivered", lambda: pair.outbox_states()["delivered"] == n, 120.0)


def test_rotation_is_announced_and_loses_nothing(nodes: Pair, record_dict: dict[str, Any]) -> None:
    start(nodes.cn)
    start(nodes.kz)
    kz_paths = NodePaths(nodes.kz.home)
    old_sign = kid_of(load_certificate(kz_paths.sign_cert))
    nodes.ingest(nodes.kz, records_for(record_dict, N, prefix="ROT1"))
    _delivered(nodes, N)

    done = subprocess.run(
        [sys.executable, "-m", "ctop_node", "pki", "rotate", "--home", str(nodes.kz.home)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    new_sign = kid_of(load_certificate(kz_paths.sign_cert))
    new_enc = kid_of(load_certificate(kz_paths.enc_cert))
    wait_until(
        "CN learnt KZ's new keys",
        lambda: kid_of(_held(nodes.cn.home).encryption) == new_enc,
        60.0,
    )
    held = _held(nodes.cn.home)
    assert [kid_of(c) for c in held.signing] == [new_sign, old_sign]

    nodes.ingest(nodes.kz, records_for(record_dict, N, prefix="ROT2"))
    _delivered(nodes, 2 * N)

    nodes.kz.stop()
    start(nodes.kz)
    nodes.ingest(nodes.kz, records_for(record_dict, N, prefix="ROT3"))
    _delivered(nodes, 3 * N)
    kids = {decode_sign1(r.message).kid for r in nodes.outbox_rows()}
    assert kids == {old_sign, new_sign}
    assert len(nodes.received()) == 3 * N

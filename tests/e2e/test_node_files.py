"""Who may read what a node writes. After a real exchange between two ``ctop-node serve``
processes whose homes were made with the usual umask 022 (as an older version left them):

- each home is 0700, and node.db, node.db-wal and node.db-shm (decrypted peer records) are
  0600, as is every other file in the home;
- a trust bundle written by ``ctop-node pki export-trust`` is 0600.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Pair, records_for


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_homes_and_databases_are_private_after_an_exchange(
    pair: Pair, record_dict: dict[str, Any]
) -> None:
    pair.ingest(pair.kz, records_for(record_dict, 5, prefix="MODES"))
    pair.wait_drained()
    assert len(pair.received()) == 5
    for node in (pair.kz, pair.cn):
        home = node.home
        assert mode(home) == 0o700, f"{home}: {oct(mode(home))}"
        for name in ("node.db", "node.db-wal", "node.db-shm"):
            path = home / name
            assert path.exists(), f"{path} missing (the node runs in WAL mode)"
            assert mode(path) == 0o600, f"{path}: {oct(mode(path))}"
        loose = [
            f"{p}: {oct(mode(p))}"
            for p in home.rglob("*")
            if not p.is_symlink() and mode(p) & 0o077
        ]
        assert not loose, loose


def test_an_exported_trust_bundle_is_private(pair: Pair, tmp_path: Path) -> None:
    out = tmp_path / "exported-kz-trust.json"
    previous = os.umask(0o022)  # the operator's usual umask; the command must not rely on it
    try:
        export(pair, out)
    finally:
        os.umask(previous)
    assert mode(out) == 0o600, oct(mode(out))


def export(pair: Pair, out: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ctop_node",
            "pki",
            "export-trust",
            "--home",
            str(pair.kz.home),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )

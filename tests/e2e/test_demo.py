"""``ctop-node demo --once --json``: two real processes exchange sample trains over mTLS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ctop_node.access.sessions import Accounts
from ctop_node.config import sqlite_url
from ctop_node.store import open_store
from ctop_node.store.arrival import ArrivalQueries
from ctop_node.store.users import UserStore


def test_demo_two_nodes_exchange_everything(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctop_node",
            "demo",
            "--once",
            "--json",
            "--home",
            str(tmp_path / "demo"),
            "--trains",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "CTOP_LANG": "en"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    # Counted from the two databases, not from the sender's belief.
    assert out["sent"] > 40 and out["sent"] == out["delivered"] == out["stored_at_peer"]
    assert (out["duplicates"], out["lost"], out["corrupted"], out["pending"]) == (0, 0, 0, 0)
    flows = {(f["sender"], f["receiver"]): f for f in out["flows"]}
    assert set(flows) == {("KZ", "CN"), ("CN", "KZ")}
    for party, ingested in out["ingested"].items():
        total = sum(
            ingested[k] for k in ("to_send", "not_applicable", "excluded", "refused", "rejected")
        )
        assert total == ingested["read"]
        peer = "CN" if party == "KZ" else "KZ"
        assert flows[(party, peer)]["sent"] == ingested["to_send"]
    assert out["urls"]["KZ"]["peer"].startswith("https://127.0.0.1:")
    # The demo's arrival officer logs in at CN and the announced trains are there to see.
    assert out["urls"]["CN"]["ui"] == out["urls"]["CN"]["api"] + "/ui/"
    login = out["demo_login"]
    with open_store(sqlite_url(tmp_path / "demo" / "cn"), migrate=False) as store:
        session = Accounts(UserStore(store.engine)).login(
            login["user"], login["password"], "127.0.0.1"
        )
        assert session.principal.role.value == "arrival_officer"
        arrival = ArrivalQueries(store.engine)
        arrival.refresh()
        trains = arrival.trains(direction="in")
        assert trains and sum(t.records for t in trains) == flows[("KZ", "CN")]["stored_at_peer"]

"""``ctop-node demo --once --json``: two real processes exchange sample trains over mTLS, an
arrival officer at CN records a control result with a discrepancy, and it travels back to KZ.
Then, as issue 10's "done when" says: an arrival officer created with ``ctop-node user add``
logs in at the demo's CN node (restarted from the home the demo leaves) and sees the announced
containers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path
from typing import Any

import httpx

from ctop_node.access.sessions import Accounts
from ctop_node.config import NodeConfig, sqlite_url
from ctop_node.localnet import LocalNode
from ctop_node.sample import generate
from ctop_node.store import open_store
from ctop_node.store.arrival import ArrivalQueries
from ctop_node.store.control import ControlStore
from ctop_node.store.users import UserStore
from tests._users import add_user as add_user_at
from tests.e2e.conftest import READY_S

PASSWORD = "officer-after-the-demo-1"
WAIT_S = 60.0  # one request on a loaded 2-core machine


def run_demo(home: Path) -> dict[str, Any]:
    """The demo as ``make demo`` runs it (without the lock part), its JSON report."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctop_node",
            "demo",
            "--once",
            "--json",
            "--home",
            str(home),
            "--trains",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "CTOP_LANG": "en"},
    )
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def test_demo_then_an_officer_added_at_cn(tmp_path: Path) -> None:
    """One demo (it is the expensive part), then what it must leave behind."""
    home = tmp_path / "demo"
    out = run_demo(home)
    check_the_exchange(home, out)
    check_the_discrepancy_and_the_control_result(home, out)
    node = _node(home / "cn")
    try:
        node.start()
        node.wait_ready(READY_S)
        check_an_officer_added_after_the_demo(node, out)
    finally:
        node.stop()


def check_the_exchange(home: Path, out: dict[str, Any]) -> None:
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
    with open_store(sqlite_url(home / "cn"), migrate=False) as store:
        session = Accounts(UserStore(store.engine)).login(
            login["user"], login["password"], "127.0.0.1"
        )
        assert session.principal.role.value == "arrival_officer"
        arrival = ArrivalQueries(store.engine)
        arrival.refresh()
        trains = arrival.trains(direction="in")
        assert trains and sum(t.records for t in trains) == flows[("KZ", "CN")]["stored_at_peer"]


def check_the_discrepancy_and_the_control_result(home: Path, out: dict[str, Any]) -> None:
    control = out["control"]
    rid = control["record_id"]
    assert {"seal.differs", "mass.beyond_tolerance"} <= set(control["discrepancies"])
    assert (control["decision"], control["state_at_cn"], control["at_kz"]) == (
        "held",
        "delivered",
        True,
    )
    cn_ui, kz_ui = out["urls"]["CN"]["ui"], out["urls"]["KZ"]["ui"]
    assert control["urls"]["cn_container"].startswith(cn_ui + "containers/")
    assert control["urls"]["cn_record"] == f"{cn_ui}records/KZ/{rid}"
    assert control["urls"]["kz_record"] == f"{kz_ui}records/KZ/{rid}"
    # From the homes the demo leaves: recorded at CN by the demo officer, sent, and stored
    # at KZ as received from CN about KZ's own record.
    with open_store(sqlite_url(home / "cn"), migrate=False) as cn:
        (sent,) = ControlStore(cn.engine).for_record("KZ", rid)
    assert (sent.direction, sent.state, sent.decision) == ("out", "delivered", "held")
    assert sent.recorded_by == out["demo_login"]["user"]
    with open_store(sqlite_url(home / "kz"), migrate=False) as kz:
        (back,) = ControlStore(kz.engine).for_record("KZ", rid)
        assert kz.get_record(rid, origin_party="KZ") is not None
    assert (back.direction, back.peer_party, back.decision) == ("in", "CN", "held")
    assert back.result == sent.result


def _node(home: Path) -> LocalNode:
    config = json.loads((home / "node.json").read_text("utf-8"))
    return LocalNode(
        config["party"],
        home,
        NodeConfig.load(home).db_url,
        int(config["peer_port"]),
        int(config["api_port"]),
    )


def _links(html: str, prefix: str) -> list[str]:
    return [unescape(h) for h in re.findall(rf'href="({re.escape(prefix)}[^"]*)"', html)]


def check_an_officer_added_after_the_demo(cn_again: LocalNode, out: dict[str, Any]) -> None:
    """CN started again from the home the demo left (``ctop-node serve --home``): an arrival
    officer added there with ``ctop-node user add`` logs in over HTTP and sees every
    container KZ announced."""
    add_user_at(cn_again.home, "aigerim", "arrival_officer", PASSWORD)
    # What KZ announced: the demo's KZ sample, as far as CN stored it.
    with open_store(cn_again.db_url, migrate=False) as store:
        announced = {
            str(c["number"])
            for r in generate(1, 2021, party="KZ")
            if store.get_record(r["record_id"], origin_party="KZ") is not None
            for c in r.get("containers") or ()
        }
    assert len(announced) > 10
    with httpx.Client(base_url=cn_again.api_url, timeout=WAIT_S) as browser:
        form = browser.get("/login")
        assert form.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        logged = browser.post(
            "/login",
            data={"csrf": csrf.group(1), "username": "aigerim", "password": PASSWORD},
        )
        assert logged.status_code == 303 and logged.headers["location"] == "/ui/"
        page = browser.get("/ui/?lang=en")
        assert page.status_code == 200 and "Arriving trains" in page.text
        trains = _links(page.text, "/ui/trains/")
        assert trains
        seen: set[str] = set()
        for link in trains:
            train = browser.get(link)
            assert train.status_code == 200
            seen.update(
                unescape(n) for n in re.findall(r"Container ([A-Z]{4}[0-9]{7})</a>", train.text)
            )
        assert announced <= seen, sorted(announced - seen)
        # The demo's discrepancy and control result are there too, for this officer.
        control = out["control"]
        box = browser.get(f"/ui/containers/{control['container']}?lang=en")
        assert 'data-code="seal.differs"' in box.text
        assert 'data-code="mass.beyond_tolerance"' in box.text
        rec = browser.get(f"/ui/records/KZ/{control['record_id']}?lang=en")
        assert rec.status_code == 200 and '<td class="decision">held</td>' in rec.text
        assert 'data-code="seal.differs"' in rec.text

"""The conformance kit and the partner simulator against real processes over real mutual TLS.

- the kit home is made with ``conformance prepare``; a real CN node imports its trust bundle
  and trusts its carrier CA / ``conformance run`` passes every scenario, lock one included;
- a CN peer that skips signature checks / the kit fails, naming tampered_payload,
  tampered_header and forged_signature and what came back;
- a CN peer that acknowledges a cancellation and forgets it / the kit fails, naming
  amendment_after_cancellation;
- ``conformance serve`` in front of CN / told through its control port (and ``conformance
  send``) it plays scenarios toward CN; CN's own sender delivers to it and it answers as
  the spec says.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ctop_node.conformance import records, scenarios
from ctop_node.conformance.kit import KitHome
from ctop_node.crypto.trust import export_trust, import_trust
from ctop_node.localnet import LocalNode, create_nodes, free_port, stop_all
from ctop_node.lock.carriers import trust_carrier
from ctop_node.online.peers import add_peer
from tests.e2e.conftest import READY_S, wait_until

RUN_TIMEOUT_S = 600.0  # the whole kit on a busy 2-core machine
SIGNATURE_SCENARIOS = {"tampered_payload", "tampered_header", "forged_signature"}


@dataclass
class Setup:
    base: Path
    cn: LocalNode
    kit: KitHome

    def lock_reader(self) -> str:
        return f"{sys.executable} -m ctop_node lock read --home {self.cn.home} {{image}}"


def ctop(*args: str | Path, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctop_node", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_kit(setup: Setup, url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    done = ctop("conformance", "run", "--against", url, "--home", setup.kit.home, "--json", *extra)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def failed(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in report["scenarios"] if s["status"] == "failed"}


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A CN node home and a KZ kit home that trust each other; CN not started."""
    nodes = create_nodes(tmp_path, ("CN",))
    cn = nodes["CN"]
    export_trust(cn.home, tmp_path / "cn-trust.json")
    kit_home = tmp_path / "kit"
    done = ctop(
        "conformance", "prepare", "--home", kit_home, "--party", "KZ",
        "--peer-trust", tmp_path / "cn-trust.json",
        "--peer-port", str(free_port()), "--control-port", str(free_port()),
        timeout=READY_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    kit = KitHome(kit_home)
    import_trust(cn.home, kit.trust_file, own_party="CN")
    trust_carrier(cn.home, kit.carrier_dir / "carrier-ca.pem")
    try:
        yield Setup(tmp_path, cn, kit)
    finally:
        stop_all(nodes)
        cn.kill()


@pytest.fixture
def broken(setup: Setup, request: pytest.FixtureRequest) -> Iterator[str]:
    """A broken CN peer (fault = the test's param) on its own port; yields its URL."""
    port = free_port()
    log = (setup.base / "broken.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e._broken_peer", "--home", str(setup.cn.home),
         "--port", str(port), "--fault", request.param],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until("the broken peer listens", lambda: _listening(port), READY_S)
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(30)
        log.close()


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def test_kit_passes_against_a_ctop_node_peer(setup: Setup) -> None:
    setup.cn.start()
    setup.cn.wait_ready(READY_S)
    code, report = run_kit(setup, setup.cn.peer_url, "--lock-reader", setup.lock_reader())
    assert failed(report) == {}, json.dumps(failed(report), indent=1)
    assert code == 0
    assert report["passed"] == len(scenarios.ALL) >= 25 and report["skipped"] == 0


@pytest.mark.parametrize("broken", ["skip-signature"], indirect=True)
def test_kit_fails_against_a_peer_that_skips_signature_checks(setup: Setup, broken: str) -> None:
    code, report = run_kit(setup, broken, *_only("consignment", *sorted(SIGNATURE_SCENARIOS)))
    assert code == 1
    failures = failed(report)
    assert set(failures) == SIGNATURE_SCENARIOS, failures
    forged = failures["forged_signature"]["failure"]
    assert forged["expected"] == "refused crypto.bad_signature"
    assert forged["got"].startswith("HTTP 200: receipt"), forged


@pytest.mark.parametrize("broken", ["revive-cancelled"], indirect=True)
def test_kit_fails_against_a_peer_that_revives_a_cancelled_record(
    setup: Setup, broken: str
) -> None:
    code, report = run_kit(
        setup, broken, *_only("cancellation", "amendment_after_cancellation", "amendment")
    )
    assert code == 1
    failures = failed(report)
    assert set(failures) == {"amendment_after_cancellation"}, failures
    failure = failures["amendment_after_cancellation"]["failure"]
    assert failure["step"] == 3
    assert failure["expected"] == "REJECTION exchange.cancelled at header.version"
    assert failure["got"].startswith("HTTP 200: receipt"), failure


def _only(*names: str) -> list[str]:
    return [arg for name in names for arg in ("--only", name)]


def test_simulator_plays_scenarios_toward_a_node_and_answers_it(setup: Setup) -> None:
    kit_config = setup.kit.config
    sim_peer_url = f"https://127.0.0.1:{kit_config.peer_port}"
    control = f"http://127.0.0.1:{kit_config.api_port}"
    add_peer(setup.cn.home, "KZ", sim_peer_url)
    setup.cn.start()
    setup.cn.wait_ready(READY_S)
    log = (setup.base / "simulator.log").open("wb")
    sim = subprocess.Popen(
        [sys.executable, "-m", "ctop_node", "conformance", "serve", "--home",
         str(setup.kit.home), "--against", setup.cn.peer_url],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until("the simulator's control port", lambda: _listening(kit_config.api_port), READY_S)
        listed = httpx.get(f"{control}/conformance/v1/scenarios", timeout=10).json()
        assert [s["number"] for s in listed] == [s.number for s in scenarios.ALL]

        # Told over HTTP: one scenario toward CN, judged like `conformance run`.
        r = httpx.post(f"{control}/conformance/v1/scenarios/forged_signature/run", timeout=120)
        assert r.status_code == 200 and r.json()["passed"] == 1, r.text
        # Told from the command line: several.
        done = ctop("conformance", "send", "1", "out_of_order", "--control", control, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["passed"] == 2
        r = httpx.post(f"{control}/conformance/v1/scenarios/999/run", timeout=10)
        assert r.status_code == 404 and r.json()["code"] == "conformance.unknown_scenario"

        # CN's own sender delivers a record to the simulator, which stores and answers it.
        record = records.record("CN-CONF-SIM-0001", "CN", "KZ")
        ingest = httpx.post(
            f"{setup.cn.api_url}/api/v1/records",
            content=orjson.dumps(record) + b"\n",
            headers={
                "Authorization": f"Bearer {setup.cn.token}",
                "Content-Type": "application/x-ndjson",
            },
            timeout=60,
        )
        assert ingest.status_code == 200 and ingest.json()["to_send"] == 1, ingest.text

        def received() -> list[Any]:
            rows = httpx.get(f"{control}/conformance/v1/received", timeout=10).json()
            return [r for r in rows if r["record_id"] == "CN-CONF-SIM-0001"]

        wait_until("the simulator received CN's record", lambda: bool(received()), 120)
        assert received()[0]["state"] == "applied" and received()[0]["sender_party"] == "CN"
    finally:
        sim.terminate()
        try:
            sim.wait(30)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait(30)
        log.close()

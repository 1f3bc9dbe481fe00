"""``serve``'s logs and its operator errors, on real processes: ``--log-format json`` writes one
JSON object per line with the fixed keys and no record content; a port already taken or a bad
option is a one-line error with its code, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    DRAIN_S,
    RECORD_VALUES,
    Pair,
    changed,
    log_leaks,
    records_for,
    start,
)

SERVE_JSON = ("ctop_node", "serve", "--log-format", "json", "--log-level", "info")
KEYS = {"time", "level", "logger", "event", "code", "peer", "message_id"}


def _serve(home: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctop_node", "serve", "--home", home, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_logs_are_one_object_per_line_without_content(
    nodes: Pair, record_dict: dict[str, Any]
) -> None:
    start(nodes.cn, nodes.kz, module=SERVE_JSON)
    nodes.ingest(nodes.kz, records_for(record_dict, 3, prefix="LOG"))
    nodes.wait_drained(DRAIN_S)
    nodes.post_raw(b"\x00not a message")  # a refusal CN logs
    nodes.close()
    for node in (nodes.kz, nodes.cn):
        assert node.stop() == 0
        text = (node.home / "serve.log").read_text("utf-8")
        lines = [json.loads(line) for line in text.splitlines()]  # each line is one object
        assert lines, f"{node.party} logged nothing"
        for line in lines:
            assert set(line) >= KEYS and line["level"] in {"debug", "info", "warning", "error"}
        events = " ".join(line["event"] for line in lines)
        assert f"node {node.party}" in events  # the start line
        peer = "CN" if node.party == "KZ" else "KZ"
        assert any(line["peer"] == peer for line in lines), "no line names the peer"
        # record content never reaches the log (names, goods, wagon and seal numbers)
        for secret in (
            "Kazakh Grain",
            "Wheat",
            "KTZ Express",
            record_dict["goods"][0]["container_number"],
        ):
            assert secret not in text


@pytest.mark.parametrize("which", ["api_port", "peer_port"])
def test_a_taken_port_is_a_one_line_error(nodes: Pair, which: str) -> None:
    port = getattr(nodes.kz, which)
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = _serve(str(nodes.kz.home), "--log-format", "json")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "config.port_in_use" in done.stderr and f"127.0.0.1:{port}" in done.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--log-level", "verbose"), "verbose"),
        (("--log-format", "xml"), "xml"),
        (("--no-such-option",), "--no-such-option"),
    ],
)
def test_a_bad_option_is_a_usage_error(nodes: Pair, args: tuple[str, ...], named: str) -> None:
    done = _serve(str(nodes.kz.home), *args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and named in done.stderr


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_debug_logs_of_an_exchange_hold_no_record_content(
    nodes: Pair, record_dict: dict[str, Any], fmt: str, forbidden_in_logs: list[str]
) -> None:
    """The most verbose logs of both nodes over an exchange with amendments, a refused
    message and a cancellation hold none of the records' values (the autouse check of
    tests/e2e/conftest.py runs again after the test, over every log of its tmp dir)."""
    start(
        nodes.cn,
        nodes.kz,
        module=("ctop_node", "serve", "--log-format", fmt, "--log-level", "debug"),
    )
    recs = records_for(record_dict, 3, prefix="DBG")
    amended = [changed(r, 7_000_001 + i) for i, r in enumerate(recs)]
    forbidden_in_logs.extend(r["transport_document"]["number"] for r in amended)
    nodes.ingest(nodes.kz, recs)
    nodes.wait_drained(DRAIN_S)
    nodes.ingest(nodes.kz, amended)
    nodes.wait_drained(DRAIN_S)
    nodes.post_raw(b"\x00not a message")  # a refusal CN logs
    r = httpx.post(
        f"{nodes.kz.api_url}/api/v1/records/{recs[0]['record_id']}/cancel",
        json={"reason": "annulled"},
        headers={"Authorization": f"Bearer {nodes.kz.token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    nodes.wait_drained(DRAIN_S)
    nodes.close()
    for node in (nodes.kz, nodes.cn):
        assert node.stop() == 0
    logs = [n.home / "serve.log" for n in (nodes.kz, nodes.cn)]
    assert all(p.stat().st_size > 0 for p in logs)
    assert log_leaks(nodes.base, [*RECORD_VALUES, *forbidden_in_logs]) == []

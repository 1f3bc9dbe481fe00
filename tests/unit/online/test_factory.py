"""The node's sender is built from node.json: outage detection is the operator's to tune."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ctop_node.config import sqlite_url, write_node_config
from ctop_node.localnet import create_nodes
from ctop_node.online.factory import DEFAULT_HTTP_TIMEOUT_S, sender_from_home
from ctop_node.store import open_store


def test_sender_settings_come_from_node_json(tmp_path: Path) -> None:
    nodes = create_nodes(tmp_path)
    kz = nodes["KZ"]
    with open_store(sqlite_url(kz.home)) as store:
        default = sender_from_home(kz.config, store)
        assert default.circuit.open_for == timedelta(seconds=10)
        assert default.transport._timeout.read == DEFAULT_HTTP_TIMEOUT_S  # type: ignore[attr-defined]
        default.transport.close()
        settings = {
            **kz.config.settings,
            "circuit_open_s": 2.5,
            "circuit_failures": 5,
            "http_timeout_s": 4,
        }
        tuned = sender_from_home(write_node_config(kz.home, settings), store)
        assert tuned.circuit.open_for == timedelta(seconds=2.5)
        assert tuned.circuit.failures_to_open == 5
        assert tuned.transport._timeout.read == 4  # type: ignore[attr-defined]
        tuned.transport.close()

"""node.json sets the clock skew the receiver accepts and when the sender re-seals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ctop_node.config import sqlite_url, write_node_config
from ctop_node.errors import ConfigError
from ctop_node.localnet import create_nodes
from ctop_node.online.factory import sender_from_home
from ctop_node.online.server import build_receiver, clock_skew
from ctop_node.store import open_store


def test_skew_and_reseal_come_from_node_json(tmp_path: Path) -> None:
    kz = create_nodes(tmp_path)["KZ"]
    with open_store(sqlite_url(kz.home)) as store:
        receiver = build_receiver(kz.home, "KZ", store, settings=kz.config.settings)
        assert receiver.max_skew == timedelta(minutes=10)
        sender = sender_from_home(kz.config, store)
        assert sender.reseal_after == timedelta(minutes=5)
        sender.transport.close()
        tuned = write_node_config(
            kz.home, {**kz.config.settings, "clock_skew_s": 120, "reseal_after_s": 30}
        )
        receiver = build_receiver(kz.home, "KZ", store, settings=tuned.settings)
        assert receiver.max_skew == timedelta(seconds=120)
        sender = sender_from_home(tuned, store)
        assert sender.reseal_after == timedelta(seconds=30)
        sender.transport.close()


@pytest.mark.parametrize("bad", [0, -5, "600", True, 10**9, None])
def test_a_bad_skew_setting_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError) as exc:
        clock_skew({"clock_skew_s": bad})
    assert exc.value.code == "config.clock_skew" and "clock_skew_s" in exc.value.message

"""A node restored from its online backup into a new home takes over and keeps exchanging
with its peer: what was queued at backup time is delivered (the peer, which had already
stored some of it from the lost node, stores nothing twice), new records flow, nothing is
lost or duplicated."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from sqlalchemy import func, select

from ctop_node.config import NodeConfig
from ctop_node.localnet import LocalNode
from ctop_node.store.schema import inbox, outbox, records
from tests.e2e.conftest import DRAIN_S, READY_S, Pair, records_for, start, wait_until

PASS = "backup passphrase for the e2e test"


def _ctop(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ctop_node", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CTOP_BACKUP_PASSPHRASE": PASS},
    )
    assert done.returncode == 0, done.stderr


def _sealed(pair: Pair) -> int:
    with pair.engine(pair.kz).connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.message_id.is_not(None))
        return int(conn.execute(query).scalar_one())


def test_restored_node_keeps_exchanging(pair: Pair, record_dict: dict[str, Any]) -> None:
    first = records_for(record_dict, 4, prefix="BK1")
    pair.ingest(pair.kz, first)
    pair.wait_drained(DRAIN_S)
    # CN goes away: the next records are sealed, tried, and wait in KZ's outbox
    pair.cn.stop()
    queued = records_for(record_dict, 3, prefix="BK2")
    pair.ingest(pair.kz, queued)
    wait_until("KZ sealed the queued records", lambda: _sealed(pair) == 7, DRAIN_S)
    backup = pair.base / "kz.ctopbak"
    _ctop("backup", "--home", str(pair.kz.home), "--out", str(backup))  # online: KZ runs
    # CN comes back and the old KZ still delivers the queued records, then KZ is lost
    start(pair.cn)
    pair.wait_drained(DRAIN_S)
    pair.close()
    pair.kz.kill()

    home = pair.base / "kz-restored"
    _ctop("restore", str(backup), "--home", str(home))
    config = NodeConfig.load(home)
    kz2 = LocalNode("KZ", home, config.db_url, config.peer_port, config.api_port)
    restored = Pair(kz2, pair.cn, pair.base)
    try:
        kz2.start()
        kz2.wait_ready(READY_S)
        # the backup still had them pending: they go again with their message ids
        restored.wait_drained(DRAIN_S)
        later = records_for(record_dict, 2, prefix="BK3")
        restored.ingest(kz2, later)
        wait_until(
            "the restored KZ delivered everything",
            lambda: restored.outbox_states() == {"delivered": 9},
            DRAIN_S,
        )
        with restored.engine(pair.cn).connect() as conn:
            got = conn.execute(
                select(records.c.record_id, records.c.version).where(
                    records.c.direction == "in", records.c.origin_party == "KZ"
                )
            ).all()
            messages = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
        expected = {r["record_id"] for r in first + queued + later}
        assert sorted(r.record_id for r in got) == sorted(expected)  # each once, none missing
        assert {r.version for r in got} == {1}
        assert messages == 9  # the resent messages were answered, not stored again
        assert kz2.stop() == 0
    finally:
        restored.close()
        kz2.kill()

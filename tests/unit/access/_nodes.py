"""Two real nodes that exchanged records: KZ sent them (outbox, with CN's signed receipts),
CN received them (inbox, records of direction "in"). Each home has its node.json, keys, the
other's trust bundle and one user per role (``tests/_users.py``); CN's database is the test's
``db_url`` (both databases)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from typer.testing import CliRunner, Result

from ctop_node.cli import app
from ctop_node.config import sqlite_url, write_node_config
from ctop_node.exchange.receive import Receiver
from ctop_node.store import open_store
from ctop_node.store.inbox import Inbox
from ctop_node.store.outbox import Outbox
from tests._homes import Home
from tests._users import add_role_users
from tests.unit.online._peers import new_id, record_message
from tests.unit.store._entries import entry


@dataclass
class Nodes:
    kz: Home
    cn: Home
    kz_db: str
    cn_db: str
    record_ids: list[str]


def with_id(data: dict[str, Any], rid: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["record_id"] = rid
    return out


def exchange(
    homes: tuple[Home, Home],
    cn_db: str,
    record: dict[str, Any],
    n: int = 2,
    *,
    kz_db: str | None = None,
) -> Nodes:
    """``kz_db``: KZ's database (default: SQLite in its home)."""
    kz, cn = homes
    kz_db = kz_db or sqlite_url(kz.home)
    write_node_config(kz.home, {"party": "KZ", "db_url": kz_db})
    write_node_config(cn.home, {"party": "CN", "db_url": cn_db})
    ids = [f"KZ-EV-{i}" for i in range(1, n + 1)]
    with open_store(kz_db) as kz_store, open_store(cn_db) as cn_store:
        kz_store.write_batch([entry(with_id(record, rid)) for rid in ids], origin_party="KZ")
        outbox = Outbox(kz_store.engine)
        receiver = Receiver("CN", Inbox(cn_store.engine), cn.signer, cn.decryptor, cn.trust())
        now = datetime.now(UTC)
        for item in outbox.due("CN", 100, now):
            mid, raw = outbox.attach_message(
                item.id, new_id(), record_message(kz, with_id(record, item.record_id))
            )
            result = receiver.handle(raw)
            assert result.status == "receipt" and result.answer is not None, result
            outbox.mark_delivered(item.id, result.answer, now)
    for db in (kz_db, cn_db):
        add_role_users(db)
    return Nodes(kz, cn, kz_db, cn_db, ids)


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)

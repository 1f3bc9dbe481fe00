"""Encryption at rest from a node's first message (Art.6): ``ctop-node init`` makes the key
(HOME/keys/at-rest.json, 0600, outside the database) and the node's database is sealed with
it without any setting. After a real exchange (KZ seals and signs, CN opens, checks and
stores) neither database holds the record's content in clear: the SQLite file's bytes and the
PostgreSQL rows are searched for it. Only the search index keeps the keys officers search by
(container, seal, declaration number, consignee ...), as docs/security.md says; the rest of
the record (goods, exporter, carrier, transport document ...) is nowhere in clear.
``at-rest rotate`` re-seals everything under a new key with nothing else to set."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ctop_node.cli import app
from ctop_node.config import NodeConfig
from ctop_node.crypto.pki import PartyCA
from ctop_node.store import open_store
from ctop_node.store.arrival import ArrivalQueries
from ctop_node.store.at_rest import MAGIC, seal_counts
from ctop_node.store.backup import sqlite_files
from tests._homes import Home, exchange_trust
from tests.unit.access._nodes import Nodes, exchange

SEALED_TABLES = ("records", "inbox", "lock_reads")


def init(root: Path, party: str, db: str) -> Home:
    home = root / party.lower()
    done = CliRunner().invoke(app, ["init", "--party", party, "--home", str(home), "--db", db])
    assert done.exit_code == 0, done.output
    return Home(party, home, PartyCA.load(home / "ca"))


def never_in_clear(record: dict[str, Any]) -> set[str]:
    """Values of the record that no index needs: sealed wherever they are stored."""
    return {
        record["goods"][0]["description"],
        record["exporter"]["name"],
        record["exporter"]["national_id"],
        record["carrier"]["name"],
        record["transport_document"]["number"],
        record["train"]["departure_station"]["name"],
    }


def searchable(record: dict[str, Any]) -> set[str]:
    c = record["containers"][0]
    return {
        c["number"],
        c["seals"][0],
        record["consignee"]["name"],
        record["declaration"]["number"],
    }


@pytest.fixture
def nodes(tmp_path: Path, db_url: str, record_dict: dict[str, Any]) -> Nodes:
    kz_db = f"sqlite:///{tmp_path / 'kz' / 'node.db'}"
    kz, cn = init(tmp_path, "KZ", kz_db), init(tmp_path, "CN", db_url)
    exchange_trust(kz, cn, tmp_path)
    return exchange((kz, cn), db_url, record_dict, n=2)


def test_init_makes_the_key_outside_the_database(nodes: Nodes) -> None:
    for home in (nodes.kz.home, nodes.cn.home):
        key = home / "keys" / "at-rest.json"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert set(json.loads(key.read_text())) == {"current", "keys"}
    cfg = NodeConfig.load(nodes.cn.home)
    with open_store(cfg.db_url) as store:
        counts = seal_counts(store.engine).by_column
        assert "plain" not in counts["records.body"] and counts["records.body"]
        assert "plain" not in counts["inbox.payload"] and "plain" not in counts["inbox.message"]
        # The node reads what it sealed: the body opens with the key from the home.
        row = store.get_record(nodes.record_ids[0], origin_party="KZ")
        assert row is not None and row.body["exporter"]["name"] == "TOO Kazakh Grain Export"


def test_no_record_content_in_clear_after_a_real_exchange(
    nodes: Nodes, record_dict: dict[str, Any]
) -> None:
    secret = never_in_clear(record_dict)
    both = secret | searchable(record_dict)
    with open_store(nodes.cn_db) as store:
        ArrivalQueries(store.engine).refresh()  # the search index as the officers' UI has it
    for url in (nodes.kz_db, nodes.cn_db):
        with open_store(url) as store, store.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                for table in [r[0] for r in conn.execute(text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                ))]:  # fmt: skip
                    rows = "\n".join(
                        r[0] for r in conn.execute(text(f'SELECT t::text FROM "{table}" t'))
                    )
                    found = {v for v in (both if table in SEALED_TABLES else secret) if v in rows}
                    assert found == set(), (url, table, found)
                raw = conn.execute(text("SELECT body FROM records")).scalars().all()
            else:
                raw = [
                    bytes(r[0])
                    for r in conn.execute(text("SELECT CAST(body AS BLOB) FROM records"))
                ]
            assert raw and all(bytes(b).startswith(MAGIC) for b in raw), url
    # The SQLite files themselves (database, WAL), byte for byte.
    urls = [u for u in (nodes.kz_db, nodes.cn_db) if u.startswith("sqlite")]
    for url in urls:
        data = b"".join(p.read_bytes() for p in sqlite_files(url) if p.exists())
        assert nodes.record_ids[0].encode() in data  # the search does see what is stored
        found = {v for v in secret if v.encode() in data}
        assert found == set(), (url, found)


def test_rotate_reseals_with_the_key_init_made(nodes: Nodes) -> None:
    home = str(nodes.cn.home)
    before = json.loads((nodes.cn.home / "keys" / "at-rest.json").read_text())["current"]
    done = CliRunner().invoke(app, ["at-rest", "rotate", "--home", home, "--json"])
    assert done.exit_code == 0, (done.output, done.exception)
    after = json.loads(done.stdout)["kid"]
    assert after != before
    with open_store(NodeConfig.load(nodes.cn.home).db_url) as store:
        counts = seal_counts(store.engine).by_column
        assert set(counts["records.body"]) == {after}
        row = store.get_record(nodes.record_ids[0], origin_party="KZ")
        assert row is not None and row.body["carrier"]["name"] == "KTZ Express JSC"

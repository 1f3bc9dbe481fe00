"""SqlStore on SQLite and PostgreSQL: versions, the ingest log, the outbox, atomic batches."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from ctop_node.errors import StorageError
from ctop_node.rules.outcome import OutcomeKind
from ctop_node.store import SqlStore, open_store
from ctop_node.store.interfaces import RecordStore, StoredResult
from ctop_node.store.schema import ingest_log, outbox, record_heads, records
from tests.unit.store._entries import accepted, changed, entry, rejected, with_id


def count(store: SqlStore, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_sql_store_fits_the_record_store_contract(store: SqlStore) -> None:
    contract: RecordStore = store
    assert contract.url == store.url


def test_new_record_is_version_1_with_one_outbox_entry_per_peer(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    e = entry(record_dict, peers=("CN", "RU"))
    [result] = store.write_batch([e], origin_party="KZ")

    assert result == StoredResult(record_dict["record_id"], 1, False)
    row = store.get_record(record_dict["record_id"])
    assert row is not None
    summary = (row.version, row.origin_party, row.direction, row.outcome)
    assert summary == (1, "KZ", "out", "to_send")
    assert e.accepted is not None
    assert row.digest == e.accepted.digest
    assert row.body == orjson.loads(e.accepted.body)
    assert row.created_at.tzinfo is not None
    assert row.created_at.utcoffset() == UTC.utcoffset(None)
    box = store.outbox()
    assert sorted(b.peer_party for b in box) == ["CN", "RU"]
    assert {(b.record_id, b.version, b.state, b.attempts) for b in box} == {
        (record_dict["record_id"], 1, "pending", 0)
    }


def test_stored_body_is_the_exact_canonical_bytes(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    e = entry(record_dict)
    store.write_batch([e], origin_party="KZ")
    with store.engine.connect() as conn:
        body = conn.execute(select(records.c.body)).scalar_one()
    assert e.accepted is not None
    assert bytes(body) == e.accepted.body


def test_identical_reingest_is_unchanged_and_writes_no_version_nor_outbox(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    store.write_batch([entry(record_dict)], origin_party="KZ")
    [again] = store.write_batch([entry(record_dict, position="line 7")], origin_party="KZ")

    assert again == StoredResult(record_dict["record_id"], 1, True)
    assert count(store, records) == 1
    assert len(store.outbox()) == 1
    log = store.ingest_log()
    assert [(r["position"], r["version"], r["unchanged"]) for r in log] == [
        ("line 1", 1, False),
        ("line 7", 1, True),
    ]


def test_changed_record_becomes_version_2_and_is_queued_again(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    store.write_batch([entry(record_dict)], origin_party="KZ")
    v2 = changed(record_dict, "amended")
    [result] = store.write_batch([entry(v2)], origin_party="KZ")

    assert result == StoredResult(record_dict["record_id"], 2, False)
    latest = store.get_record(record_dict["record_id"])
    first = store.get_record(record_dict["record_id"], version=1)
    assert latest is not None and first is not None
    assert latest.version == 2
    assert latest.body["goods"][0]["description"].endswith("(amended)")
    assert first.body["goods"][0]["description"] == record_dict["goods"][0]["description"]
    assert [r.version for r in store.versions(record_dict["record_id"])] == [1, 2]
    assert [(b.version, b.peer_party) for b in store.outbox()] == [(1, "CN"), (2, "CN")]
    assert store.outcome_counts() == {"to_send": 1}


def test_same_record_several_times_in_one_batch(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    v2 = changed(record_dict, "b")
    results = store.write_batch(
        [entry(record_dict), entry(record_dict), entry(v2), entry(v2)], origin_party="KZ"
    )
    rid = record_dict["record_id"]
    assert results == [
        StoredResult(rid, 1, False),
        StoredResult(rid, 1, True),
        StoredResult(rid, 2, False),
        StoredResult(rid, 2, True),
    ]
    # Now the head exists in the database: the update path of the same logic.
    v3 = changed(record_dict, "c")
    results = store.write_batch([entry(v2), entry(v3), entry(v3)], origin_party="KZ")
    assert results == [
        StoredResult(rid, 2, True),
        StoredResult(rid, 3, False),
        StoredResult(rid, 3, True),
    ]
    assert [r.version for r in store.versions(rid)] == [1, 2, 3]
    assert count(store, record_heads) == 1
    with store.engine.connect() as conn:
        head = conn.execute(select(record_heads)).one()
    assert (head.latest_version, head.latest_digest) == (3, accepted(v3).digest)
    assert len(store.outbox()) == 3


def test_rejected_entry_is_logged_with_its_errors_and_stores_no_record(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    bad = rejected("KZ-BAD-1")
    results = store.write_batch([bad, entry(record_dict, position="line 10")], origin_party="KZ")

    assert results[0] == StoredResult("KZ-BAD-1", None, False)
    assert results[1].version == 1
    assert store.get_record("KZ-BAD-1") is None
    [line] = [r for r in store.ingest_log() if r["outcome"] == "rejected"]
    assert line["errors"] == [err.as_dict() for err in bad.errors]
    assert (line["record_id"], line["reason"], line["version"]) == ("KZ-BAD-1", "tc.invalid", None)
    assert store.ingest_counts() == {"rejected": 1, "to_send": 1}
    assert store.outcome_counts() == {"to_send": 1}


def test_refused_entry_never_stores_a_body_even_if_one_is_passed(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    refused = dataclasses.replace(
        entry(record_dict), outcome=OutcomeKind.REFUSED, reason="art6.state_secret"
    )
    [result] = store.write_batch([refused], origin_party="KZ")

    assert result == StoredResult(record_dict["record_id"], None, False)
    assert count(store, records) == 0
    assert count(store, outbox) == 0
    assert store.get_record(record_dict["record_id"]) is None
    assert [r["outcome"] for r in store.ingest_log()] == ["refused"]


def test_not_applicable_record_is_kept_but_not_queued(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    [result] = store.write_batch(
        [entry(record_dict, outcome=OutcomeKind.NOT_APPLICABLE)], origin_party="KZ"
    )
    assert result.version == 1
    assert store.outbox() == []
    assert store.outcome_counts() == {"not_applicable": 1}


def test_outcome_counts_follow_the_latest_version(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    store.write_batch([entry(record_dict)], origin_party="KZ")
    store.write_batch(
        [entry(with_id(record_dict, "KZ-OTHER-1"), outcome=OutcomeKind.EXCLUDED)],
        origin_party="KZ",
    )
    v2 = changed(record_dict, "now not applicable")
    store.write_batch([entry(v2, outcome=OutcomeKind.NOT_APPLICABLE)], origin_party="KZ")
    assert store.outcome_counts() == {"not_applicable": 1, "excluded": 1}


def test_list_records_newest_first_filtered_and_paged(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    ids = [f"KZ-LIST-{i}" for i in range(5)]
    store.write_batch([entry(with_id(record_dict, rid)) for rid in ids[:3]], origin_party="KZ")
    store.write_batch(
        [entry(with_id(record_dict, rid), outcome=OutcomeKind.EXCLUDED) for rid in ids[3:]],
        origin_party="KZ",
    )
    # A new version moves a record to the top.
    store.write_batch([entry(changed(with_id(record_dict, ids[0]), "v2"))], origin_party="KZ")

    listed = store.list_records()
    assert [r.record_id for r in listed] == [ids[0], ids[4], ids[3], ids[2], ids[1]]
    assert listed[0].version == 2
    assert all(r.body == {} for r in listed)
    assert [r.record_id for r in store.list_records(outcome="excluded")] == [ids[4], ids[3]]
    assert [r.record_id for r in store.list_records(limit=2, offset=1)] == [ids[4], ids[3]]


def test_a_failing_batch_leaves_nothing_and_keeps_earlier_data(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    store.write_batch([entry(record_dict)], origin_party="KZ")
    before = (count(store, records), count(store, ingest_log), count(store, outbox))

    batch = [
        entry(with_id(record_dict, "KZ-NEW-1")),
        entry(changed(record_dict, "amended")),
        # The same peer twice breaks the outbox's unique key, after the rows above.
        entry(with_id(record_dict, "KZ-NEW-2"), peers=("CN", "CN")),
    ]
    with pytest.raises(StorageError) as info:
        store.write_batch(batch, origin_party="KZ")

    assert info.value.code == "store.integrity"
    assert (count(store, records), count(store, ingest_log), count(store, outbox)) == before
    assert store.get_record("KZ-NEW-1") is None
    latest = store.get_record(record_dict["record_id"])
    assert latest is not None and latest.version == 1
    # The store is still usable and the heads were not advanced by the failed batch.
    results = store.write_batch(batch[:2], origin_party="KZ")
    assert [r.version for r in results] == [1, 2]


def test_a_body_that_does_not_match_its_digest_refuses_the_batch(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    good = entry(with_id(record_dict, "KZ-OK-1"))
    bad = entry(record_dict)
    assert bad.accepted is not None
    forged = dataclasses.replace(bad.accepted, body=bad.accepted.body.replace(b"Wheat", b"Sugar"))
    with pytest.raises(StorageError) as info:
        store.write_batch([good, dataclasses.replace(bad, accepted=forged)], origin_party="KZ")
    assert info.value.code == "store.digest_mismatch"
    assert count(store, records) == 0
    assert count(store, ingest_log) == 0


def test_data_survives_reopening_the_store(db_url: str, record_dict: dict[str, Any]) -> None:
    with open_store(db_url) as first:
        first.write_batch([entry(record_dict)], origin_party="KZ")
    with open_store(db_url) as again:
        row = again.get_record(record_dict["record_id"])
        assert row is not None and row.version == 1
        assert len(again.outbox(state="pending")) == 1
        [unchanged] = again.write_batch([entry(record_dict)], origin_party="KZ")
        assert unchanged.unchanged


def test_records_of_two_parties_with_one_id_are_kept_apart(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    store.write_batch([entry(record_dict)], origin_party="KZ")
    [theirs] = store.write_batch(
        [entry(record_dict, outcome=OutcomeKind.NOT_APPLICABLE)],
        origin_party="CN",
        direction="in",
    )
    assert theirs.version == 1 and not theirs.unchanged
    with pytest.raises(StorageError) as info:
        store.get_record(record_dict["record_id"])
    assert info.value.code == "store.ambiguous_record"
    row = store.get_record(record_dict["record_id"], origin_party="CN")
    assert row is not None and row.direction == "in"


def test_two_writers_of_the_same_new_records_do_not_conflict(
    db_url: str, record_dict: dict[str, Any]
) -> None:
    batch = [entry(with_id(record_dict, f"KZ-RACE-{i}")) for i in range(50)]
    stores = [open_store(db_url), open_store(db_url)]
    start = threading.Barrier(2, timeout=30)
    outcomes: list[list[StoredResult] | BaseException] = []

    def write(s: SqlStore) -> None:
        start.wait()
        try:
            outcomes.append(s.write_batch(batch, origin_party="KZ"))
        except BaseException as exc:  # reported below
            outcomes.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    assert all(isinstance(o, list) for o in outcomes), outcomes
    results = [r for o in outcomes if isinstance(o, list) for r in o]
    assert sum(r.unchanged for r in results) == 50
    assert {r.version for r in results} == {1}


def test_sqlite_connections_are_tuned(sqlite_url: str) -> None:
    with open_store(sqlite_url) as s, s.engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 10_000,
    }


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "node.db"
    with open_store(f"sqlite:///{path}"):
        pass
    assert path.exists()


def test_missing_sqlite_file_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    with pytest.raises(StorageError) as info:
        open_store(f"sqlite:///{path}", create=False)
    assert info.value.code == "store.missing"
    assert not path.exists()


def test_unreachable_database_is_a_storage_error() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(StorageError) as info:
        open_store("postgresql+psycopg://root@127.0.0.1:1/test?connect_timeout=3")
    assert info.value.code == "store.unavailable"


def test_bad_url_is_a_storage_error() -> None:
    with pytest.raises(StorageError) as info:
        open_store("nosuchdb://x")
    assert info.value.code == "store.url"


def test_unknown_direction_is_refused(store: SqlStore, record_dict: dict[str, Any]) -> None:
    with pytest.raises(StorageError) as info:
        store.write_batch([entry(record_dict)], origin_party="KZ", direction="sideways")
    assert info.value.code == "store.direction"
    assert store.write_batch([], origin_party="KZ") == []

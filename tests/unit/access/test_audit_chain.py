"""The audit chain on both databases: the database refuses UPDATE and DELETE; whoever gets
around the triggers (drops them, as a DBA could) is caught by the standalone verifier, which
names the position: edit, delete, insert, reorder, truncate after a checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ctop_node.access.audit_chain import AuditChain, record
from ctop_node.access.audit_rule import GENESIS, chain_digest, detail_digest
from ctop_node.access.audit_verify import ChainReport, verify_chain
from ctop_node.crypto.pki import load_certificate
from ctop_node.errors import StorageError
from ctop_node.store import SqlStore
from ctop_node.store.audit import AuditLog
from tests._homes import Home, make_home

N = 12


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1, microseconds=123)
        return self.now


@pytest.fixture
def kz(tmp_path: Any) -> Home:
    return make_home(tmp_path, "KZ")


@pytest.fixture
def chain(store: SqlStore, kz: Home) -> AuditChain:
    """A chain of N entries with a checkpoint signed by KZ's node key every 5 entries."""
    c = AuditChain(AuditLog(store.engine), signer=kz.signer, checkpoint_every=5, clock=Clock())
    for i in range(1, N + 1):
        c.record(
            "officer1",
            "records.show",
            f"record:CN/CN-{i}/v1",
            origin="cli@host",
            detail={"n": i},
        )
    return c


def verify(store: SqlStore, kz: Home) -> ChainReport:
    log = AuditLog(store.engine)
    return verify_chain(
        [e.as_dict() for e in log.entries()],
        [asdict(cp) for cp in log.checkpoints()],
        anchors={"KZ": load_certificate(kz.paths.ca_cert)},
        party="KZ",
    )


@pytest.fixture
def dba(store: SqlStore) -> Iterator[Engine]:
    """The store's engine with the append-only triggers out of the way, as a DBA could."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("audit_log", "audit_checkpoints"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for trig in ("update", "delete"):
                for table in ("audit_log", "audit_checkpoints"):
                    conn.execute(text(f"DROP TRIGGER {table}_no_{trig}"))
    yield store.engine


def sql(engine: Engine, stmt: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(stmt), params)


def test_an_intact_chain_verifies_with_signed_checkpoints(
    chain: AuditChain, store: SqlStore, kz: Home
) -> None:
    report = verify(store, kz)
    assert report.ok, report.as_dict()
    assert (report.entries, report.first, report.last) == (N, 1, N)
    assert report.checkpoints == report.checkpoints_verified == 2  # at 5 and 10


def test_the_database_refuses_update_and_delete(chain: AuditChain, store: SqlStore) -> None:
    for stmt in (
        "UPDATE audit_log SET actor = 'nobody' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET digest = 'x'",
        *(["TRUNCATE audit_log"] if store.engine.dialect.name == "postgresql" else []),
    ):
        with pytest.raises(StorageError) as info:
            from ctop_node.store._errors import translated

            with translated("tamper"), store.engine.begin() as conn:
                conn.execute(text(stmt))
        assert "append-only" in info.value.message
    assert AuditLog(store.engine).count() == N


def test_edit_is_found_at_its_position(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    sql(dba, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 4")
    report = verify(store, kz)
    assert not report.ok and report.position == 4
    assert report.problems[0].code == "audit.digest"


def test_edited_detail_is_found_at_its_position(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    sql(dba, "UPDATE audit_log SET detail = :d WHERE seq = 7", d='{"n":99}')
    report = verify(store, kz)
    assert report.position == 7 and report.problems[0].code == "audit.detail"


def test_delete_is_found_at_its_position(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    sql(dba, "DELETE FROM audit_log WHERE seq = 6")
    report = verify(store, kz)
    assert report.position == 6 and report.problems[0].code == "audit.missing"


def test_delete_and_renumber_is_found_at_its_position(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    sql(dba, "DELETE FROM audit_log WHERE seq = 6")
    for seq in range(7, N + 1):
        sql(dba, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    report = verify(store, kz)
    assert report.position == 6 and report.problems[0].code == "audit.digest"


def test_insert_is_found_at_its_position(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    # Make room at 8 and insert a forged entry whose digest follows the rule from entry 7.
    for seq in range(N, 7, -1):
        sql(dba, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    log = AuditLog(store.engine)
    prev = log.entry(7)
    assert prev is not None
    forged: dict[str, Any] = {
        **prev.as_dict(),
        "seq": 8,
        "actor": "intruder",
        "detail": "{}",
        "detail_digest": detail_digest("{}"),
    }
    forged["digest"] = chain_digest(prev.digest, forged)
    sql(
        dba,
        "INSERT INTO audit_log (seq, at, actor, action, object, purpose, origin, detail, "
        "detail_digest, digest) VALUES (8, :at, :actor, :action, :object, :purpose, :origin, "
        ":detail, :detail_digest, :digest)",
        **{k: v for k, v in forged.items() if k != "seq"}
        | {
            "at": prev.at.replace(tzinfo=None) if store.engine.dialect.name == "sqlite" else prev.at
        },
    )
    report = verify(store, kz)
    # The forged entry links correctly; the original entry 8, now at 9, no longer does.
    assert report.position == 9 and report.problems[0].code == "audit.digest"


def test_reorder_is_found_at_its_position(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    sql(dba, "UPDATE audit_log SET seq = -1 WHERE seq = 3")
    sql(dba, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    sql(dba, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    report = verify(store, kz)
    assert report.position == 3 and report.problems[0].code == "audit.digest"


def test_rewrite_with_recomputed_digests_is_caught_by_the_checkpoint(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    # An intruder who knows the rule edits entry 2 and re-hashes everything after it: the
    # chain is self-consistent, but the checkpoint signed at 5 vouched for other digests.
    sql(dba, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
    log = AuditLog(store.engine)
    previous = GENESIS
    for entry in log.entries():
        digest = chain_digest(previous, entry.as_dict())
        sql(dba, "UPDATE audit_log SET digest = :d WHERE seq = :s", d=digest, s=entry.seq)
        previous = digest
    report = verify(store, kz)
    assert [(p.position, p.code) for p in report.problems] == [
        (5, "audit.rewritten"),
        (10, "audit.rewritten"),
    ]


def test_truncation_after_a_checkpoint_is_found(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine
) -> None:
    sql(dba, "DELETE FROM audit_log WHERE seq >= 8")
    report = verify(store, kz)
    assert report.position == 8 and report.problems[0].code == "audit.truncated"


def test_forged_checkpoint_signature_is_found(
    chain: AuditChain, store: SqlStore, kz: Home, dba: Engine, tmp_path: Any
) -> None:
    other = make_home(tmp_path, "KZ", "kz-other")  # another CA claiming to be KZ
    AuditChain(AuditLog(store.engine), signer=other.signer).record("x", "y", "z")
    AuditChain(AuditLog(store.engine), signer=other.signer).checkpoint()
    report = verify(store, kz)
    assert report.position == N + 1 and report.problems[0].code == "audit.untrusted"


def test_the_service_hook_appends_to_the_same_chain(
    chain: AuditChain, store: SqlStore, kz: Home
) -> None:
    row = record(store, "api-user", "api.records.read", "record:CN/CN-1/v1", origin="api@10.0.0.5")
    assert row.seq == N + 1 and row.origin == "api@10.0.0.5"
    assert verify(store, kz).ok


def test_concurrent_writers_keep_one_unbroken_chain(store: SqlStore, kz: Home) -> None:
    """Four writers at once (as the API, the UI and CLI commands would be): every entry gets
    its own position and the chain verifies, checkpoints included."""
    from concurrent.futures import ThreadPoolExecutor

    def write(worker: int) -> list[int]:
        chain = AuditChain(AuditLog(store.engine), signer=kz.signer, checkpoint_every=10)
        return [chain.record(f"w{worker}", "records.show", f"record:CN/{i}").seq for i in range(25)]

    with ThreadPoolExecutor(4) as pool:
        seqs = [s for batch in pool.map(write, range(4)) for s in batch]
    assert sorted(seqs) == list(range(1, 101))
    report = verify(store, kz)
    assert report.ok, report.as_dict()
    assert report.entries == 100 and report.checkpoints_verified == report.checkpoints >= 1

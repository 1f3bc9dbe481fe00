"""/metrics and /readyz of one node, read from a real store and a real home: the text parses
with Prometheus's own parser and the figures are the database's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ctop_node.reports.health import readiness_problems
from ctop_node.reports.metrics import NodeCollector, metrics_registry, render
from ctop_node.store import SqlStore, open_store
from ctop_node.store.operations import OperationsQueries
from ctop_node.store.outbox import Dead, Delivered, Outbox
from tests._homes import Home
from tests.unit.store._entries import entry, with_id


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode("utf-8")):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _collector(store: SqlStore, home: Path, now: datetime) -> NodeCollector:
    return NodeCollector(
        OperationsQueries(store.engine),
        Outbox(store.engine),
        home,
        "KZ",
        peers=["CN", "RU"],
        clock=lambda: now,
    )


def test_metrics_parse_and_hold_the_database_figures(
    store: SqlStore, kz_cn_homes: tuple[Home, Home], record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    recs = [with_id(record_dict, f"M-{i}") for i in range(4)]
    store.write_batch([entry(r) for r in recs], origin_party="KZ")
    box = Outbox(store.engine)
    now = datetime.now(UTC) + timedelta(seconds=60)
    items = box.due("CN", 10, now)
    box.settle(
        [Delivered(i.id, b"r", now) for i in items[:2]]
        + [Dead(items[2].id, "transport.gave_up", "down", now)]
    )
    box.record_failure("CN", "refused", now, timedelta(seconds=30), failures_to_open=1)
    got = _samples(render(metrics_registry(_collector(store, kz.home, now))))

    assert got[("ctop_database_up", ())] == 1
    assert got[("ctop_outbox_depth", (("peer", "CN"),))] == 1
    assert got[("ctop_outbox_depth", (("peer", "RU"),))] == 0  # configured, no traffic yet
    age = got[("ctop_outbox_oldest_pending_age_seconds", (("peer", "CN"),))]
    assert 59 <= age <= 120
    assert got[("ctop_deliveries_total", (("peer", "CN"),))] == 2
    assert got[("ctop_delivery_latency_seconds_count", (("peer", "CN"),))] == 2
    assert got[("ctop_delivery_latency_seconds_bucket", (("le", "+Inf"), ("peer", "CN")))] == 2
    dead = (("code", "transport.gave_up"), ("peer", "CN"), ("state", "dead"))
    assert got[("ctop_rejections_total", dead)] == 1
    assert got[("ctop_circuit_state", (("peer", "CN"), ("state", "open")))] == 1
    assert got[("ctop_circuit_state", (("peer", "CN"), ("state", "closed")))] == 0
    assert got[("ctop_circuit_state", (("peer", "RU"), ("state", "closed")))] == 1
    assert got[("ctop_circuit_consecutive_failures", (("peer", "CN"),))] == 1
    assert got[("ctop_trust_material_readable", ())] == 1
    crl = [
        v
        for (name, labels), v in got.items()
        if name == "ctop_trust_days_left"
        and ("item", "crl") in labels
        and ("party", "KZ") in labels
    ]
    assert len(crl) == 1 and 0 < crl[0] <= 31
    tls = [
        v
        for (name, labels), v in got.items()
        if name == "ctop_trust_days_left" and ("item", "tls") in labels
    ]
    assert tls and tls[0] > 31
    assert any(name.startswith("process_") for name, _ in got)


def test_a_database_gone_is_a_reading_not_a_failed_scrape(
    tmp_path: Path, kz_cn_homes: tuple[Home, Home]
) -> None:
    kz, _ = kz_cn_homes
    path = tmp_path / "gone.db"
    with open_store(f"sqlite:///{path}") as store:
        collector = _collector(store, kz.home, datetime.now(UTC))
        registry = metrics_registry(collector)
        assert _samples(render(registry))[("ctop_database_up", ())] == 1
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        got = _samples(render(registry))
        assert got[("ctop_database_up", ())] == 0
        assert not any(name.startswith("ctop_outbox") for name, _ in got)
        assert got[("ctop_trust_material_readable", ())] == 1


def test_readiness_names_each_reason(tmp_path: Path, kz_cn_homes: tuple[Home, Home]) -> None:
    kz, _ = kz_cn_homes
    path = tmp_path / "ready.db"
    now = datetime.now(UTC)
    with open_store(f"sqlite:///{path}") as store:
        ops = OperationsQueries(store.engine)
        assert readiness_problems(ops, kz.home, "KZ", sender_alive=lambda: True, now=now) == []
        stopped = readiness_problems(ops, kz.home, "KZ", sender_alive=lambda: False, now=now)
        assert stopped == ["sender: not running"]
        # in 40 days the CRLs (30 days) have lapsed: named, one line each
        later = readiness_problems(
            ops, kz.home, "KZ", sender_alive=lambda: True, now=now + timedelta(days=40)
        )
        assert later and all(p.startswith("trust: ") for p in later)
        assert any("KZ crl" in p for p in later) and any("CN crl" in p for p in later)
        path.unlink()
        gone = readiness_problems(ops, kz.home, "KZ", sender_alive=lambda: True, now=now)
        assert len(gone) == 1 and gone[0].startswith("database: ")


def test_operations_doc_lists_every_metric(store: SqlStore, kz_cn_homes: tuple[Home, Home]) -> None:
    import re

    kz, _ = kz_cn_homes
    text = render(metrics_registry(_collector(store, kz.home, datetime.now(UTC)))).decode()
    families = {f.name for f in text_string_to_metric_families(text) if f.name.startswith("ctop_")}
    doc = (Path(__file__).parents[3] / "docs" / "operations.md").read_text("utf-8")
    listed = {n.removesuffix("_total") for n in re.findall(r"^\| `(ctop_[a-z_]+)`", doc, re.M)}
    assert families == listed


def _age(store: SqlStore, home: Path, now: datetime) -> float:
    got = _samples(render(metrics_registry(_collector(store, home, now))))
    return got[("ctop_audit_checkpoint_age_seconds", ())]


def test_audit_checkpoint_age_counts_from_the_last_signed_checkpoint(
    store: SqlStore, kz_cn_homes: tuple[Home, Home]
) -> None:
    from ctop_node.store.audit import AuditLog, AuditRow, CheckpointRow

    kz, _ = kz_cn_homes
    log = AuditLog(store.engine)
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert _age(store, kz.home, t0) == 0  # an empty audit log has nothing unvouched for

    def step(at: datetime) -> Any:
        def make(seq: int, _prev: str | None) -> AuditRow:
            d = f"{seq:064x}"
            return AuditRow(seq, at, "a", "records.read", "X", "customs_control", "t", "{}", d, d)

        return make

    first = log.append(step(t0))
    # no checkpoint yet: the whole chain has gone unsigned since its first entry
    assert _age(store, kz.home, t0 + timedelta(minutes=5)) == 300
    log.append(step(t0 + timedelta(minutes=1)))
    signed_at = t0 + timedelta(minutes=10)
    log.add_checkpoint(CheckpointRow(first.seq, first.digest, signed_at, b"cose", "PEM"))
    assert _age(store, kz.home, signed_at + timedelta(seconds=42.5)) == 42.5
    later = t0 + timedelta(hours=2)
    log.add_checkpoint(CheckpointRow(2, "0" * 64, later, b"cose", "PEM"))
    assert _age(store, kz.home, later + timedelta(seconds=7)) == 7

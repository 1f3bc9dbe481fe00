"""The internal port's operator endpoints on real ``serve`` processes: /metrics parses with
Prometheus's parser and counts what the databases hold after a real exchange; /healthz and
/readyz answer; /readyz turns 503 with the reason once the node's database is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import DRAIN_S, Pair, records_for, wait_until


def _scrape(url: str, token: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_metrics_count_a_real_exchange(pair_any_db: Pair, record_dict: dict[str, Any]) -> None:
    pair = pair_any_db
    pair.ingest(pair.kz, records_for(record_dict, 6, prefix="MET"))
    pair.wait_drained(DRAIN_S)
    kz = _scrape(pair.kz.api_url, pair.kz.token)
    delivered = pair.outbox_states()["delivered"]
    assert delivered == 6
    cn_peer = frozenset({("peer", "CN")})
    assert kz[("ctop_deliveries_total", cn_peer)] == delivered
    assert kz[("ctop_delivery_latency_seconds_count", cn_peer)] == delivered
    assert kz[("ctop_outbox_depth", cn_peer)] == 0
    assert kz[("ctop_circuit_state", frozenset({("peer", "CN"), ("state", "closed")}))] == 1
    assert kz[("ctop_database_up", frozenset())] == 1
    # CN counts what it received, by channel and state, equal to its inbox
    cn = _scrape(pair.cn.api_url, pair.cn.token)
    received = sum(
        v
        for (name, labels), v in cn.items()
        if name == "ctop_inbox_messages_total" and ("peer", "KZ") in labels
    )
    assert received == len(pair.inbox_rows()) == 6
    # the token guards /metrics; the probes answer without it
    assert httpx.get(f"{pair.kz.api_url}/metrics", timeout=10).status_code == 401
    assert httpx.get(f"{pair.kz.api_url}/healthz", timeout=10).json() == {"alive": True}
    assert httpx.get(f"{pair.kz.api_url}/readyz", timeout=10).json() == {"ready": True}


def test_readyz_fails_when_the_database_is_gone(pair: Pair) -> None:
    url = pair.kz.api_url
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    db = Path(pair.kz.db_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)

    def not_ready() -> bool:
        return httpx.get(f"{url}/readyz", timeout=10).status_code == 503

    wait_until("KZ's /readyz answers 503", not_ready, 30)
    body = httpx.get(f"{url}/readyz", timeout=10).json()
    assert body["ready"] is False
    assert any(r.startswith("database: ") and "gone" in r for r in body["reasons"])
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # alive, not ready
    scraped = _scrape(url, pair.kz.token)
    assert scraped[("ctop_database_up", frozenset())] == 0

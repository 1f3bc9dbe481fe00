"""Cancellation between two real nodes (KZ sends, CN receives), on SQLite and PostgreSQL.

- KZ's v1 is delivered; CN goes down; v2 is sealed and stuck; then v3 is refused at ingest
  (state secret, Art.6) / v2 is withdrawn and never reaches CN, CN ends with the record
  cancelled (issue 8 finding 13);
- the clearance system cancels a delivered record through the internal API, then sends a
  new version anyway / KZ keeps it and does not send it; CN shows the record cancelled and
  refuses a new version sealed by hand (``exchange.cancelled``).
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from ctop_node.store.schema import outbox
from tests.e2e.conftest import READY_S, Pair, changed, start, wait_until
from tests.unit.online._peers import new_id, record_message


def _post(pair: Pair, recs: list[dict[str, Any]]) -> dict[str, Any]:
    r = httpx.post(
        f"{pair.kz.api_url}/api/v1/records",
        content=b"".join(orjson.dumps(x) + b"\n" for x in recs),
        headers={
            "Authorization": f"Bearer {pair.kz.token}",
            "Content-Type": "application/x-ndjson",
        },
        timeout=60,
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _kz_rows(pair: Pair, record_id: str) -> list[tuple[str, int, str, int]]:
    query = (
        select(outbox.c.kind, outbox.c.version, outbox.c.state, outbox.c.attempts)
        .where(outbox.c.record_id == record_id)
        .order_by(outbox.c.id)
    )
    with pair.engine(pair.kz).connect() as conn:
        return [(k, int(v), s, int(a)) for k, v, s, a in conn.execute(query)]


def _cn_state(pair: Pair, record_id: str) -> str | None:
    rows = [r for r in pair.store(pair.cn).list_records(limit=1000) if r.record_id == record_id]
    return rows[0].state if rows else None


def test_refused_later_version_withdraws_and_cancels_at_the_peer(
    pair_any_db: Pair, record_dict: dict[str, Any]
) -> None:
    pair = pair_any_db
    rid = f"E2E-SECRET-{new_id()[:8]}"
    v1 = {**copy.deepcopy(record_dict), "record_id": rid}
    assert _post(pair, [v1])["to_send"] == 1
    pair.wait_drained()
    assert _kz_rows(pair, rid) == [("record", 1, "delivered", 1)]

    pair.cn.stop()
    v2 = changed(v1, 2)
    assert _post(pair, [v2])["to_send"] == 1
    # KZ tries to send v2 (sealed, kept for the retry) while CN is down.
    wait_until(
        "KZ tried v2 at least once",
        lambda: any(r[1] == 2 and r[3] >= 1 for r in _kz_rows(pair, rid)),
        READY_S,
    )
    v3 = changed(v1, 3)
    v3["flags"] = {**v3["flags"], "state_secret": True}
    assert _post(pair, [v3])["refused"] == 1

    start(pair.cn)
    wait_until(
        "the cancellation reached CN",
        lambda: any(r[0] == "cancellation" and r[2] == "delivered" for r in _kz_rows(pair, rid)),
        READY_S * 2,
        step=0.1,
    )
    rows = _kz_rows(pair, rid)
    assert [(k, v, s) for k, v, s, _ in rows] == [
        ("record", 1, "delivered"),
        ("record", 2, "withdrawn"),
        ("cancellation", 1, "delivered"),
    ]
    assert _cn_state(pair, rid) == "cancelled"
    received = [r for r in pair.received() if r.record_id == rid]
    assert [r.version for r in received] == [1]  # v2 never arrived
    assert {(r.version, r.state) for r in pair.inbox_rows() if r.record_id == rid} == {
        (1, "applied")
    }


def test_cancel_through_the_api_then_no_revival(pair: Pair, record_dict: dict[str, Any]) -> None:
    rid = f"E2E-CANCEL-{new_id()[:8]}"
    v1 = {**copy.deepcopy(record_dict), "record_id": rid}
    assert _post(pair, [v1])["to_send"] == 1
    pair.wait_drained()
    r = httpx.post(
        f"{pair.kz.api_url}/api/v1/records/{rid}/cancel",
        json={"reason": "declaration annulled by the exporter"},
        headers={"Authorization": f"Bearer {pair.kz.token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["cancellations"] == [{"peer": "CN", "version": 1}]
    wait_until(
        "CN shows the record cancelled", lambda: _cn_state(pair, rid) == "cancelled", READY_S
    )

    # The clearance system sends a new version anyway: kept at KZ, never queued.
    posted = _post(pair, [changed(v1, 2)])
    assert (posted["new_versions"], posted["not_sent_cancelled"]) == (1, 1)
    assert [(k, v, s) for k, v, s, _ in _kz_rows(pair, rid)] == [
        ("record", 1, "delivered"),
        ("cancellation", 1, "delivered"),
    ]
    # A sender that sends one anyway (hand-sealed with KZ's keys) is refused by CN.
    [answer] = pair.post_messages([record_message(pair.kz_home(), changed(v1, 2), version=2)])
    assert (answer["status"], answer["code"]) == ("rejection", "exchange.cancelled")
    assert [r.version for r in pair.received() if r.record_id == rid] == [1]
    assert _cn_state(pair, rid) == "cancelled"

"""Two real ``ctop-node serve`` processes (KZ sends, CN receives) on loopback with fresh PKI,
for the end-to-end fault tests; helpers that read both databases and talk mTLS to a node.

Fixtures: ``pair`` (SQLite, both started), ``pair_any_db`` (the same on SQLite and on
PostgreSQL, one schema per node), ``nodes`` (created, not started: the test starts them).
Every process is killed when the test ends, whatever happened.

Logs never hold record content (issue 11 item 5): after each test, every ``*.log`` file under
its tmp dir (the nodes' ``serve.log``, a simulator's or a broken peer's log) is searched for
the distinctive values of the records the tests ingest (``RECORD_VALUES``, plus what a test adds
with the ``forbidden_in_logs`` fixture); at the end of the session, every log under the
session's base temp dir (module fixtures' nodes included). A hit fails the test, naming the
file and the value. Watch-folder reports (``*.errors.json``) are not logs: they answer the
clearance system about its own file, like the API's 422 body (docs/threat-model.md).
"""

from __future__ import annotations

import copy
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ctop_node.crypto.envelope import OpenedMessage, open_
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import PartyCA
from ctop_node.localnet import LocalNode, create_nodes, stop_all
from ctop_node.online.endpoint import CBOR, HEALTH_PATH, MESSAGES_PATH
from ctop_node.online.http_client import tls_context
from ctop_node.reports.exchange import ExchangeCounts, exchange_counts
from ctop_node.store import SqlStore, open_store
from ctop_node.store.schema import inbox, outbox, peer_status, records
from tests._homes import Home
from tests._users import add_role_users_at

READY_S = 60.0  # a cold start on a busy 2-core machine
# Waiting for work to finish fails only when nothing has moved for this long, however long
# the work takes on a busy machine: above the sender's longest idle spell (backoff max 60 s
# plus one 15 s HTTP timeout), far below the pytest timeout.
DRAIN_S = 120.0


DATA = Path(__file__).parents[1] / "data" / "record_kz_cn.json"


def _record_values() -> tuple[str, ...]:
    """Values of tests/data/record_kz_cn.json (the record most e2e tests send, in copies that
    differ by record_id) that nothing but the record itself would print: names, goods,
    container, seal, declaration and document numbers, an alphanumeric national id.
    Identifiers (record ids) are allowed in logs; purely numeric values are left out, as a
    timestamp or a port could hold them by chance."""
    data = orjson.loads(DATA.read_bytes())
    return (
        data["exporter"]["name"],
        data["consignee"]["name"],
        data["consignee"]["national_id"],
        data["carrier"]["name"],
        data["goods"][0]["description"],
        data["containers"][0]["number"],
        data["containers"][0]["seals"][0],
        data["declaration"]["number"],
        data["transport_document"]["number"],
    )


RECORD_VALUES = _record_values()


def log_leaks(root: Path, values: Sequence[str]) -> list[str]:
    """``file: value`` for each log file under ``root`` holding one of ``values``."""
    found = []
    for path in sorted(root.rglob("*.log")):
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        # JSON logs escape non-ASCII and slashes differently: look for both spellings.
        for value in values:
            spellings = {value, orjson.dumps(value).decode()[1:-1]}
            if any(v in text for v in spellings):
                found.append(f"{path}: {value!r}")
    return found


@pytest.fixture
def forbidden_in_logs() -> list[str]:
    """Values a test adds to the ones its logs must not hold."""
    return []


@pytest.fixture(autouse=True)
def _no_record_content_in_logs(tmp_path: Path, forbidden_in_logs: list[str]) -> Iterator[None]:
    # Autouse: set up before, torn down after the test's nodes (their logs are complete).
    yield
    leaks = log_leaks(tmp_path, [*RECORD_VALUES, *forbidden_in_logs])
    if leaks:
        pytest.fail("record content in a log:\n" + "\n".join(leaks))


@pytest.fixture(scope="session", autouse=True)
def _no_record_content_in_any_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    leaks = log_leaks(tmp_path_factory.getbasetemp(), RECORD_VALUES)
    if leaks:
        pytest.fail("record content in a log:\n" + "\n".join(leaks))


def wait_until(what: str, cond: Callable[[], bool], timeout: float, step: float = 0.05) -> None:
    """Poll ``cond`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)  # polling a condition with a deadline
    if not cond():
        pytest.fail(f"not within {timeout} s: {what}")


def wait_progress(
    what: str,
    done: Callable[[], bool],
    progress: Callable[[], object],
    stall: float = DRAIN_S,
    step: float = 0.1,
) -> None:
    """Poll until ``done()``; fail naming ``what`` only after ``progress()`` (a counter, a
    tuple of counts) has not changed for ``stall`` seconds. The deadline extends while the
    work moves, so a loaded machine is slower, not failed; a stuck one still fails."""
    last = progress()
    moved = time.monotonic()
    while not done():
        time.sleep(step)  # polling a condition; the deadline is the stall budget
        now = progress()
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall:
            pytest.fail(f"no progress for {stall} s (at {last!r}): {what}")


def records_for(base: dict[str, Any], n: int, *, prefix: str = "E2E") -> list[dict[str, Any]]:
    """``n`` valid KZ->CN records that differ in record_id only."""
    tag = uuid.uuid4().hex[:6].upper()
    out = []
    for i in range(n):
        r = copy.deepcopy(base)
        r["record_id"] = f"KZ-{prefix}-{tag}-{i:06d}"
        out.append(r)
    return out


def changed(record: dict[str, Any], n: int) -> dict[str, Any]:
    """Another content of the same record (its next version when ingested)."""
    out = copy.deepcopy(record)
    out["transport_document"]["number"] = f"SMGS-26-{n:07d}"
    return out


@dataclass
class Pair:
    kz: LocalNode
    cn: LocalNode
    base: Path
    _stores: dict[str, SqlStore] = field(default_factory=dict)

    def store(self, node: LocalNode) -> SqlStore:
        if node.party not in self._stores:
            self._stores[node.party] = open_store(node.db_url, migrate=False)
        return self._stores[node.party]

    def engine(self, node: LocalNode) -> Engine:
        return self.store(node).engine

    def close(self) -> None:
        for s in self._stores.values():
            s.close()
        self._stores.clear()

    # -- the clearance system ---------------------------------------------------------------

    def ingest(self, node: LocalNode, recs: list[dict[str, Any]]) -> dict[str, Any]:
        body = b"".join(orjson.dumps(r) + b"\n" for r in recs)
        r = httpx.post(
            f"{node.api_url}/api/v1/records",
            content=body,
            headers={
                "Authorization": f"Bearer {node.token}",
                "Content-Type": "application/x-ndjson",
            },
            timeout=120,
        )
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        assert result["to_send"] == len(recs), result
        return result

    # -- what the databases say -------------------------------------------------------------

    def counts(self) -> ExchangeCounts:
        return exchange_counts(self.store(self.kz), self.store(self.cn), "KZ", "CN")

    def outbox_states(self) -> Counter[str]:
        with self.engine(self.kz).connect() as conn:
            rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
            return Counter({state: int(n) for state, n in rows})

    def drained(self) -> bool:
        states = self.outbox_states()
        return sum(states.values()) > 0 and states["pending"] == 0

    def wait_drained(self, timeout: float = DRAIN_S) -> None:
        """Until KZ's outbox has nothing pending; ``timeout`` is the longest the outbox may
        stay unchanged (no entry settled, none added), not a budget for the whole drain."""
        wait_progress(
            "KZ's outbox drained to CN",
            self.drained,
            lambda: sorted(self.outbox_states().items()),
            stall=timeout,
        )

    def inbox_rows(self) -> list[Any]:
        query = select(
            inbox.c.message_id,
            inbox.c.record_id,
            inbox.c.version,
            inbox.c.state,
            inbox.c.answer,
            inbox.c.received_at,
            inbox.c.applied_at,
        )
        with self.engine(self.cn).connect() as conn:
            return list(conn.execute(query))

    def received(self) -> list[Any]:
        """CN's applied rows of KZ records, in the order they were applied (row id)."""
        query = (
            select(records.c.id, records.c.record_id, records.c.version, records.c.digest)
            .where(records.c.direction == "in", records.c.origin_party == "KZ")
            .order_by(records.c.id)
        )
        with self.engine(self.cn).connect() as conn:
            return list(conn.execute(query))

    def outbox_rows(self) -> list[Any]:
        query = select(
            outbox.c.message_id,
            outbox.c.state,
            outbox.c.message,
            outbox.c.answer,
            outbox.c.answer_code,
            outbox.c.last_error,
        ).where(outbox.c.peer_party == "CN")
        with self.engine(self.kz).connect() as conn:
            return list(conn.execute(query))

    # -- a KZ client on CN's peer port ------------------------------------------------------

    def kz_home(self) -> Home:
        """KZ's keys and CA, to seal messages by hand as the KZ node would."""
        return Home("KZ", self.kz.home, PartyCA.load(NodePaths(self.kz.home).ca_dir))

    def open_answer(self, answer: bytes) -> OpenedMessage:
        """CN's sealed answer, verified and decrypted with KZ's keys."""
        kz = self.kz_home()
        return open_(answer, kz.trust(), kz.decryptor, "KZ")

    def kz_tls(self) -> ssl.SSLContext:
        kz = NodePaths(self.kz.home)
        return tls_context(NodePaths(self.cn.home).ca_cert, kz.tls_cert, kz.tls_key)

    def post_raw(
        self,
        body: bytes | Iterator[bytes],
        *,
        ctx: ssl.SSLContext | None = None,
        content_type: str = CBOR,
        timeout: float = 30.0,
    ) -> httpx.Response:
        with httpx.Client(verify=ctx or self.kz_tls(), timeout=timeout) as client:
            return client.post(
                self.cn.peer_url + MESSAGES_PATH,
                content=body,
                headers={"content-type": content_type},
            )

    def post_messages(self, messages: list[bytes]) -> list[dict[str, Any]]:
        r = self.post_raw(cbor2.dumps(messages))
        assert r.status_code == 200, r.text
        answers: list[dict[str, Any]] = cbor2.loads(r.content)
        assert len(answers) == len(messages)
        return answers

    def peer_failures(self) -> int:
        """Consecutive whole-batch failures KZ's sender has counted against CN."""
        with self.engine(self.kz).connect() as conn:
            n = conn.execute(
                select(peer_status.c.consecutive_failures).where(peer_status.c.peer_party == "CN")
            ).scalar_one_or_none()
        return int(n or 0)

    def cn_healthy(self) -> bool:
        with httpx.Client(verify=self.kz_tls(), timeout=5.0) as client:
            return client.get(self.cn.peer_url + HEALTH_PATH).status_code == 200


def start(
    *nodes: LocalNode,
    env: dict[str, str] | None = None,
    module: Sequence[str] = ("ctop_node", "serve"),
) -> None:
    """Start ``nodes`` (``module``: ``("tests._faulty_node", "--crash-after-commit", "1")``
    injects faults) and wait until each is ready."""
    for node in nodes:
        node.start(env=env, module=module)
    for node in nodes:
        node.wait_ready(READY_S)


@pytest.fixture
def pg_schemas(pg_base_url: str) -> Iterator[dict[str, str]]:
    """One fresh PostgreSQL schema per node (KZ, CN), dropped afterwards."""
    import psycopg

    raw = pg_base_url.replace("postgresql+psycopg", "postgresql")
    schemas = {p: f"e2e_{p.lower()}_{uuid.uuid4().hex[:10]}" for p in ("KZ", "CN")}
    with psycopg.connect(raw, autocommit=True) as conn:
        for s in schemas.values():
            conn.execute(f'CREATE SCHEMA "{s}"')
    try:
        yield {p: f"{pg_base_url}?options=-csearch_path%3D{s}" for p, s in schemas.items()}
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            for s in schemas.values():
                conn.execute(f'DROP SCHEMA "{s}" CASCADE')


def _nodes(base: Path, db_urls: dict[str, str] | None) -> Iterator[Pair]:
    created = create_nodes(base, db_urls=db_urls)
    for node in created.values():  # one user per role: record content needs a checked user
        add_role_users_at(node.home)
    pair = Pair(created["KZ"], created["CN"], base)
    try:
        yield pair
    finally:
        pair.close()
        stop_all(created)
        for node in created.values():  # a node a test left half-started
            node.kill()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Pair]:
    """KZ and CN created on SQLite, not started."""
    yield from _nodes(tmp_path, None)


@pytest.fixture
def pair(nodes: Pair) -> Pair:
    """KZ and CN on SQLite, both running."""
    start(nodes.cn, nodes.kz)
    return nodes


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes_any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    """KZ and CN created on SQLite files or on one PostgreSQL schema each, not started."""
    urls = None if request.param == "sqlite" else request.getfixturevalue("pg_schemas")
    yield from _nodes(tmp_path, urls)


@pytest.fixture
def pair_any_db(nodes_any_db: Pair) -> Pair:
    """KZ and CN running, on SQLite files or on one PostgreSQL schema each."""
    start(nodes_any_db.cn, nodes_any_db.kz)
    return nodes_any_db

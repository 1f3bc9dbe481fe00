"""Queries of the arrival view: trains per crossing point, the records of a train, search.

Record bodies are canonical JSON blobs; the view needs trains, containers, seals ... as
columns. ``record_index`` (the latest version of each record, flattened) and ``search_terms``
(upper-cased container, wagon, train, declaration, seal, lock, HS code and consignee values)
are derived from ``records`` and caught up incrementally by ``refresh()`` (by ``records.id``,
remembered in ``index_progress``), so no write path of the exchange has to know about them.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from ctop_node.errors import StorageError
from ctop_node.store._engine import SQLITE_BEGIN
from ctop_node.store._errors import translated
from ctop_node.store.schema import (
    control_results,
    index_progress,
    lock_reads,
    record_index,
    records,
    search_terms,
)

_PROGRESS = "arrival"
_BATCH = 2000
_MAX_HITS = 50
_KEY_CHUNK = 400  # (party, record_id) pairs per IN: far below parameter limits


@dataclass(frozen=True, slots=True)
class TrainSummary:
    train_key: str
    origin_party: str
    train_number: str
    crossing_point: str
    planned_crossing_at: datetime
    records: int
    containers: int
    wagons: int


@dataclass(frozen=True, slots=True)
class IndexedRecord:
    origin_party: str
    record_id: str
    version: int
    direction: str
    train_key: str
    train_number: str
    crossing_point: str
    planned_crossing_at: datetime
    declaration_number: str
    consignee: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str
    value: str
    record: IndexedRecord


def train_key(origin_party: str, train_number: str, planned: datetime) -> str:
    """One run of a train: the same number on another day is another train."""
    return f"{origin_party}-{train_number}-{planned.strftime('%Y%m%d')}"


def _upper(value: Any) -> str:
    return str(value).strip().upper()[:512]


def _terms(body: dict[str, Any]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    train = body.get("train") or {}
    out.add(("train", _upper(train.get("number", ""))))
    out.add(("declaration", _upper((body.get("declaration") or {}).get("number", ""))))
    for wagon in body.get("wagons") or ():
        out.add(("wagon", _upper(wagon.get("number", ""))))
    for c in body.get("containers") or ():
        out.add(("container", _upper(c.get("number", ""))))
        for seal in c.get("seals") or ():
            out.add(("seal", _upper(seal)))
        if c.get("smart_lock_id"):
            out.add(("lock", _upper(c["smart_lock_id"])))
    for g in body.get("goods") or ():
        out.add(("hs", _upper(g.get("hs_code", ""))))
    consignee = body.get("consignee") or {}
    name = _upper(consignee.get("name", ""))
    out.add(("consignee", name))
    # Each word of the name too, so "grain" finds "Xinjiang Grain Import Co.".
    out.update(("consignee", w) for w in name.replace(",", " ").split() if len(w) >= 3)
    if consignee.get("national_id"):
        out.add(("consignee", _upper(consignee["national_id"])))
    return {(k, v) for k, v in out if v}


def _flat(row: Any, body: dict[str, Any]) -> dict[str, Any]:
    train = body.get("train") or {}
    planned = datetime.fromisoformat(str(train.get("planned_crossing_at")))
    number = str(train.get("number", ""))[:64]
    return {
        "origin_party": row.origin_party,
        "record_id": row.record_id,
        "version": row.version,
        "direction": row.direction,
        "train_key": train_key(row.origin_party, number, planned),
        "train_number": number,
        "crossing_point": str(train.get("crossing_point", ""))[:64],
        "planned_crossing_at": planned,
        "declaration_number": str((body.get("declaration") or {}).get("number", ""))[:64],
        "consignee": str((body.get("consignee") or {}).get("name", ""))[:512],
        "containers": len(body.get("containers") or ()),
        "wagons": len(body.get("wagons") or ()),
    }


def _indexed_versions(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for chunk in range(0, len(keys), _KEY_CHUNK):
        stmt = select(
            record_index.c.origin_party, record_index.c.record_id, record_index.c.version
        ).where(
            tuple_(record_index.c.origin_party, record_index.c.record_id).in_(
                list(keys[chunk : chunk + _KEY_CHUNK])
            )
        )
        out.update({(p, r): int(v) for p, r, v in conn.execute(stmt)})
    return out


def _indexed(r: Any) -> IndexedRecord:
    return IndexedRecord(
        origin_party=r.origin_party,
        record_id=r.record_id,
        version=r.version,
        direction=r.direction,
        train_key=r.train_key,
        train_number=r.train_number,
        crossing_point=r.crossing_point,
        planned_crossing_at=r.planned_crossing_at,
        declaration_number=r.declaration_number,
        consignee=r.consignee,
    )


_INDEXED = (
    record_index.c.origin_party,
    record_index.c.record_id,
    record_index.c.version,
    record_index.c.direction,
    record_index.c.train_key,
    record_index.c.train_number,
    record_index.c.crossing_point,
    record_index.c.planned_crossing_at,
    record_index.c.declaration_number,
    record_index.c.consignee,
)


class ArrivalQueries:
    """The arrival view's reads, on the node's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- catching up with ``records`` ------------------------------------------------------

    def refresh(self) -> int:
        """Index the records stored since the last call; returns how many were read.

        Two callers at once: the second's progress update matches no row (the first moved
        it) or its insert collides, and it rolls back: the first one's work stands.
        """
        if not self._behind():
            return 0  # the common case costs one read, no write lock
        total = 0
        while True:
            try:
                n = self._refresh_batch()
            except StorageError as exc:
                if exc.code == "store.integrity":
                    return total
                raise
            total += n
            if n < _BATCH:
                return total

    def _behind(self) -> bool:
        last = (
            select(index_progress.c.last_record_pk)
            .where(index_progress.c.name == _PROGRESS)
            .scalar_subquery()
        )
        stmt = select(func.max(records.c.id) > func.coalesce(last, 0))
        with translated("check the arrival index"), self.engine.connect() as conn:
            return bool(conn.execute(stmt).scalar())

    def _refresh_batch(self) -> int:
        with translated("index records for the arrival view"), self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin() as tx:
                last = conn.execute(
                    select(index_progress.c.last_record_pk).where(
                        index_progress.c.name == _PROGRESS
                    )
                ).scalar_one_or_none()
                if last is None:
                    conn.execute(insert(index_progress).values(name=_PROGRESS, last_record_pk=0))
                    last = 0
                rows = conn.execute(
                    select(
                        records.c.id,
                        records.c.origin_party,
                        records.c.record_id,
                        records.c.version,
                        records.c.direction,
                        records.c.body,
                    )
                    .where(records.c.id > last)
                    .order_by(records.c.id)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    return 0
                self._index(conn, rows)
                moved = conn.execute(
                    update(index_progress)
                    .where(
                        index_progress.c.name == _PROGRESS,
                        index_progress.c.last_record_pk == last,
                    )
                    .values(last_record_pk=rows[-1].id)
                ).rowcount
                if moved != 1:
                    tx.rollback()
                    return 0
                return len(rows)

    @staticmethod
    def _index(conn: Connection, rows: Iterable[Any]) -> None:
        latest: dict[tuple[str, str], Any] = {}
        for row in rows:
            key = (row.origin_party, row.record_id)
            if key not in latest or row.version > latest[key].version:
                latest[key] = row
        have = _indexed_versions(conn, list(latest))
        flats: list[dict[str, Any]] = []
        terms: list[dict[str, Any]] = []
        for (party, rid), row in latest.items():
            if have.get((party, rid), 0) >= row.version:
                continue
            try:
                body = orjson.loads(row.body)
                flats.append(_flat(row, body))
            except (TypeError, ValueError):
                continue  # a stored body always validated; nothing to index if it cannot parse
            terms.extend(
                {"value": v, "kind": k, "origin_party": party, "record_id": rid}
                for k, v in sorted(_terms(body))
            )
        if not flats:
            return
        # Batched: one delete and one insert per table for the whole batch.
        keys = [(f["origin_party"], f["record_id"]) for f in flats]
        for chunk in range(0, len(keys), _KEY_CHUNK):
            part = keys[chunk : chunk + _KEY_CHUNK]
            conn.execute(
                delete(record_index).where(
                    tuple_(record_index.c.origin_party, record_index.c.record_id).in_(part)
                )
            )
            conn.execute(
                delete(search_terms).where(
                    tuple_(search_terms.c.origin_party, search_terms.c.record_id).in_(part)
                )
            )
        conn.execute(insert(record_index), flats)
        if terms:
            conn.execute(insert(search_terms), terms)

    # -- reading --------------------------------------------------------------------------

    def trains(
        self,
        *,
        direction: str = "in",
        crossing_point: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[TrainSummary]:
        """Trains by planned crossing time (earliest first), from ``since`` on.

        Two steps, so that the cost follows the page and not the table: the first ``limit``
        distinct trains met in a scan by planned time (index ``direction, planned``; a train
        is first met at its earliest record), then the counts of those trains only."""
        ri = record_index.c
        scan = select(ri.train_key).where(ri.direction == direction)
        if crossing_point is not None:
            scan = scan.where(ri.crossing_point == crossing_point)
        if since is not None:
            scan = scan.where(ri.planned_crossing_at >= since)
        scan = scan.order_by(ri.planned_crossing_at, ri.train_key)
        wanted: builtins.list[str] = []
        rows = limit * 64
        with translated("list trains"), self.engine.connect() as conn:
            while True:
                found = conn.execute(scan.limit(rows)).scalars().all()
                wanted = builtins.list(dict.fromkeys(found))[:limit]
                if len(wanted) >= limit or len(found) < rows:
                    break
                rows *= 4
        if not wanted:
            return []
        planned = func.min(record_index.c.planned_crossing_at)
        stmt = (
            select(
                record_index.c.train_key,
                record_index.c.origin_party,
                record_index.c.train_number,
                record_index.c.crossing_point,
                planned.label("planned"),
                func.count().label("n"),
                func.sum(record_index.c.containers).label("containers"),
                func.sum(record_index.c.wagons).label("wagons"),
            )
            .where(record_index.c.direction == direction, ri.train_key.in_(wanted))
            .group_by(
                record_index.c.train_key,
                record_index.c.origin_party,
                record_index.c.train_number,
                record_index.c.crossing_point,
            )
            .order_by(planned, record_index.c.train_key)
            .limit(limit)
        )
        if crossing_point is not None:
            stmt = stmt.where(record_index.c.crossing_point == crossing_point)
        if since is not None:
            stmt = stmt.where(record_index.c.planned_crossing_at >= since)
        with translated("list trains"), self.engine.connect() as conn:
            return [
                TrainSummary(
                    train_key=r.train_key,
                    origin_party=r.origin_party,
                    train_number=r.train_number,
                    crossing_point=r.crossing_point,
                    planned_crossing_at=r.planned,
                    records=int(r.n),
                    containers=int(r.containers or 0),
                    wagons=int(r.wagons or 0),
                )
                for r in conn.execute(stmt)
            ]

    def train_records(self, key: str) -> builtins.list[IndexedRecord]:
        stmt = (
            select(*_INDEXED)
            .where(record_index.c.train_key == key)
            .order_by(record_index.c.record_id)
        )
        with translated("read a train"), self.engine.connect() as conn:
            return [_indexed(r) for r in conn.execute(stmt)]

    def flagged_of_trains(self, keys: Sequence[str]) -> dict[str, builtins.list[IndexedRecord]]:
        """The records of these trains that have a smart-lock read or a control result: the
        only ones whose status can differ from ``announced`` (the train list reads these,
        not every record of every train)."""
        ri = record_index.c
        read = (
            select(lock_reads.c.id)
            .where(
                lock_reads.c.sender_party == ri.origin_party, lock_reads.c.record_id == ri.record_id
            )
            .exists()
        )
        controlled = (
            select(control_results.c.id)
            .where(
                control_results.c.origin_party == ri.origin_party,
                control_results.c.record_id == ri.record_id,
            )
            .exists()
        )
        out: dict[str, builtins.list[IndexedRecord]] = {k: [] for k in keys}
        with translated("read trains"), self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                stmt = select(*_INDEXED).where(
                    ri.train_key.in_(list(keys[i : i + 500])), or_(read, controlled)
                )
                for r in conn.execute(stmt):
                    out[r.train_key].append(_indexed(r))
        return out

    def records_of_trains(self, keys: Sequence[str]) -> dict[str, builtins.list[IndexedRecord]]:
        """The records of several trains in one query per chunk of keys."""
        out: dict[str, builtins.list[IndexedRecord]] = {k: [] for k in keys}
        with translated("read trains"), self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                stmt = (
                    select(*_INDEXED)
                    .where(record_index.c.train_key.in_(list(keys[i : i + 500])))
                    .order_by(record_index.c.record_id)
                )
                for r in conn.execute(stmt):
                    out[r.train_key].append(_indexed(r))
        return out

    def record(self, origin_party: str, record_id: str) -> IndexedRecord | None:
        stmt = select(*_INDEXED).where(
            record_index.c.origin_party == origin_party, record_index.c.record_id == record_id
        )
        with translated("read a record"), self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return _indexed(row) if row is not None else None

    def _prefix_range(self, q: str) -> tuple[Any, ...]:
        # SQLite's LIKE is case-insensitive and so never uses the (binary) index; a range on
        # the same prefix does. PostgreSQL's pattern-ops index serves the LIKE itself.
        if self.engine.dialect.name != "sqlite":
            return ()
        return (search_terms.c.value >= q, search_terms.c.value < q + "\U0010ffff")

    def search(self, query: str, *, limit: int = _MAX_HITS) -> builtins.list[SearchHit]:
        """Records with a term that starts with ``query`` (case-insensitive)."""
        q = _upper(query)
        if not q:
            return []
        # LIKE wildcards in the query are matched literally.
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = (
            select(search_terms.c.kind, search_terms.c.value, *_INDEXED)
            .join(
                record_index,
                and_(
                    record_index.c.origin_party == search_terms.c.origin_party,
                    record_index.c.record_id == search_terms.c.record_id,
                ),
            )
            .where(search_terms.c.value.like(escaped + "%", escape="\\"))
            .where(*self._prefix_range(q))
            .order_by(search_terms.c.value, search_terms.c.record_id)
            .limit(limit)
        )
        hits: dict[tuple[str, str, str], SearchHit] = {}
        with translated("search records"), self.engine.connect() as conn:
            for r in conn.execute(stmt):
                # A name and one of its words both match: one hit per record and kind.
                hits.setdefault(
                    (r.origin_party, r.record_id, r.kind), SearchHit(r.kind, r.value, _indexed(r))
                )
        return list(hits.values())

"""Queries of the arrival view: trains per crossing point, the records of a train, search.

Record bodies are canonical JSON blobs; the view needs trains, containers, seals ... as
columns. ``record_index`` (the latest version of each record, flattened) and ``search_terms``
(upper-cased container, wagon, train, declaration, seal, lock, HS code and consignee values)
are derived from ``records`` and caught up incrementally by ``refresh()`` (by ``records.id``,
remembered in ``index_progress``), so no write path of the exchange has to know about them.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

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
    train_summary,
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


# The columns that make one line of the train list (``train_summary``'s key, but direction).
_GROUP = ("direction", "train_key", "origin_party", "train_number", "crossing_point")

_INDEX_COLS = (
    "origin_party",
    "record_id",
    "version",
    "direction",
    "train_key",
    "train_number",
    "crossing_point",
    "planned_crossing_at",
    "declaration_number",
    "consignee",
    "containers",
    "wagons",
)
_TERM_COLS = ("value", "kind", "origin_party", "record_id")


def _sa_error(sql: str, exc: psycopg.Error) -> DBAPIError:
    if isinstance(exc, psycopg.IntegrityError):
        return IntegrityError(sql, None, exc)
    if isinstance(exc, psycopg.OperationalError):
        return OperationalError(sql, None, exc)
    return DBAPIError(sql, None, exc)


class _Writer:
    """Writes one batch of the catch-up: plain executemany of prepared statements with
    positional tuples (the driver's fast path; SQLAlchemy's per-row parameter work cost more
    than the database did), deletes only for records the index held an older version of,
    and the train summary recomputed for the trains the batch touched."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        dialect = conn.dialect
        self.pg = dialect.name == "postgresql"
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.planned = record_index.c.planned_crossing_at.type.bind_processor(dialect)

    def _insert(self, table: str, cols: Sequence[str], rows: Sequence[Any]) -> None:
        names = ", ".join(cols)
        if self.pg:
            # COPY on the connection's own transaction: psycopg's executemany is one
            # pipelined statement per row, ten times slower here.
            raw = cast("psycopg.Connection[Any]", self.conn.connection.dbapi_connection)
            sql = f"COPY {table} ({names}) FROM STDIN"
            try:
                with raw.cursor() as cur, cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            except psycopg.Error as exc:  # as SQLAlchemy's own statements would fail
                raise _sa_error(sql, exc) from exc
            return
        marks = ", ".join([self.mark] * len(cols))
        self.conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def _delete(self, table: str, keys: Sequence[tuple[str, str]]) -> None:
        if self.pg:
            parties, rids = zip(*keys, strict=True)
            self.conn.exec_driver_sql(
                f"DELETE FROM {table} WHERE (origin_party, record_id) IN"
                " (SELECT * FROM unnest(%s::varchar[], %s::varchar[]))",
                (list(parties), list(rids)),
            )
            return
        # SQLite: by primary key / index, one statement per record (in-process, cheap).
        self.conn.exec_driver_sql(
            f"DELETE FROM {table} WHERE origin_party = ? AND record_id = ?", keys
        )

    def index(self, rows: Sequence[Any]) -> None:
        latest: dict[tuple[str, str], Any] = {}
        for row in rows:
            key = (row.origin_party, row.record_id)
            if key not in latest or row.version > latest[key].version:
                latest[key] = row
        flats: list[tuple[Any, ...]] = []
        terms: list[tuple[str, str, str, str]] = []
        replaced: list[tuple[str, str]] = []
        trains: set[str] = set()
        for (party, rid), row in latest.items():
            if (row.indexed_version or 0) >= row.version:
                continue
            try:
                body = orjson.loads(row.body)
                flat = _flat(row, body)
            except (TypeError, ValueError):
                continue  # a stored body always validated; nothing to index if it cannot parse
            if row.indexed_version is not None:
                replaced.append((party, rid))
                trains.add(row.old_train_key)
            trains.add(flat["train_key"])
            if self.planned is not None:
                flat["planned_crossing_at"] = self.planned(flat["planned_crossing_at"])
            flats.append(tuple(flat[c] for c in _INDEX_COLS))
            terms.extend((v, k, party, rid) for k, v in sorted(_terms(body)))
        if not flats:
            return
        if replaced:
            for table in ("record_index", "search_terms"):
                self._delete(table, replaced)
        self._insert("record_index", _INDEX_COLS, flats)
        if terms:
            self._insert("search_terms", _TERM_COLS, terms)
        self._summarise(sorted(trains))

    def _summarise(self, keys: Sequence[str]) -> None:
        """Recomputes the summary rows of these trains from the index (a train's rows are
        few; a record moved to another train changes both)."""
        ri = record_index.c
        for i in range(0, len(keys), _KEY_CHUNK):
            part = list(keys[i : i + _KEY_CHUNK])
            self.conn.execute(delete(train_summary).where(train_summary.c.train_key.in_(part)))
            agg = (
                select(
                    *(ri[c] for c in _GROUP),
                    func.min(ri.planned_crossing_at),
                    func.max(ri.planned_crossing_at),
                    func.count(),
                    func.sum(ri.containers),
                    func.sum(ri.wagons),
                )
                .where(ri.train_key.in_(part))
                .group_by(*(ri[c] for c in _GROUP))
            )
            self.conn.execute(
                insert(train_summary).from_select(
                    [
                        *_GROUP,
                        "first_planned",
                        "last_planned",
                        "records",
                        "containers",
                        "wagons",
                    ],
                    agg,
                )
            )


# A train's records share the planned day in their own offset (the day is in its key), so
# their planned crossings lie within 24 h plus two offsets (< 3 days) of each other.
_TRAIN_SPAN = timedelta(days=3)

_SUMMARY = (
    train_summary.c.train_key,
    train_summary.c.origin_party,
    train_summary.c.train_number,
    train_summary.c.crossing_point,
    train_summary.c.first_planned,
    train_summary.c.records,
    train_summary.c.containers,
    train_summary.c.wagons,
)


def _summary(r: Any) -> TrainSummary:
    return TrainSummary(
        train_key=r.train_key,
        origin_party=r.origin_party,
        train_number=r.train_number,
        crossing_point=r.crossing_point,
        planned_crossing_at=r.first_planned,
        records=int(r.records),
        containers=int(r.containers or 0),
        wagons=int(r.wagons or 0),
    )


def _group_of(t: TrainSummary) -> tuple[str, str, str, str]:
    return (t.train_key, t.origin_party, t.train_number, t.crossing_point)


def _order(t: TrainSummary) -> tuple[datetime, str, str]:
    return (t.planned_crossing_at, t.train_key, t.crossing_point)


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
                # The batch with what the index holds of each record now: one read, by the
                # primary keys, instead of a look-up per chunk of keys.
                ri = record_index.c
                rows = conn.execute(
                    select(
                        records.c.id,
                        records.c.origin_party,
                        records.c.record_id,
                        records.c.version,
                        records.c.direction,
                        records.c.body,
                        ri.version.label("indexed_version"),
                        *(ri[c].label(f"old_{c}") for c in _GROUP),
                    )
                    .select_from(
                        records.outerjoin(
                            record_index,
                            and_(
                                ri.origin_party == records.c.origin_party,
                                ri.record_id == records.c.record_id,
                            ),
                        )
                    )
                    .where(records.c.id > last)
                    .order_by(records.c.id)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    return 0
                _Writer(conn).index(rows)
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

    # -- reading --------------------------------------------------------------------------

    def trains(
        self,
        *,
        direction: str = "in",
        crossing_point: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[TrainSummary]:
        """Trains by planned crossing time (earliest first), from ``since`` on: a train counts
        its records planned from ``since`` on and is placed by the earliest of them.

        Read from ``train_summary`` (one row per train and crossing point, kept by the
        catch-up), so the cost follows the page and not the table; only a train with records
        on both sides of ``since`` is counted again from the index."""
        ts = train_summary.c
        base = [ts.direction == direction]
        if crossing_point is not None:
            base.append(ts.crossing_point == crossing_point)
        lines: dict[tuple[str, str, str, str], TrainSummary] = {}
        with translated("list trains"), self.engine.connect() as conn:
            if since is not None:
                straddling = select(ts.train_key).where(
                    *base,
                    ts.first_planned >= since - _TRAIN_SPAN,
                    ts.first_planned < since,
                    ts.last_planned >= since,
                )
                keys = builtins.list(conn.execute(straddling).scalars())
                for line in self._recount(conn, keys, direction, crossing_point, since):
                    lines[_group_of(line)] = line
                base.append(ts.first_planned >= since)
            scan = select(*_SUMMARY).where(*base).order_by(ts.first_planned, ts.train_key)
            rows = limit  # one row per train as a rule; more when a train has two points
            while True:
                found = [_summary(r) for r in conn.execute(scan.limit(rows)).all()]
                for line in found:
                    lines.setdefault(_group_of(line), line)
                ordered = sorted(lines.values(), key=_order)
                wanted = set(builtins.list(dict.fromkeys(t.train_key for t in ordered))[:limit])
                if len(wanted) >= limit or len(found) < rows:
                    break
                rows *= 4
            if len(found) >= rows and wanted:
                # The scan was cut: a wanted train's other crossing points may lie beyond.
                # By key alone, so that the primary key serves it (SQLite would otherwise
                # take the planned-time index and read half the table); filtered here.
                more = select(*_SUMMARY, ts.direction).where(ts.train_key.in_(sorted(wanted)))
                for r in conn.execute(more):
                    line = _summary(r)
                    if (
                        r.direction == direction
                        and crossing_point in (None, line.crossing_point)
                        and (since is None or line.planned_crossing_at >= since)
                    ):
                        lines.setdefault(_group_of(line), line)
        out = sorted((t for t in lines.values() if t.train_key in wanted), key=_order)
        return out[:limit]

    @staticmethod
    def _recount(
        conn: Connection,
        keys: Sequence[str],
        direction: str,
        crossing_point: str | None,
        since: datetime,
    ) -> builtins.list[TrainSummary]:
        """These trains counted from the index, records planned from ``since`` on."""
        ri = record_index.c
        out: builtins.list[TrainSummary] = []
        for i in range(0, len(keys), _KEY_CHUNK):
            stmt = (
                select(
                    ri.train_key,
                    ri.origin_party,
                    ri.train_number,
                    ri.crossing_point,
                    func.min(ri.planned_crossing_at).label("first_planned"),
                    func.count().label("records"),
                    func.sum(ri.containers).label("containers"),
                    func.sum(ri.wagons).label("wagons"),
                )
                .where(
                    ri.direction == direction,
                    ri.train_key.in_(builtins.list(keys[i : i + _KEY_CHUNK])),
                    ri.planned_crossing_at >= since,
                )
                .group_by(ri.train_key, ri.origin_party, ri.train_number, ri.crossing_point)
            )
            if crossing_point is not None:
                stmt = stmt.where(ri.crossing_point == crossing_point)
            out.extend(_summary(r) for r in conn.execute(stmt))
        return out

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
        not every record of every train).

        A join per source rather than an EXISTS per index row: the planner may start from
        the reads and results (few) instead of probing for each of the trains' records."""
        ri = record_index.c
        sources = (
            (lock_reads, lock_reads.c.sender_party, lock_reads.c.record_id),
            (control_results, control_results.c.origin_party, control_results.c.record_id),
        )
        out: dict[str, builtins.list[IndexedRecord]] = {k: [] for k in keys}
        seen: set[tuple[str, str]] = set()
        with translated("read trains"), self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                part = builtins.list(keys[i : i + 500])
                for table, party, rid in sources:
                    stmt = (
                        select(*_INDEXED)
                        .select_from(
                            record_index.join(
                                table, and_(party == ri.origin_party, rid == ri.record_id)
                            )
                        )
                        .where(ri.train_key.in_(part))
                        .distinct()
                    )
                    for r in conn.execute(stmt).all():
                        if (r.origin_party, r.record_id) not in seen:
                            seen.add((r.origin_party, r.record_id))
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

"""What the arrival pages show, assembled from store methods (no SQL here): trains per
crossing point with their status, a train's wagons -> containers -> goods, a container, and
a record's history (versions, messages and their answers, lock reads, reconciliation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ctop_node.control.arrival import ControlOutcomes, Status, record_status, train_status
from ctop_node.control.discrepancies import DEFAULT_MASS_TOLERANCE, Found, discrepancies
from ctop_node.lock.reconcile import Reconciliation, reconcile
from ctop_node.model.reference import CROSSING_POINTS
from ctop_node.store import SqlStore
from ctop_node.store.arrival import ArrivalQueries, IndexedRecord, SearchHit, TrainSummary
from ctop_node.store.control import ControlRow, ControlStore
from ctop_node.store.interfaces import InboxRow, RecordRow
from ctop_node.store.lockreads import LockRead
from ctop_node.store.timeline import TimelineEvent, departure_events


@dataclass(frozen=True, slots=True)
class TrainLine:
    summary: TrainSummary
    status: Status

    @property
    def origin_party(self) -> str:
        return self.summary.origin_party


@dataclass(frozen=True, slots=True)
class CrossingGroup:
    code: str
    names: tuple[str, ...]
    trains: list[TrainLine]


@dataclass
class ContainerView:
    number: str
    origin_party: str
    record_id: str
    wagon_number: str
    size_type: str
    gross_mass_kg: str
    seals: list[str]
    smart_lock_id: str | None
    goods: list[dict[str, Any]] = field(default_factory=list)
    train_key: str = ""
    train_number: str = ""
    status: Status = Status.ANNOUNCED
    discrepancies: list[Found] = field(default_factory=list)


@dataclass
class WagonView:
    number: str
    containers: list[ContainerView] = field(default_factory=list)


@dataclass
class RecordLine:
    record: IndexedRecord
    status: Status
    verdict: str | None


@dataclass
class TrainPage:
    key: str
    origin_party: str
    number: str
    crossing_point: str
    planned_crossing_at: datetime
    status: Status
    records: list[RecordLine]
    wagons: list[WagonView]


@dataclass
class RecordPage:
    record: RecordRow
    indexed: IndexedRecord | None
    status: Status
    versions: list[RecordRow]
    messages: list[InboxRow]
    lock_reads: list[LockRead]
    reconciliations: dict[int, Reconciliation]
    controls: list[ControlRow] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)  # our records only
    discrepancies: list[Found] = field(default_factory=list)


def _containers(body: dict[str, Any], origin: str, rid: str, status: Status) -> list[ContainerView]:
    out = []
    for c in body.get("containers") or ():
        out.append(
            ContainerView(
                number=str(c.get("number", "")),
                origin_party=origin,
                record_id=rid,
                wagon_number=str(c.get("wagon_number", "")),
                size_type=str(c.get("size_type", "")),
                gross_mass_kg=str(c.get("gross_mass_kg", "")),
                seals=[str(s) for s in c.get("seals") or ()],
                smart_lock_id=c.get("smart_lock_id"),
                goods=[
                    g for g in body.get("goods") or () if g.get("container_number") == c["number"]
                ],
                status=status,
            )
        )
    return out


class ArrivalViews:
    def __init__(self, store: SqlStore, tolerance: Decimal = DEFAULT_MASS_TOLERANCE) -> None:
        self.store = store
        self.index = ArrivalQueries(store.engine)
        self.controls = ControlStore(store.engine)
        self.tolerance = tolerance

    def discrepancies(
        self,
        origin: str,
        rid: str,
        body: dict[str, Any],
        verdict: str | None,
        reads: Sequence[LockRead] | None = None,
        controls: Sequence[ControlRow] | None = None,
    ) -> list[Found]:
        """The computed discrepancies of one record (``control.discrepancies``)."""
        if reads is None:
            reads = self.store.lock_reads.for_record(rid, sender=origin)
        if controls is None:
            controls = self.controls.for_record(origin, rid)
        return discrepancies(
            body,
            verdict=verdict,
            reads=reads,
            results=[c.result for c in controls],
            cancelled_at=self.controls.cancelled_at(origin, rid),
            tolerance=self.tolerance,
        )

    def record_discrepancies(self, origin: str, rid: str) -> list[Found] | None:
        row = self.store.get_record(rid, origin_party=origin)
        if row is None:
            return None
        found = reconcile(self.store, [(origin, rid, row.version)])
        verdict = found.get((origin, rid, row.version))
        return self.discrepancies(origin, rid, row.body, verdict.verdict.value if verdict else None)

    def _verdicts(self, recs: Sequence[IndexedRecord]) -> dict[tuple[str, str], str]:
        keys = [(r.origin_party, r.record_id, r.version) for r in recs]
        found = reconcile(self.store, keys) if keys else {}
        return {(k[0], k[1]): v.verdict.value for k, v in found.items()}

    def _lines(self, recs: Sequence[IndexedRecord], control: ControlOutcomes) -> list[RecordLine]:
        verdicts = self._verdicts(recs)
        lines = []
        for r in recs:
            verdict = verdicts.get((r.origin_party, r.record_id))
            status = record_status(verdict, control.outcome(r.origin_party, r.record_id))
            lines.append(RecordLine(r, status, verdict))
        return lines

    def trains_by_crossing(self, since: datetime, control: ControlOutcomes) -> list[CrossingGroup]:
        self.index.refresh()
        summaries = self.index.trains(direction="in", since=since)
        # Only records with a lock read or a control result can be other than announced:
        # one reconciliation for those of the whole page, not one read of every record.
        flagged = self.index.flagged_of_trains([s.train_key for s in summaries])
        lines = self._lines([r for recs in flagged.values() for r in recs], control)
        status_of = {(x.record.origin_party, x.record.record_id): x.status for x in lines}
        groups: dict[str, list[TrainLine]] = {code: [] for code in CROSSING_POINTS}
        for s in summaries:
            special = [status_of[(r.origin_party, r.record_id)] for r in flagged[s.train_key]]
            plain = [Status.ANNOUNCED] * max(0, s.records - len(special))
            status = train_status(special + plain)
            groups.setdefault(s.crossing_point, []).append(TrainLine(s, status))
        return [
            CrossingGroup(
                code,
                CROSSING_POINTS[code].names if code in CROSSING_POINTS else (code,),
                trains,
            )
            for code, trains in groups.items()
        ]

    def search(self, q: str) -> list[SearchHit]:
        self.index.refresh()
        return self.index.search(q)

    def train(self, key: str, control: ControlOutcomes) -> TrainPage | None:
        self.index.refresh()
        recs = self.index.train_records(key)
        if not recs:
            return None
        lines = self._lines(recs, control)
        wagons: dict[str, WagonView] = {}
        rows = self.store.latest_records([(r.origin_party, r.record_id) for r in recs])
        for line in lines:
            r = line.record
            row = rows.get((r.origin_party, r.record_id))
            if row is None:
                continue
            for w in row.body.get("wagons") or ():
                wagons.setdefault(str(w.get("number", "")), WagonView(str(w.get("number", ""))))
            for c in _containers(row.body, r.origin_party, r.record_id, line.status):
                wagons.setdefault(c.wagon_number, WagonView(c.wagon_number)).containers.append(c)
        first = recs[0]
        return TrainPage(
            key=key,
            origin_party=first.origin_party,
            number=first.train_number,
            crossing_point=first.crossing_point,
            planned_crossing_at=min(r.planned_crossing_at for r in recs),
            status=train_status(line.status for line in lines),
            records=lines,
            wagons=list(wagons.values()),
        )

    def container(self, number: str) -> list[ContainerView]:
        """The container in the latest version of every record that declares it."""
        self.index.refresh()
        wanted = number.strip().upper()
        out: list[ContainerView] = []
        for hit in self.index.search(wanted):
            if hit.kind != "container" or hit.value != wanted:
                continue
            r = hit.record
            row = self.store.get_record(r.record_id, origin_party=r.origin_party)
            if row is None:
                continue
            for c in _containers(row.body, r.origin_party, r.record_id, Status.ANNOUNCED):
                if c.number.upper() == wanted:
                    c.train_key, c.train_number = r.train_key, r.train_number
                    c.discrepancies = [
                        f
                        for f in self.record_discrepancies(r.origin_party, r.record_id) or []
                        if f.container in (None, c.number)
                    ]
                    out.append(c)
        return out

    def record(self, origin: str, rid: str, control: ControlOutcomes) -> RecordPage | None:
        self.index.refresh()
        versions = self.store.versions(rid, origin_party=origin)
        if not versions:
            return None
        latest = versions[-1]
        keys = [(origin, rid, v.version) for v in versions]
        recs = reconcile(self.store, keys)
        verdict = recs.get((origin, rid, latest.version))
        controls = self.controls.for_record(origin, rid)
        reads = self.store.lock_reads.for_record(rid, sender=origin)
        return RecordPage(
            record=latest,
            indexed=self.index.record(origin, rid),
            status=record_status(
                verdict.verdict.value if verdict else None, control.outcome(origin, rid)
            ),
            versions=versions,
            messages=self.store.inbox.list(sender=origin, record_id=rid),
            lock_reads=reads,
            reconciliations={k[2]: v for k, v in recs.items()},
            controls=controls,
            discrepancies=self.discrepancies(
                origin,
                rid,
                latest.body,
                verdict.verdict.value if verdict else None,
                reads,
                controls,
            ),
            timeline=(
                departure_events(self.store.engine, origin, rid)
                if latest.direction == "out"
                else []
            ),
        )

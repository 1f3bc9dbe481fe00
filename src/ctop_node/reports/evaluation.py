"""The working-group evaluation of Art.5, from one Party's own database.

Aggregates only: counts, histograms and the figures derived from them; never record
content. Each Party runs it on its own node; the peer's side comes in only through the
peer's signed manifest (``reports.manifest``), never through its database.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ctop_node.store import Period, SqlStore

# The share of our records that may go by lock because the online channel failed before the
# working group looks into it (customs fallback procedures watch the same share).
DEFAULT_LOCK_SHARE_THRESHOLD = 0.05

# The outbox keeps one time per settled entry (the answer's), so "sent" and "receipt" are
# the same instant for a delivered entry: clearance -> receipt is the exchange time.
INTERVALS = (
    "clearance_to_receipt",
    "receipt_to_planned_crossing",
    "queued_to_lock_written",
    "stored_to_planned_crossing",
)


def period_of(start: date, end: date) -> Period:
    """Whole UTC days ``start`` .. ``end`` inclusive."""
    return Period(
        datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)
    )


@dataclass
class Table:
    """One table of the report: what the CSV files and the HTML tables are made of."""

    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


def quantile(hist: list[tuple[int, int]], q: float) -> int | None:
    """The ``q`` quantile (nearest rank) of a histogram ``[(value, count)]`` sorted by value."""
    total = sum(n for _b, n in hist)
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value, n in hist:
        seen += n
        if seen >= rank:
            return value
    return hist[-1][0]


def _distribution(hist: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "count": sum(n for _b, n in hist),
        "median_s": quantile(hist, 0.5),
        "p90_s": quantile(hist, 0.9),
        "p99_s": quantile(hist, 0.99),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _outbox_outcome(state: str, code: str | None) -> str:
    return f"rejected_by_peer:{code or '?'}" if state == "rejected" else state


def _inbound_outcome(r: Any) -> str:
    return "rejected_by_us" if r.answer_type == "REJECTION" else str(r.state)


def _outage_windows(
    retried: Any, now: datetime
) -> tuple[list[list[Any]], int, int]:  # windows, entries retried, retries
    windows: list[list[Any]] = []
    entries = retries = 0
    for queued, settled, attempts in retried:
        entries += 1
        retries += attempts - 1
        end = settled or now
        if windows and queued <= windows[-1][1]:
            last = windows[-1]
            last[1] = max(last[1], end)
            last[2] += 1
        else:
            windows.append([queued, end, 1])
    return windows, entries, retries


def build_report(
    store: SqlStore,
    party: str,
    start: date,
    end: date,
    *,
    lock_share_threshold: float = DEFAULT_LOCK_SHARE_THRESHOLD,
    now: datetime | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """The report as plain data (the JSON form; HTML and CSV are drawn from it).

    The queries are independent: ``workers`` connections run them side by side (both
    databases execute a query without holding the GIL)."""
    now = now or datetime.now(UTC)
    p = period_of(start, end)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return _build(store, party, start, end, p, lock_share_threshold, now, pool)


def _lock_kinds(readings: Iterable[tuple[bool, bool, list[dict[str, Any]]]]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for declared, tampered, findings in readings:
        kinds["_readings"] += 1
        kinds.update({str(f.get("code", "?")) for f in findings})
        if tampered:
            kinds["lock.tampered_reading"] += 1
        if not declared:
            kinds["lock.not_declared"] += 1
    return kinds


def _error_kinds(lists: Iterable[list[dict[str, Any]]]) -> Counter[tuple[str, str, str]]:
    found: Counter[tuple[str, str, str]] = Counter()
    for errors in lists:
        for e in errors or [{"code": "?", "field": ""}]:
            found[("received", str(e.get("code", "?")), str(e.get("field") or ""))] += 1
    return found


def _build(
    store: SqlStore,
    party: str,
    start: date,
    end: date,
    p: Period,
    lock_share_threshold: float,
    now: datetime,
    pool: ThreadPoolExecutor,
) -> dict[str, Any]:
    # Longest first, so the last to finish is a short one.
    durations = {n: pool.submit(store.report_durations, p, [n]) for n in INTERVALS}
    f_inbound = pool.submit(store.report_inbound, p)
    f_outbound = pool.submit(store.report_outbound, p)
    f_outbox = pool.submit(store.report_outbox, p)
    f_received = pool.submit(store.report_received_records, p)
    f_versions = pool.submit(store.report_versions_per_record, p)
    f_lock = pool.submit(store.report_lock_channel, p, party)
    f_ingest = pool.submit(store.report_ingest, p)
    f_retried = pool.submit(_outage_windows, store.report_retried(p), now)
    f_errors = pool.submit(_error_kinds, store.report_inbound_errors(p))
    f_reads = pool.submit(_lock_kinds, store.report_lock_reads(p))
    f_written = pool.submit(store.report_lock_written, p)
    tables: dict[str, Table] = {}
    totals: Counter[str] = Counter()
    to_send = 0

    # volumes: our records, the fate of their outbox entries, the channels they took
    vol_out = Table(
        ["day", "crossing_point", "tc_version", "outcome", "carrier_channel", "records"]
    )
    r: Any  # the loops below read rows of several shapes
    for r in f_outbound.result():
        outcome = f"{r.outcome}:{r.reason}" if r.outcome != "to_send" and r.reason else r.outcome
        vol_out.rows.append([r.day, r.crossing or "", r.tc_version, outcome, r.wish, r.n])
        if r.outcome == "to_send":
            to_send += r.n
        else:
            totals[str(r.outcome)] += r.n
    tables["volumes_sent"] = vol_out

    vol_box = Table(["day", "peer", "outcome", "entries", "attempts"])
    online = 0
    for r in f_outbox.result():
        outcome = _outbox_outcome(r.state, r.answer_code)
        vol_box.rows.append([r.day, r.peer_party, outcome, r.n, int(r.attempts or 0)])
        totals["sent"] += r.n
        totals[{"rejected": "rejected_by_peer"}.get(r.state, r.state)] += r.n
        if r.state in ("delivered", "rejected"):
            online += r.n
    tables["outbox_outcomes"] = vol_box

    lock_why: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    for r in f_lock.result():
        by_channel[r.channel] += r.n
        lock_why["carrier_wish" if r.wish in ("lock", "both") else "online_outage"] += r.n
    by_channel["online"] = online - by_channel["both"]
    by_channel["none"] = max(0, totals["sent"] - online - by_channel["lock"])
    channels = Table(["channel", "entries"])
    for ch in ("online", "lock", "both", "none"):
        channels.rows.append([ch, by_channel[ch]])
    tables["channels"] = channels

    vol_ingest = Table(["day", "outcome", "reason", "records"])
    for r in f_ingest.result():
        vol_ingest.rows.append([r.day, r.outcome, r.reason, r.n])
        totals["refused" if r.outcome == "refused" else "rejected_at_ingest"] += r.n
    tables["volumes_refused"] = vol_ingest

    # volumes: what we received
    vol_in = Table(["day", "sender", "tc_version", "type", "channel", "outcome", "messages"])
    by_type: Counter[str] = Counter()
    mismatches = 0
    for r in f_inbound.result():
        outcome = _inbound_outcome(r)
        vol_in.rows.append([r.day, r.sender_party, r.tc_version, r.type, r.channel, outcome, r.n])
        by_type[str(r.type)] += r.n
        if r.answer_type == "RECEIPT":
            totals["received"] += r.n
            totals[f"received_{r.channel}"] += r.n
        else:
            totals["rejected_by_us"] += r.n
        if r.state == "mismatch":
            mismatches += r.n
    tables["volumes_received"] = vol_in
    stored_in = Table(["day", "sender", "crossing_point", "tc_version", "records"])
    for r in f_received.result():
        stored_in.rows.append([r.day, r.origin_party, r.crossing or "", r.tc_version, r.n])
    tables["records_received"] = stored_in

    # timeliness
    hists = {n: f.result()[n] for n, f in durations.items()}
    timeliness = Table(["interval", "count", "median_s", "p90_s", "p99_s"])
    dists: dict[str, Any] = {}
    for name in INTERVALS:
        d = dists[name] = _distribution(hists.get(name, []))
        timeliness.rows.append([name, d["count"], d["median_s"], d["p90_s"], d["p99_s"]])
    tables["timeliness"] = timeliness
    ahead_out = sum(n for b, n in hists.get("receipt_to_planned_crossing", []) if b > 0)
    ahead_in = sum(n for b, n in hists.get("stored_to_planned_crossing", []) if b > 0)
    before_crossing = {
        "sent_acknowledged_before_crossing": ahead_out,
        "sent_acknowledged": dists["receipt_to_planned_crossing"]["count"],
        "share_sent": _share(ahead_out, dists["receipt_to_planned_crossing"]["count"]),
        "received_before_crossing": ahead_in,
        "received": dists["stored_to_planned_crossing"]["count"],
        "share_received": _share(ahead_in, dists["stored_to_planned_crossing"]["count"]),
    }

    # reliability
    windows, retried, retries = f_retried.result()
    outages = Table(["start", "end", "seconds", "entries"])
    for w_start, w_end, n in windows:
        seconds = round((w_end - w_start).total_seconds(), 3)
        outages.rows.append([w_start.isoformat(), w_end.isoformat(), seconds, n])
    tables["outages"] = outages
    lock_total = sum(lock_why.values())
    lock_table = Table(["reason", "records", "share"])
    for why in ("carrier_wish", "online_outage"):
        lock_table.rows.append([why, lock_why[why], _share(lock_why[why], to_send)])
    tables["lock_share"] = lock_table
    fallback_share = _share(lock_why["online_outage"], to_send)
    reliability = {
        "outage_windows": len(windows),
        "outage_seconds": round(sum(row[2] for row in outages.rows), 3),
        "entries_retried": retried,
        "retries": retries,
        "records_to_send": to_send,
        "by_lock": lock_total,
        "by_lock_share": _share(lock_total, to_send),
        "by_lock_carrier_wish": lock_why["carrier_wish"],
        "by_lock_online_outage": lock_why["online_outage"],
        "fallback_share": fallback_share,
        "fallback_threshold": lock_share_threshold,
        "fallback_over_threshold": bool(fallback_share and fallback_share > lock_share_threshold),
        "time_in_backlog": dists["clearance_to_receipt"],
    }
    totals["lock_written"] = f_written.result()

    # quality
    rejections: Counter[tuple[str, str, str]] = Counter()
    for r in vol_box.rows:
        if str(r[2]).startswith("rejected_by_peer:"):
            rejections[("sent", r[2].split(":", 1)[1], "")] += r[3]
    rejections.update(f_errors.result())
    rej_table = Table(["direction", "code", "field", "count"])
    for (direction, code, fld), n in sorted(rejections.items()):
        rej_table.rows.append([direction, code, fld, n])
    tables["rejections"] = rej_table

    versions = Table(["direction", "versions", "records"])
    for direction, n_versions, n in f_versions.result():
        versions.rows.append([direction, int(n_versions), int(n)])
    tables["versions_per_record"] = versions

    kinds = f_reads.result()
    reads = kinds.pop("_readings", 0)
    if mismatches:
        kinds["inbox.digest_mismatch"] = mismatches
    totals["lock_read"] = reads
    disc = Table(["kind", "count"])
    for kind, n in sorted(kinds.items()):
        disc.rows.append([kind, n])
    tables["discrepancies"] = disc
    control = Table(["message_type", "received"])
    for kind, n in sorted(by_type.items()):
        control.rows.append([kind, n])
    tables["received_by_type"] = control
    totals["cancellations_received"] = by_type.get("CANCELLATION", 0)
    totals["control_results_received"] = by_type.get("CONTROL_RESULT", 0)

    for key in ("sent", "delivered", "rejected_by_peer", "pending", "dead", "received"):
        totals.setdefault(key, 0)
    return {
        "party": party,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "generated_at": now.isoformat(),
        "totals": dict(sorted(totals.items())),
        "timeliness": dists | {"before_planned_crossing": before_crossing},
        "reliability": reliability,
        "tables": {name: t.as_dict() for name, t in tables.items()},
        "histograms": {name: hists.get(name, []) for name in INTERVALS},
    }

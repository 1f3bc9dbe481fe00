"""The working-group report (Art.5) as a UI page (``/ui/report``) for the roles that may read
statistics (analyst, supervisor): the same report as ``ctop-node report`` for a period,
aggregates only (never a record, a record id or any value of one), its charts and, when the
peer sent its signed manifest for exactly these days, the reconciliation as counts by kind.

The charts are SVG drawn by matplotlib and shown as ``data:`` images: the page's CSP lets
images come from the node or the page itself, never from elsewhere, and no script runs.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ctop_node.access.sessions import Session
from ctop_node.crypto.interfaces import TrustStore
from ctop_node.errors import CtopError
from ctop_node.reports.evaluation import DEFAULT_LOCK_SHARE_THRESHOLD, build_report
from ctop_node.reports.manifest import reconciliation_summary
from ctop_node.store import SqlStore

DEFAULT_DAYS = 7
MAX_DAYS = 366
# pyplot keeps global state: one report's charts at a time.
_CHARTS = threading.Lock()


@dataclass
class ReportPage:
    start: date
    end: date
    totals: dict[str, Any]
    charts: list[str]  # data: URIs of SVG images
    tables: list[tuple[str, dict[str, Any]]]  # (title, {"columns", "rows"})
    fallback_share: float
    fallback_threshold: float
    reconciliation: dict[str, Any] | None
    reconciliation_error: str = ""


class ReportViews:
    def __init__(
        self,
        store: SqlStore,
        party: str,
        clock: Callable[[], datetime],
        *,
        threshold: float = DEFAULT_LOCK_SHARE_THRESHOLD,
        trust: Callable[[], TrustStore] | None = None,
    ) -> None:
        self.store = store
        self.party = party
        self.clock = clock
        self.threshold = threshold
        self.trust = trust  # the node's trust store, to check a received peer manifest

    def period(self, start: str, end: str) -> tuple[date, date]:
        """The days asked for; a missing or malformed day falls back to the last week."""
        today = self.clock().date()
        last = _day(end) or today
        first = _day(start) or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            first, last = last, first
        return max(first, last - timedelta(days=MAX_DAYS - 1)), last

    def page(self, start: date, end: date) -> ReportPage:
        # imported here: matplotlib only for the page that draws
        from ctop_node.reports.render import chart_svgs, table_titles

        report = build_report(
            self.store, self.party, start, end, lock_share_threshold=self.threshold
        )
        with _CHARTS:
            svgs = chart_svgs(report)
        titles = table_titles()
        rec, error = None, ""
        if self.trust is not None:
            try:
                rec = reconciliation_summary(self.store, self.party, start, end, self.trust())
            except CtopError as exc:
                error = exc.code
        rel = report["reliability"]
        return ReportPage(
            start=start,
            end=end,
            totals=report["totals"],
            charts=[_data_uri(s) for s in svgs],
            tables=[(titles.get(name, name), t) for name, t in report["tables"].items()],
            fallback_share=rel["fallback_share"],
            fallback_threshold=rel["fallback_threshold"],
            reconciliation=rec,
            reconciliation_error=error,
        )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def mount_report_ui(
    app: FastAPI,
    views: ReportViews,
    guarded: Callable[[Callable[[Request, Session], Response]], Callable[[Request], Response]],
    render: Callable[..., Response],
    csp: str,
) -> None:
    """``guarded`` admits the roles that may read statistics; ``csp`` is the page's policy."""

    def page(request: Request, session: Session) -> Response:
        start, end = views.period(
            request.query_params.get("from", ""), request.query_params.get("to", "")
        )
        response = render(
            request,
            "report.html",
            session=session,
            rep=views.page(start, end),
        )
        response.headers["Content-Security-Policy"] = csp
        return response

    app.add_api_route("/ui/report", guarded(page), methods=["GET"], include_in_schema=False)

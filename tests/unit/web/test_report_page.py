"""The evaluation report as a UI page (/ui/report): analysts and supervisors read it, an
arrival officer is refused by the one access check; it shows aggregates and charts, in the
reader's language, and no value of any record."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.web._ui import UiNode

pytestmark = pytest.mark.anyio

CHART = re.compile(r'<img class="chart" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def _period() -> dict[str, str]:
    # the record was stored at the machine's time, the UI's clock is another day
    return {"from": "2026-11-01", "to": datetime.now(UTC).date().isoformat()}


# What the report aggregates by: reference data (code lists), not the record's content.
DIMENSIONS = frozenset({"crossing_point", "channel"})


def _values(data: Any) -> set[str]:
    """Every text and number of a record, long enough to be telling."""
    if isinstance(data, dict):
        return set().union(*(_values(v) for k, v in data.items() if k not in DIMENSIONS))
    if isinstance(data, list):
        return set().union(*(_values(v) for v in data)) if data else set()
    text = str(data)
    return {text} if len(text) >= 6 else set()


async def test_an_analyst_reads_the_report_with_its_charts_and_no_record_value(
    node: UiNode, record_dict: dict[str, Any]
) -> None:
    await node.login("ann")
    home = await node.client.get("/ui/")  # records are denied, the report is offered
    assert home.status_code == 403 and 'id="nav-report"' in home.text
    r = await node.client.get("/ui/report", params=_period())
    assert r.status_code == 200, r.text
    assert "img-src 'self' data:" in r.headers["content-security-policy"]
    assert "script" not in r.headers["content-security-policy"]
    assert 'id="totals"' in r.text and 'id="reconciliation"' in r.text
    charts = [base64.b64decode(c).decode("utf-8") for c in CHART.findall(r.text)]
    assert len(charts) >= 4 and all(c.startswith("<svg") for c in charts)
    assert "records_received" in r.text or "record versions stored" in r.text.lower()
    leaked = [v for v in _values(record_dict) if v in r.text or any(v in c for c in charts)]
    assert leaked == []


async def test_the_page_follows_the_readers_language(node: UiNode) -> None:
    await node.login("ann")
    en = (await node.client.get("/ui/report", params=_period())).text
    ru = (await node.client.get("/ui/report", params={**_period(), "lang": "ru"})).text
    assert "<h1>Evaluation report CN</h1>" in en
    assert '<html lang="ru">' in ru and "Evaluation report" not in ru


async def test_a_supervisor_reads_it_an_arrival_officer_is_refused(node: UiNode) -> None:
    await node.login("sam")
    assert (await node.client.get("/ui/report")).status_code == 200
    assert 'id="nav-report"' in (await node.client.get("/ui/")).text
    await node.client.post("/logout", data={})
    node.client.cookies.clear()
    await node.login("olga")
    arrival = await node.client.get("/ui/")
    assert arrival.status_code == 200 and 'id="nav-report"' not in arrival.text
    refused = await node.client.get("/ui/report")
    assert refused.status_code == 403 and "evaluation report" in refused.text
    assert 'class="chart"' not in refused.text


async def test_without_a_session_the_page_asks_for_a_login(node: UiNode) -> None:
    r = await node.client.get("/ui/report")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fui%2Freport"


async def test_a_bad_period_falls_back_to_the_last_week(node: UiNode) -> None:
    await node.login("ann")
    r = await node.client.get("/ui/report", params={"from": "nonsense", "to": "2026-11-26"})
    assert r.status_code == 200
    assert 'value="2026-11-20"' in r.text and 'value="2026-11-26"' in r.text

"""CSV exports neutralise spreadsheet formulas in record data (=, +, -, @) and keep the rest."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from ctop_node.store import SqlStore
from ctop_node.web.csv_export import safe_cell, to_csv
from tests.unit.web._ui import UiNode, ui_node

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("KZ1234567", "KZ1234567"),
        ("a=b", "a=b"),
        (None, ""),
        (12.5, "12.5"),
    ],
)
def test_safe_cell(value: object, shown: str) -> None:
    assert safe_cell(value) == shown


def test_to_csv_quotes_and_neutralises() -> None:
    text = to_csv(["a", "b"], [["=1,2", 'say "hi"']])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["'=1,2", 'say "hi"']]


@pytest.fixture
def node(store: SqlStore, record_dict: dict[str, Any]) -> UiNode:
    record_dict["containers"][0]["seals"] = ["=cmd|' /C calc'!A0", "@SUM(1)"]
    record_dict["containers"][0]["smart_lock_id"] = "-LOCK+1"
    return ui_node(store, record_dict)


async def test_the_train_export_neutralises_record_fields(node: UiNode) -> None:
    auth = {"Authorization": f"Bearer {node.accounts.issue_token('olga')}"}
    trains = (await node.client.get("/api/v1/trains?days=3660", headers=auth)).json()["trains"]
    key = trains[0]["train_key"]
    r = await node.client.get(f"/api/v1/trains/{key}/containers.csv", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][0] == "container"
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["container"] == "CSQU3054383"
    assert row["smart_lock_id"] == "'-LOCK+1"
    assert row["seals"] == "'=cmd|' /C calc'!A0 @SUM(1)"
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in rows for cell in line)
    assert (await node.client.get(f"/api/v1/trains/{key}/containers.csv")).status_code == 401

"""CsvReader: one row per goods item, consecutive rows of one record_id make one record."""

from __future__ import annotations

import copy
import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ctop_node.ingest.csv_ import CsvReader, csv_columns, to_csv_rows, write_csv

from .conftest import read_all, validated

Write = Callable[[str, bytes], Path]


def big(record: dict[str, Any]) -> dict[str, Any]:
    """Two wagons, two containers, three goods items, a transit route, Cyrillic names."""
    rec = copy.deepcopy(record)
    rec["record_id"] = "KZ-BIG-1"
    rec["exporter"]["name"] = "ТОО «Казахское зерно»"
    rec["route"]["transit_countries"] = ["KG", "UZ"]
    rec["wagons"].append({"number": "52000528", "gauge": "1520"})
    second = dict(
        rec["containers"][0],
        number="MSKU0000006",
        wagon_number="52000528",
        seals=["A1", "B2"],
        smart_lock_id=None,
    )
    rec["containers"].append(second)
    rec["goods"].append(
        dict(rec["goods"][0], container_number="MSKU0000006", description="Пшеница мягкая")
    )
    rec["goods"].append(
        dict(
            rec["goods"][0],
            hs_code="100190",
            gross_mass_kg="10.000",
            net_mass_kg="9.500",
            package_type=None,
        )
    )
    return rec


def text(records: list[dict[str, Any]], delimiter: str = ",") -> str:
    out = io.StringIO()
    write_csv(records, out, delimiter)
    return out.getvalue()


def test_columns_and_rows(record_dict: dict[str, Any]) -> None:
    cols = csv_columns()
    for name in (
        "declaration.number",
        "train.departure_station.code",
        "route.transit_countries",
        "wagon.number",
        "wagon.gauge",
        "container.number",
        "container.size_type",
        "container.gross_mass_kg",
        "container.seals",
        "container.smart_lock_id",
        "item.hs_code",
        "item.description",
    ):
        assert name in cols
    rows = to_csv_rows(big(record_dict))
    assert len(rows) == 3
    assert rows[1]["container.seals"] == "A1;B2" and rows[1]["wagon.number"] == "52000528"
    assert rows[0]["route.transit_countries"] == "KG;UZ"


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("cp1251", ";"), ("cp1251", "\t"), ("utf-8", "\t")],
)
def test_round_trip(
    record_dict: dict[str, Any], write: Write, encoding: str, delimiter: str
) -> None:
    recs = [record_dict, big(record_dict), dict(copy.deepcopy(record_dict), record_id="KZ-3")]
    path = write("a.csv", text(recs, delimiter).encode(encoding))
    items = read_all(CsvReader(), path)
    assert [i.position for i in items] == ["row 2", "rows 3-5", "row 6"]
    assert [validated(i.data) for i in items] == [validated(r) for r in recs]
    assert items[1].data is not None
    assert items[1].data["exporter"]["name"] == "ТОО «Казахское зерно»"
    assert items[-1].offset == path.stat().st_size


def test_encoding_override(record_dict: dict[str, Any], write: Write) -> None:
    path = write("a.csv", text([big(record_dict)]).encode("cp1251"))
    (item,) = read_all(CsvReader(encoding="cp1251"), path)
    assert validated(item.data) == validated(big(record_dict))
    (wrong,) = read_all(CsvReader(encoding="latin-1"), path)
    assert wrong.data is not None and wrong.data["exporter"]["name"] != "ТОО «Казахское зерно»"


def test_empty_cells_are_absent(record_dict: dict[str, Any], write: Write) -> None:
    del record_dict["exporter"]["national_id"]
    (item,) = read_all(CsvReader(), write("a.csv", text([record_dict]).encode()))
    assert item.data is not None and "national_id" not in item.data["exporter"]
    assert "transit_countries" not in item.data["route"]


def _rows(records: list[dict[str, Any]]) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(records))))


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_inconsistent_record_column(record_dict: dict[str, Any], write: Write) -> None:
    rows = _rows([record_dict, big(record_dict), dict(record_dict, record_id="KZ-3")])
    col = rows[0].index("train.number")
    rows[4][col] = "9999"  # the third row of KZ-BIG-1 (file row 5)
    items = read_all(CsvReader(), write("a.csv", _csv(rows)))
    assert [i.position for i in items] == ["row 2", "rows 3-5", "row 6"]
    err = items[1].error
    assert err is not None and err.code == "input.csv.inconsistent"
    assert "rows 3 and 5" in str(err) and "train.number" in str(err)
    assert items[0].data is not None and items[2].data is not None


def test_blank_record_column_in_later_row_agrees(record_dict: dict[str, Any], write: Write) -> None:
    rows = _rows([big(record_dict)])
    rows[2][rows[0].index("train.number")] = ""
    (item,) = read_all(CsvReader(), write("a.csv", _csv(rows)))
    assert validated(item.data) == validated(big(record_dict))


def test_inconsistent_container(record_dict: dict[str, Any], write: Write) -> None:
    rec = big(record_dict)
    rows = _rows([rec])
    rows[3][rows[0].index("container.size_type")] = "22G1"  # row 4: container 1 again
    (item,) = read_all(CsvReader(), write("a.csv", _csv(rows)))
    assert item.error is not None and item.error.code == "input.csv.inconsistent"
    assert "container.size_type" in str(item.error) and "CSQU3054383" in str(item.error)


def test_bad_encoding_row_after_detection_window(record_dict: dict[str, Any], write: Write) -> None:
    recs = [dict(copy.deepcopy(record_dict), record_id=f"KZ-{i}") for i in range(300)]
    body = text(recs).encode()
    assert len(body) > 64 * 1024
    lines = body.split(b"\n")
    lines[279] = lines[279].replace(b"Wheat", b"Wh\xffat")  # row 280, outside the first 64 KiB
    items = read_all(CsvReader(), write("a.csv", b"\n".join(lines)))
    assert len(items) == 300
    bad = [i for i in items if i.error is not None]
    assert len(bad) == 1 and bad[0].position == "row 280"
    assert bad[0].error is not None and bad[0].error.code == "input.encoding"
    assert "line 280" in str(bad[0].error) and "file offset" in str(bad[0].error)


def test_extra_cells_and_too_long_line(record_dict: dict[str, Any], write: Write) -> None:
    rows = _rows([dict(record_dict, record_id=f"KZ-{i}") for i in range(4)])
    rows[2] = [*rows[2], "surprise"]
    body = _csv(rows).split(b"\n")
    body[3] = b"x" * 20_000  # row 4 is replaced by one line over the cap
    items = read_all(CsvReader(max_record_bytes=10_000), write("a.csv", b"\n".join(body)))
    codes = {i.position: i.error.code if i.error else None for i in items}
    assert codes == {
        "row 2": None,
        "row 3": "input.csv.columns",
        "row 4": "input.too_large",
        "row 5": None,
    }


def test_gzip_and_empty(record_dict: dict[str, Any], write: Write) -> None:
    (item,) = read_all(CsvReader(), write("a.csv.gz", gzip.compress(text([record_dict]).encode())))
    assert validated(item.data) == validated(record_dict)
    assert read_all(CsvReader(), write("e.csv", b"")) == []
    assert read_all(CsvReader(), write("h.csv", text([]).encode())) == []


def test_inconsistent_rows_of_a_secret_record_quote_no_value(
    record_dict: dict[str, Any], write: Write
) -> None:
    rec = big(record_dict)
    rec["flags"] = {"state_secret": True}
    rows = _rows([rec])
    col = rows[0].index("train.number")
    rows[3][col] = "SECRET-TRAIN-42"
    (item,) = read_all(CsvReader(), write("a.csv", _csv(rows)))
    assert item.error is not None and item.error.code == "input.csv.inconsistent"
    assert "SECRET-TRAIN" not in str(item.error) and rec["train"]["number"] not in str(item.error)
    assert "withheld" in str(item.error)


def test_a_private_key_read_as_csv_is_quoted_clipped(write: Write) -> None:
    """How the key leaked: the CSV reader quoted whole lines into its message."""
    lines = ["-----BEGIN PRIVATE KEY-----", "A" * 40 + "B" * 60, "C" * 100, "-----END-----"]
    (item,) = read_all(CsvReader(), write("k.csv", "\n".join(lines).encode()))
    assert item.error is not None and item.error.code == "input.csv.inconsistent"
    message = str(item.error)
    assert "A" * 40 + "B" * 24 in message and "B" * 25 not in message and "C" * 65 not in message

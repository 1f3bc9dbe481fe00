"""``ctop-node sample`` writes the generator's records to a file or standard output."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import orjson
import pytest
import typer
from typer.testing import CliRunner

from ctop_node.errors import UsageError
from ctop_node.sample import generate


def _load_sample_cli() -> ModuleType:
    """``ctop_node.cli.sample`` without running ``ctop_node/cli/__init__.py``, which imports every
    command module (some may not exist yet while the CLI is being assembled)."""
    import ctop_node

    path = Path(ctop_node.__file__).parent / "cli" / "sample.py"
    spec = importlib.util.spec_from_file_location("_ctop_cli_sample_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    _load_sample_cli().register(app)

    @app.callback()
    def _root() -> None:  # keeps "sample" a subcommand, as in ctop-node
        pass

    return app


def _expected(trains: int, seed: int, party: str | None = None) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in generate(trains, seed, party=party))


def test_writes_ndjson_file_with_summary(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "kz.ndjson"
    result = CliRunner().invoke(
        cli, ["sample", "--trains", "2", "--seed", "4", "--party", "KZ", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == _expected(2, 4, "KZ")
    lines = out.read_bytes().splitlines()
    assert "records of 2 trains written to" in result.stderr
    assert f"{len(lines)} records" in result.stderr


def test_json_array_holds_the_same_records(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    result = CliRunner().invoke(
        cli, ["sample", "--trains", "1", "--seed", "4", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text("utf-8"))
    assert records == [json.loads(line) for line in _expected(1, 4).splitlines()]


def test_zero_trains_give_an_empty_array(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "none.json"
    result = CliRunner().invoke(
        cli, ["sample", "--trains", "0", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text("utf-8")) == []


def test_stdout_carries_only_records(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["sample", "--trains", "1", "--seed", "8"])
    assert result.exit_code == 0, result.output
    assert result.stdout.encode() == _expected(1, 8)
    assert "standard output" in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_csv_and_xml_read_back_to_the_same_records(
    cli: typer.Typer, tmp_path: Path, fmt: str
) -> None:
    from ctop_node.ingest.csv_ import CsvReader
    from ctop_node.ingest.xml_ import XmlReader

    out = tmp_path / f"s.{fmt}"
    result = CliRunner().invoke(
        cli, ["sample", "--trains", "1", "--seed", "3", "--format", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    reader = CsvReader() if fmt == "csv" else XmlReader()
    items = list(reader.read(out))
    originals = [json.loads(line) for line in _expected(1, 3).splitlines()]
    assert [i.error for i in items if i.error] == []
    assert [i.data["record_id"] for i in items if i.data] == [r["record_id"] for r in originals]


def test_bad_start_is_refused(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["sample", "--trains", "1", "--start", "yesterday"])
    assert isinstance(result.exception, UsageError)
    assert "--start" in str(result.exception)

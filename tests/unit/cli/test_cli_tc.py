"""``ctop-node tc schema|xsd|doc|diff`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from lxml import etree
from typer.testing import CliRunner

from ctop_node.cli import tc as tc_cli
from ctop_node.errors import TcError
from ctop_node.ingest._shape import item_name
from ctop_node.tc.registry import DEFAULT_REGISTRY
from ctop_node.tc.xsd import render_xsd
from tests.unit.tc._toy_v2 import registry_v1_v2


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    tc_cli.register(app)
    return app


def test_schema_and_xsd_print_the_published_contract(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["tc", "schema", "--version", "1"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema == json.loads(json.dumps(DEFAULT_REGISTRY.get(1).json_schema()))
    assert {r["code"] for r in schema["x-ctop-rules"]} >= {"record.container.check_digit"}
    result = CliRunner().invoke(cli, ["tc", "xsd", "--version", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == render_xsd(DEFAULT_REGISTRY.get(1), item_name)
    etree.XMLSchema(etree.fromstring(result.stdout_bytes))  # a valid XSD


def test_doc_writes_the_document_with_the_schemas_it_names(
    cli: typer.Typer, tmp_path: Path
) -> None:
    out = tmp_path / "pub"
    result = CliRunner().invoke(
        cli, ["tc", "doc", "--version", "1", "--lang", "ru", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    files = {Path(p).name for p in json.loads(result.stdout)["files"]}
    assert files == {
        "ctop-tc-v1.ru.html",
        "ctop-tc-v1.ru.md",
        "ctop-tc-v1.schema.json",
        "ctop-tc-v1.xsd",
    }
    html = (out / "ctop-tc-v1.ru.html").read_text("utf-8")
    assert "ctop-tc-v1.schema.json" in html and "Регламент обмена" in html
    json.loads((out / "ctop-tc-v1.schema.json").read_text("utf-8"))


def test_doc_without_lang_writes_all_four(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["tc", "doc", "--out", str(tmp_path), "--html-only"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.html")) == [
        f"ctop-tc-v1.{lang}.html" for lang in ("en", "kk", "ru", "zh")
    ]
    assert not list(tmp_path.glob("*.md"))


def test_diff_between_side_by_side_versions(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tc_cli, "DEFAULT_REGISTRY", registry_v1_v2())
    result = CliRunner().invoke(cli, ["tc", "diff", "1", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["from"], data["to"]) == (1, 2)
    first = data["fields"][0]
    assert (first["change"], first["where"]) == ("added", "CONSIGNMENT customs_priority")
    assert [r["where"] for r in data["rules"]] == ["record.priority.lock"]
    monkeypatch.setenv("CTOP_LANG", "en")
    text = CliRunner().invoke(cli, ["tc", "diff", "1", "2"]).stdout
    assert "+ tc field CONSIGNMENT customs_priority" in text
    assert "~ tc field CANCELLATION reason  max_length: 512 -> 256" in text
    assert "+ tc rule record.priority.lock" in text


def test_diff_names_an_unknown_version(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["tc", "diff", "1", "9"])
    assert isinstance(result.exception, TcError)
    assert result.exception.code == "tc.unknown_version"

"""CLI help in the operator's language: the root's listing, a command's own help and
click's ``--help`` line, translated when shown; back in English when that is the language."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ctop_node.cli import app


@pytest.mark.parametrize(
    ("lang", "root", "line", "help_line"),
    [
        ("kk", "алдын ала ақпарат алмасу түйіні", "Сақталған жазбалар", "Осы анықтаманы"),
        ("zh", "预先信息交换节点", "已存储的记录及其版本", "显示此帮助并退出"),
        ("ru", "Узел обмена предварительной", "Сохранённые записи", "Показать эту справку"),
    ],
)
def test_root_help_in_each_language_then_english_again(
    monkeypatch: pytest.MonkeyPatch, lang: str, root: str, line: str, help_line: str
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("CTOP_LANG", lang)
    shown = runner.invoke(app, ["--help"])
    assert shown.exit_code == 0, shown.output
    assert root in shown.output and line in shown.output and help_line in shown.output
    own = runner.invoke(app, ["user", "--help"])
    assert own.exit_code == 0, own.output
    assert "user" in own.output and "Users of the officers' UI" not in own.output
    monkeypatch.setenv("CTOP_LANG", "en")
    again = runner.invoke(app, ["--help"])
    assert "CTOP pre-arrival information exchange node" in again.output
    assert "Stored records and their versions." in again.output
    assert "Show this message and exit." in again.output
    assert "Users of the officers' UI" in runner.invoke(app, ["user", "--help"]).output

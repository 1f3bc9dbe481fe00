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


def test_a_command_and_its_options_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("CTOP_LANG", "zh")
    shown = runner.invoke(app, ["user", "add", "--help"])
    assert shown.exit_code == 0, shown.output
    for text in ("添加具有角色和密码", "从标准输入读取密码", "节点目录", "机器可读的 JSON 输出"):
        assert text in shown.output, text
    monkeypatch.setenv("CTOP_LANG", "en")
    # The options table wraps its cells (the checked --role choices make the column narrow).
    words = runner.invoke(app, ["user", "add", "--help"]).output.replace("│", " ").split()
    assert "Read the password from standard input." in " ".join(words)

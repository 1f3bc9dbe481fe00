"""CLI help in the operator's language: the root's listing, a command's own help and
click's ``--help`` line, translated when shown; back in English when that is the language."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ctop_node import i18n
from ctop_node.cli import _help_msgids as _help_marks
from ctop_node.cli import app
from tests.unit.cli.test_cli_tree import TREE


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


# ---- every command's help, in every language -------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    """The msgids ``_lazy._tr`` looks up: paragraphs split on blank lines, whitespace joined;
    the ``\\b`` Examples block (command lines) is shown as written, never translated."""
    return [
        " ".join(para.split())
        for para in text.split("\n\n")
        if para.split() and not para.lstrip().startswith("\b")
    ]


def _help_msgids() -> dict[str, str]:
    """{msgid: the first command path it is shown by} over the whole command tree."""
    found: dict[str, str] = {}
    for path, cmd in TREE:
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        for text in texts:
            for msgid in _paragraphs(text):
                found.setdefault(msgid, path)
    return found


HELP_MSGIDS = _help_msgids()
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.mark.parametrize("lang", ["ru", "kk", "zh"])
def test_every_help_paragraph_and_option_help_is_translated(lang: str) -> None:
    assert len(HELP_MSGIDS) > 200
    said = i18n.translations(lang)
    bad = []
    for msgid, path in HELP_MSGIDS.items():
        text = said.gettext(msgid)
        if not text.strip() or text == msgid:
            bad.append(f"{path}: {msgid}")
        elif sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(msgid)):
            bad.append(f"{path}: placeholders differ: {msgid}")
    assert not bad, f"{len(bad)} untranslated in {lang}:\n" + "\n".join(bad)


def test_docstring_paragraphs_are_marked_for_extraction() -> None:
    """Docstrings cannot carry ``N_``: ``_help_msgids`` marks every help msgid, so that
    ``make i18n`` (pybabel extract + update) keeps them in the catalogues."""
    assert set(HELP_MSGIDS) <= set(_help_marks.MSGIDS), sorted(
        set(HELP_MSGIDS) - set(_help_marks.MSGIDS)
    )


@pytest.mark.parametrize(
    ("lang", "command", "translated"),
    [
        ("kk", ["records", "export", "--help"], "Жазбаларды файлға экспорттау."),
        ("zh", ["serve", "--help"], "对方端口地址"),
    ],
)
def test_examples_are_shown_as_written(
    monkeypatch: pytest.MonkeyPatch, lang: str, command: list[str], translated: str
) -> None:
    monkeypatch.setenv("CTOP_LANG", lang)
    shown = CliRunner().invoke(app, command).output
    monkeypatch.setenv("CTOP_LANG", "en")
    words = " ".join(shown.replace("│", " ").split())
    assert translated in words, shown
    assert "Examples:" in shown and "ctop-node " + command[0] in shown, shown

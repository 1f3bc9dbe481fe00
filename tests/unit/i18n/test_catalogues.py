"""Every user-facing message is translated into Russian, Kazakh and Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ctop_node import i18n

SRC = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"\{[a-z_]+(?:[:!][^{}]*)?\}|%\([a-z_]+\)[sd]")


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(SRC),
        method_map=[
            ("**.py", "python"),
            ("web/templates/**.html", "jinja2"),
            ("tc/templates/**", "jinja2"),
        ],
        options_map={
            "web/templates/**.html": {"extensions": "jinja2.ext.i18n"},
            "tc/templates/**": {"extensions": "jinja2.ext.i18n"},
        },
        keywords={"_": None, "N_": None, "ngettext": (1, 2)},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["ru", "kk", "zh"])
def test_every_message_is_translated(lang: str) -> None:
    po = SRC / "locales" / lang / "LC_MESSAGES" / "ctop.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    missing = []
    for msgid in sorted(_source_messages()):
        entry = catalog.get(msgid)
        string = entry.string if entry is not None else ""
        text = string if isinstance(string, str) else (string or ("",))[0]
        if not text:
            missing.append(msgid)
            continue
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(msgid)), (lang, msgid)
    assert not missing, f"{lang}: {len(missing)} untranslated: {missing[:5]}"


def test_language_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTOP_LANG", "ru")
    assert i18n._("Error: {message}") == "Ошибка: {message}"
    monkeypatch.setenv("CTOP_LANG", "zh")
    assert i18n._("Error: {message}") == "错误：{message}"
    monkeypatch.setenv("CTOP_LANG", "kk")
    assert i18n._("Error: {message}") == "Қате: {message}"
    monkeypatch.setenv("CTOP_LANG", "xx")
    monkeypatch.delenv("LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert i18n._("Error: {message}") == "Error: {message}"

"""The technical-conditions document: generated from the schema, complete, translated."""

from __future__ import annotations

import re
from typing import Any

import lxml.html
import pytest
from markupsafe import escape

from ctop_node.cli.tc import code_table
from ctop_node.errors import TcError
from ctop_node.i18n import translations
from ctop_node.tc import document
from ctop_node.tc.fields import code_lists, message_fields
from ctop_node.tc.v1 import TC_V1

from ._toy_v2 import TC_V2

TABLE = code_table()
LANGS = ["en", "ru", "kk", "zh"]
# Headings whose translation must show in each language's document.
HEADINGS = [
    "Structure of the message payloads",
    "Rules across fields",
    "Exchange regulation",
    "What the schemas cannot express",
    "Code lists used by the fields",
]


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], str]:
    return {(lang, fmt): document.render(TC_V1, lang, fmt, TABLE) for lang in LANGS
            for fmt in document.FORMATS}  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("fmt", document.FORMATS)
def test_every_field_rule_code_and_code_list_is_in_the_document(
    rendered: dict[tuple[str, str], str], lang: str, fmt: str
) -> None:
    text = rendered[(lang, fmt)]
    for mtype, fields in message_fields(TC_V1).items():
        assert mtype in text
        for f in fields:
            assert f"{f.path}</code>" in text or f"`{f.path}`" in text, f.path
            for code in f.codes:
                assert code in text
    for rule in TC_V1.rules:
        assert rule.code in text
        assert rule.text in text or str(escape(rule.text)) in text
    for name, codes in code_lists(TC_V1).items():
        assert name in text
        assert all(f"{c}" in text for c in codes)
    assert "KZ-CN-CTOP-2021" in text and "DOSTYK-ALASHANKOU" in text
    assert "exchange.out_of_sequence" in text and "crypto.bad_signature" in text


@pytest.mark.parametrize("lang", ["ru", "kk", "zh"])
def test_headings_are_in_the_document_language(
    rendered: dict[tuple[str, str], str], lang: str
) -> None:
    tr = translations(lang)
    for fmt in document.FORMATS:
        text = rendered[(lang, fmt)]
        for heading in HEADINGS:
            translated = tr.gettext(heading)
            assert translated != heading
            assert translated in text and heading not in text, (lang, fmt, heading)


def test_the_html_is_one_self_contained_file(rendered: dict[tuple[str, str], str]) -> None:
    for lang in LANGS:
        tree = lxml.html.document_fromstring(rendered[(lang, "html")])
        assert tree.get("lang") == lang
        assert not _xp(tree, "//script | //link | //img | //iframe | //object")
        hrefs = [str(h) for h in _xp(tree, "//a/@href")]
        assert hrefs and all(h.startswith("#") for h in hrefs)
        ids = {str(i) for i in _xp(tree, "//@id")}
        assert {h[1:] for h in hrefs} <= ids  # every in-page link has its target
        for table in _xp(tree, "//table"):
            widths = {len(_xp(row, "./th|./td")) for row in _xp(table, ".//tr")}
            assert len(widths) == 1, "every row of a table has as many cells as its header"


def _xp(node: Any, expr: str) -> list[Any]:
    found = node.xpath(expr)
    assert isinstance(found, list)
    return found


def test_markdown_tables_are_regular(rendered: dict[tuple[str, str], str]) -> None:
    for lang in LANGS:
        table: list[int] = []
        for line in [*rendered[(lang, "md")].splitlines(), ""]:
            if line.startswith("|"):
                table.append(len(re.findall(r"(?<!\\)\|", line)))
            elif table:
                assert len(set(table)) == 1, (lang, table)
                table = []


def test_the_document_follows_the_schema_not_a_hand_written_text() -> None:
    v2 = document.render(TC_V2, "en", "md", TABLE)
    assert "`customs_priority`" in v2 and "record.priority.lock" in v2
    assert "`customs_priority`" not in document.render(TC_V1, "en", "md", TABLE)


def test_unknown_language_or_format_is_refused() -> None:
    with pytest.raises(TcError) as info:
        document.render(TC_V1, "fr", "html", TABLE)
    assert info.value.code == "tc.doc_language"
    with pytest.raises(TcError) as info:
        document.render(TC_V1, "en", "pdf", TABLE)
    assert info.value.code == "tc.doc_format"

"""Catalogues are compiled once (``make install``), not at every start; a ``.po`` edited since
its ``.mo`` was compiled still wins, so a stale ``.mo`` never hides a translation."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.support import Translations

from ctop_node import i18n


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield tmp_path
    i18n.translations.cache_clear()


def _po(root: Path, text: str) -> Path:
    po = root / "kk" / "LC_MESSAGES" / "ctop.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text(f'msgid "Error: {{message}}"\nmsgstr "{text}: {{message}}"\n', "utf-8")
    return po


def _said(root: Path) -> str:
    i18n.translations.cache_clear()
    return i18n.translations("kk").gettext("Error: {message}")


def test_the_compiled_catalogue_is_what_a_process_reads(locales: Path) -> None:
    po = _po(locales, "Қате")
    mo = i18n.compile_catalogue(po)
    assert mo == po.with_suffix(".mo") and mo.stat().st_size > 0
    assert not list(po.parent.glob(".*.tmp"))  # written whole, then renamed
    # The .po changes but keeps an older time than the .mo: the .mo is read as it is.
    _po(locales, "from the po")
    older = mo.stat().st_mtime_ns - 10**9
    os.utime(po, ns=(older, older))
    assert _said(locales) == "Қате: {message}"


def test_a_po_newer_than_its_mo_or_without_one_is_compiled_in_memory(locales: Path) -> None:
    po = _po(locales, "Қате")
    mo = i18n.compile_catalogue(po)
    _po(locales, "Жаңа қате")
    newer = mo.stat().st_mtime_ns + 10**9
    os.utime(po, ns=(newer, newer))
    assert _said(locales) == "Жаңа қате: {message}"
    mo.unlink()
    assert _said(locales) == "Жаңа қате: {message}"


def test_the_shipped_catalogues_compile_to_what_the_po_says() -> None:
    i18n.translations.cache_clear()
    try:
        for lang in ("ru", "kk", "zh"):
            po = i18n.LOCALES_DIR / lang / "LC_MESSAGES" / "ctop.po"
            from_po = Translations(io.BytesIO(i18n._compiled(po)), domain=i18n.DOMAIN)
            assert from_po.gettext("Error: {message}") != "Error: {message}"
            assert i18n.translations(lang).gettext("Error: {message}") == from_po.gettext(
                "Error: {message}"
            )
    finally:
        i18n.translations.cache_clear()

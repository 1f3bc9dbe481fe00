"""Translations of CLI and UI messages (gettext catalogues: ru, kk, zh, en).

Catalogues are the ``.po`` files under ``ctop_node/locales``; ``make install`` compiles each to
a ``.mo`` beside it (not kept in the repository), which a process loads as it is. A ``.po``
newer than its ``.mo`` (edited since, or never compiled) is compiled in memory on first use
instead, so a stale ``.mo`` never hides a translation. The language comes from
``CTOP_LANG``, then ``LC_ALL``/``LC_MESSAGES``/``LANG``, else English.
"""

from __future__ import annotations

import gettext as _gettext
import io
import os
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "ctop"
LANGUAGES = ("en", "ru", "kk", "zh")

_current: ContextVar[str | None] = ContextVar("ctop_lang", default=None)


def _from_env() -> str:
    for var in ("CTOP_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        code = value.split(".")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def language() -> str:
    return _current.get() or _from_env()


def set_language(code: str) -> None:
    code = code.split("_")[0].split("-")[0].lower()
    _current.set(code if code in LANGUAGES else "en")


def _compiled(po: Path) -> bytes:
    lang = po.parent.parent.name  # locales/<lang>/LC_MESSAGES/ctop.po
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def compile_catalogue(po: str | Path) -> Path:
    """Write the ``.mo`` of one catalogue beside it (``make install``); atomically, so that a
    running process never reads half a file."""
    po = Path(po)
    mo = po.with_suffix(".mo")
    tmp = mo.with_name(f".{mo.name}.tmp")
    tmp.write_bytes(_compiled(po))
    tmp.replace(mo)
    return mo


@lru_cache(maxsize=8)
def translations(lang: str) -> _gettext.NullTranslations:
    po = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return _gettext.NullTranslations()
    mo = po.with_suffix(".mo")
    try:
        if mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
            with mo.open("rb") as fh:
                return Translations(fh, domain=DOMAIN)
    except FileNotFoundError:
        pass  # not compiled: from the .po
    return Translations(io.BytesIO(_compiled(po)), domain=DOMAIN)


def N_(message: str) -> str:
    """Marks a text for the catalogues where it cannot be translated at once (a CLI help,
    fixed at import): ``cli._lazy.translate_help`` translates it when it is shown."""
    return message


def _(message: str) -> str:
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)

"""The UI's language and formats: ``?lang=``, then the user's saved choice, then
``Accept-Language``, else English; Jinja2 templates with gettext fed per request.

The gettext callables installed in the Jinja2 environment read the request's language from
``ctop_node.i18n``'s context variable, so one environment serves every language at once.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ctop_node import i18n

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Babel locale of each UI language (Chinese: simplified script, as used in the PRC).
BABEL_LOCALES = {"en": "en", "ru": "ru", "kk": "kk", "zh": "zh_Hans_CN"}
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша", "zh": "中文"}


def _accepted(header: str) -> list[str]:
    """Languages of an Accept-Language header, best first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.split("-")[0].split("_")[0].lower()))
    return [tag for _q, _i, tag in sorted(ranked)]


def choose_language(query: str | None, saved: str | None, accept_language: str) -> str:
    for candidate in (query, saved, *_accepted(accept_language)):
        if candidate and candidate.lower() in i18n.LANGUAGES:
            return candidate.lower()
    return "en"


def _gettext(message: str) -> str:
    return i18n.translations(i18n.language()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(i18n.language()).ngettext(singular, plural, n)


def format_when(value: datetime | None) -> str:
    if value is None:
        return "-"
    locale = _locale(BABEL_LOCALES[i18n.language()])
    return format_datetime(value, "medium", tzinfo=UTC, locale=locale) + " UTC"


@functools.lru_cache(maxsize=16)
def _locale(tag: str) -> Locale:
    return Locale.parse(tag)  # parsed once per language: the train list formats 200 dates


def format_number(value: int | Decimal | str | None) -> str:
    if value is None or value == "":
        return "-"
    return format_decimal(Decimal(str(value)), locale=BABEL_LOCALES[i18n.language()])


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = format_when
    env.filters["number"] = format_number
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    return env

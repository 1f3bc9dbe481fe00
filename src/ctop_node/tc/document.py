"""The technical conditions as a document (HTML, Markdown), generated from what the node enforces.

Everything the document states comes from the published JSON Schema (fields, patterns, code
lists, scales), the version's rules, the agreements in force and the rejection-code table; only
its headings, labels and the regulation's sentences are written by hand, in the Jinja templates
next to this module, and translated through the gettext catalogues (en, ru, kk, zh).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ctop_node.errors import TcError
from ctop_node.i18n import LANGUAGES, translations
from ctop_node.model.reference import CROSSING_POINTS, DEFAULT_AGREEMENTS, Agreement
from ctop_node.tc._jsonschema import NOT_BLANK
from ctop_node.tc.fields import FieldSpec, code_lists, message_fields
from ctop_node.tc.registry import TcVersion
from ctop_node.tc.xsd import XML_NAMESPACE, XSD_NOT_EXPRESSED

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("html", "md")


@dataclass(frozen=True, slots=True)
class CodeRow:
    code: str
    klass: str
    description: str


def schema_file(tc: TcVersion) -> str:
    return f"ctop-tc-v{tc.version}.schema.json"


def xsd_file(tc: TcVersion) -> str:
    return f"ctop-tc-v{tc.version}.xsd"


def document_file(tc: TcVersion, lang: str, fmt: str) -> str:
    return f"ctop-tc-v{tc.version}.{lang}.{fmt}"


def _lookup(codes: Mapping[str, CodeRow], code: str) -> CodeRow:
    """The row of ``code`` or of its longest listed dotted prefix (as the receiver does)."""
    parts = code.split(".")
    while parts:
        found = codes.get(".".join(parts))
        if found is not None:
            return CodeRow(code, found.klass, found.description)
        parts.pop()
    return CodeRow(code, "15", "")


def _structures(tc: TcVersion) -> list[dict[str, Any]]:
    """One entry per distinct payload structure, naming the message types that carry it."""
    out: list[dict[str, Any]] = []
    by_model: dict[type, dict[str, Any]] = {}
    fields = message_fields(tc)
    for mtype, model in tc.payloads.items():
        entry = by_model.get(model)
        if entry is None:
            entry = {
                "name": model.__name__,
                "anchor": model.__name__.lower(),
                "types": [],
                "fields": fields[mtype.value],
                "doc": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else "",
            }
            by_model[model] = entry
            out.append(entry)
        entry["types"].append(mtype.value)
    return out


def _not_expressed(tc: TcVersion) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []
    for mtype, specs in message_fields(tc).items():
        for spec in specs:
            for note in spec.not_expressed:
                row = {"where": spec.path, "what": note, "message": mtype}
                if not any(r["where"] == spec.path and r["what"] == note for r in seen):
                    seen.append(row)
    return seen


def _agreements(agreements: Iterable[Agreement], version: int) -> list[dict[str, Any]]:
    rows = []
    for a in agreements:
        rows.append(
            {
                "code": a.code,
                "parties": sorted(a.parties),
                "signed": a.signed.isoformat(),
                "in_force_from": a.in_force_from.isoformat(),
                "term_years": a.term_years,
                "auto_renew": a.auto_renew,
                "tc_versions": list(a.tc_versions),
                "names_this_version": version in a.tc_versions,
                "crossing_points": [
                    {"code": c, "names": list(CROSSING_POINTS[c].names)}
                    for c in a.crossing_points
                    if c in CROSSING_POINTS
                ],
            }
        )
    return rows


def context(
    tc: TcVersion,
    codes: Mapping[str, CodeRow],
    agreements: Iterable[Agreement] = DEFAULT_AGREEMENTS,
) -> dict[str, Any]:
    """Everything the templates show, as plain data (also what the tests read)."""
    structures = _structures(tc)
    field_codes = sorted(
        {c for s in structures for f in s["fields"] for c in f.codes} | {r.code for r in tc.rules}
    )
    exchange_codes = sorted(
        (c for c in codes.values() if not c.code.startswith("record.")),
        key=lambda c: (c.klass == "S", c.klass, c.code),
    )
    return {
        "tc": tc,
        "title": tc.title or f"CTOP technical conditions v{tc.version}",
        "schema_id": f"urn:ctop:tc:v{tc.version}",
        "schema_file": schema_file(tc),
        "xsd_file": xsd_file(tc),
        "namespace": XML_NAMESPACE,
        "not_blank": NOT_BLANK,
        "message_types": [m.value for m in tc.payloads],
        "structures": structures,
        "rules": [{"rule": r, "klass": _lookup(codes, r.code).klass} for r in tc.rules],
        "record_codes": [_lookup(codes, c) for c in field_codes],
        "exchange_codes": exchange_codes,
        "not_expressed": _not_expressed(tc),
        "xsd_not_expressed": sorted(XSD_NOT_EXPRESSED.items()),
        "code_lists": code_lists(tc),
        "agreements": _agreements(agreements, tc.version),
    }


def _environment(lang: str, fmt: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["limits"] = _limits
    return env


def _limits(spec: FieldSpec) -> dict[str, Any]:
    """The numeric facts of a field, for the template to phrase in its language."""
    return {
        k: v
        for k, v in (
            ("min_length", spec.min_length),
            ("max_length", spec.max_length),
            ("minimum", spec.minimum),
            ("maximum", spec.maximum),
            ("scale", spec.scale),
            ("max_digits", spec.max_digits),
        )
        if v is not None
    }


def render(
    tc: TcVersion,
    lang: str,
    fmt: str,
    codes: Mapping[str, CodeRow],
    agreements: Iterable[Agreement] = DEFAULT_AGREEMENTS,
) -> str:
    """The document of ``tc`` in ``lang`` (en, ru, kk, zh) as ``fmt`` (html or md)."""
    if lang not in LANGUAGES:
        raise TcError(
            f"the document's language {lang!r} is not one of {', '.join(LANGUAGES)}",
            code="tc.doc_language",
        )
    if fmt not in FORMATS:
        raise TcError(
            f"the document's format {fmt!r} is not one of {', '.join(FORMATS)}",
            code="tc.doc_format",
        )
    template = _environment(lang, fmt).get_template(f"document.{fmt}")
    return template.render(lang=lang, **context(tc, codes, agreements))

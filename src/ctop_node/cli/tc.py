"""``ctop-node tc``: publish and check the technical conditions."""

from __future__ import annotations

import importlib
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from ctop_node.cli._common import FormatOpt, JsonOpt, console, print_error_line, print_json
from ctop_node.errors import UsageError
from ctop_node.i18n import N_, _
from ctop_node.ingest._shape import item_name
from ctop_node.ingest.formats import reader_for
from ctop_node.tc import document
from ctop_node.tc.diff import Change, diff
from ctop_node.tc.registry import DEFAULT_REGISTRY, TcVersion
from ctop_node.tc.xsd import render_xsd

tc_app = typer.Typer(help=N_("Technical conditions: schemas and validation."), no_args_is_help=True)

VersionOpt = Annotated[int | None, typer.Option("--version", help=N_("Version (default: latest)."))]


def _version(version: int | None) -> TcVersion:
    return DEFAULT_REGISTRY.get(version) if version is not None else DEFAULT_REGISTRY.latest


@tc_app.command("versions")
def versions(as_json: JsonOpt = False) -> None:
    """List the technical-conditions versions this node knows.

    \b
    Examples:
      ctop-node tc versions
      ctop-node tc versions --json
    """
    rows = [
        {"version": v.version, "title": v.title, "message_types": [m.value for m in v.payloads]}
        for v in DEFAULT_REGISTRY.versions.values()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"v{row['version']}: {row['title']}")


@tc_app.command("schema")
def schema(version: VersionOpt = None) -> None:
    """Print the JSON Schema of every message type of a version (what the node enforces).

    \b
    Examples:
      ctop-node tc schema --version 1 > ctop-record-v1.schema.json
    """
    print_json(_version(version).json_schema())


@tc_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help=N_("Files of records to check."))],
    fmt: FormatOpt = None,
    version: Annotated[int | None, typer.Option("--version")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate records against the technical conditions without storing anything.

    \b
    Examples:
      ctop-node tc validate train-0001.ndjson
      ctop-node tc validate export.xml --format xml --version 1 --json
    """
    tc = DEFAULT_REGISTRY.get(version) if version is not None else DEFAULT_REGISTRY.latest
    from ctop_node.errors import ValidationFailed

    checked = valid = 0
    errors: list[dict[str, object]] = []
    for path in files:
        for raw in reader_for(path, fmt).read(path):
            checked += 1
            if raw.error is not None or raw.data is None:
                msg = raw.error.message if raw.error else "no data"
                code = raw.error.code if raw.error else "input"
                errors.append(
                    {
                        "record_id": None,
                        "field": "$",
                        "code": code,
                        "message": msg,
                        "source": raw.source,
                        "position": raw.position,
                    }
                )
                continue
            try:
                tc.validate_record(raw.data)
                valid += 1
            except ValidationFailed as exc:
                errors.extend(
                    {**e.as_dict(), "source": raw.source, "position": raw.position}
                    for e in exc.errors
                )
    if as_json:
        print_json(
            {
                "tc_version": tc.version,
                "checked": checked,
                "valid": valid,
                "invalid": checked - valid,
                "errors": errors,
            }
        )
    else:
        for e in errors:
            print_error_line(e)
        typer.echo(
            _(
                "{checked} records checked against v{version}: {valid} valid, {invalid} invalid"
            ).format(checked=checked, version=tc.version, valid=valid, invalid=checked - valid)
        )
    if checked == 0:
        raise UsageError(_("no records found"), code="usage.empty")
    raise typer.Exit(0 if valid == checked else 1)


@tc_app.command("xsd")
def xsd(version: VersionOpt = None) -> None:
    """Print the XSD of the XML form of a record.

    \b
    Examples:
      ctop-node tc xsd --version 1 > ctop-record-v1.xsd
    """
    sys.stdout.buffer.write(render_xsd(_version(version), item_name))


class Lang(StrEnum):
    EN = "en"
    RU = "ru"
    KK = "kk"
    ZH = "zh"


def code_table() -> dict[str, document.CodeRow]:
    # The rejection-code table moves from online/ to exchange/ (issue 9, part 1): read it
    # where it is, so this command does not depend on the order the two changes land in.
    for name in ("ctop_node.exchange.codes", "ctop_node.online.codes"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        return {
            code: document.CodeRow(code, row.klass, row.description)
            for code, row in module.CODES.items()
        }
    raise UsageError("the rejection-code table is missing", code="tc.codes_missing")


def write_publication(tc: TcVersion, out: Path, langs: list[str], md: bool = True) -> list[Path]:
    """Write the document(s), the JSON Schema and the XSD of ``tc`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    codes = code_table()
    written = []
    for lang in langs:
        for fmt in ("html", "md") if md else ("html",):
            path = out / document.document_file(tc, lang, fmt)
            path.write_text(document.render(tc, lang, fmt, codes), encoding="utf-8")
            written.append(path)
    schema_path = out / document.schema_file(tc)
    schema_path.write_bytes(orjson.dumps(tc.json_schema(), option=orjson.OPT_INDENT_2) + b"\n")
    xsd_path = out / document.xsd_file(tc)
    xsd_path.write_bytes(render_xsd(tc, item_name))
    return [*written, schema_path, xsd_path]


@tc_app.command("doc")
def doc(
    out: Annotated[Path, typer.Option("--out", help=N_("Directory to write the document into."))],
    version: VersionOpt = None,
    lang: Annotated[
        list[Lang] | None, typer.Option("--lang", help=N_("Language (repeatable; default: all)."))
    ] = None,
    html_only: Annotated[
        bool, typer.Option("--html-only", help=N_("Skip the Markdown copy."))
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the technical conditions as a document (HTML and Markdown), with the JSON Schema
    and the XSD it refers to.

    \b
    Examples:
      ctop-node tc doc --version 1 --out docs/tc/v1
      ctop-node tc doc --version 1 --lang ru --html-only --out tc-ru --json
    """
    tc = _version(version)
    langs = [str(lg.value) for lg in lang] if lang else [lg.value for lg in Lang]
    written = write_publication(tc, out, langs, md=not html_only)
    if as_json:
        print_json({"tc_version": tc.version, "files": [str(p) for p in written]})
        return
    for path in written:
        typer.echo(str(path))
    console.print(
        _("Technical conditions v{version}: {count} files written to {out}").format(
            version=tc.version, count=len(written), out=out
        ),
        highlight=False,
    )


def _change_line(section: str, change: Change) -> str:
    mark = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
    details = ""
    if change.kind == "changed":
        details = "  " + "; ".join(
            f"{k}: {v.get('from', v.get('removed'))!r} -> {v.get('to', v.get('added'))!r}"
            for k, v in change.details.items()
        )
    return f"{mark} {section} {change.where}{details}"


@tc_app.command("diff")
def diff_cmd(
    old: Annotated[int, typer.Argument(help=N_("Older version."))],
    new: Annotated[int, typer.Argument(help=N_("Newer version."))],
    as_json: JsonOpt = False,
) -> None:
    """List the message types, fields and rules added, removed or changed between versions.

    \b
    Examples:
      ctop-node tc diff 1 2
      ctop-node tc diff 1 2 --json
    """
    result = diff(DEFAULT_REGISTRY.get(old), DEFAULT_REGISTRY.get(new))
    if as_json:
        print_json(result.as_dict())
        return
    for change in result.message_types:
        typer.echo(_change_line(_("tc message type"), change))
    for change in result.fields:
        typer.echo(_change_line(_("tc field"), change))
    for change in result.rules:
        typer.echo(_change_line(_("tc rule"), change))
    console.print(
        _("v{old} -> v{new}: {types} message types, {fields} fields, {rules} rules changed").format(
            old=old,
            new=new,
            types=len(result.message_types),
            fields=len(result.fields),
            rules=len(result.rules),
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tc_app, name="tc")

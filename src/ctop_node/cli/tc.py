"""``ctop-node tc``: publish and check the technical conditions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctop_node.cli._common import JsonOpt, print_error_line, print_json
from ctop_node.errors import UsageError
from ctop_node.i18n import _
from ctop_node.ingest.formats import reader_for
from ctop_node.tc.registry import DEFAULT_REGISTRY

tc_app = typer.Typer(help="Technical conditions: schemas and validation.", no_args_is_help=True)


@tc_app.command("versions")
def versions(as_json: JsonOpt = False) -> None:
    """List the technical-conditions versions this node knows."""
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
def schema(
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default: latest).")
    ] = None,
) -> None:
    """Print the JSON Schema of every message type of a version."""
    tc = DEFAULT_REGISTRY.get(version) if version is not None else DEFAULT_REGISTRY.latest
    print_json(tc.json_schema())


@tc_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Files of records to check.")],
    fmt: Annotated[str | None, typer.Option("--format", help="ndjson|json|xml|csv")] = None,
    version: Annotated[int | None, typer.Option("--version")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate records against the technical conditions without storing anything."""
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


def register(app: typer.Typer) -> None:
    app.add_typer(tc_app, name="tc")

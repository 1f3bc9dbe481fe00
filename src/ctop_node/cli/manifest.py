"""``ctop-node manifest`` and ``ctop-node reconcile``: signed lists of what each node sent and
holds, and their comparison, each Party on its own database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, err_console, print_json
from ctop_node.cli.report import FromOpt, ToOpt, _day
from ctop_node.config import NodeConfig, default_home
from ctop_node.crypto.interfaces import TrustStore
from ctop_node.crypto.keyset import node_keys, trust_of
from ctop_node.crypto.trust import TrustBundle
from ctop_node.errors import ConfigError
from ctop_node.i18n import _
from ctop_node.reports.manifest import build_manifest, load_manifest, reconcile
from ctop_node.store import open_store


def manifest(
    out: Annotated[Path, typer.Option("--out", help="File the signed manifest goes to.")],
    home: HomeOpt = None,
    db: DbOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write this node's signed manifest (COSE_Sign1) for a period.

    \b
    Examples:
      ctop-node manifest --from 2026-11-01 --to 2026-11-30 --out kz-2026-11.manifest
      ctop-node manifest --home kz --from 2026-11-01 --to 2026-11-30 --out kz.manifest --json
    """
    home = home or default_home()
    config = NodeConfig.load(home, db_url=db)
    first, last = _day(start), _day(end)
    with open_store(config.db_url, migrate=False, create=False) as store:
        data = build_manifest(
            store, config.party, first, last, node_keys(home).signer, now=datetime.now(UTC)
        )
    out.write_bytes(data)
    if as_json:
        print_json({"file": str(out), "bytes": len(data), "party": config.party})
    else:
        typer.echo(str(out))


def _trust(home: Path | None, bundles: list[Path]) -> TrustStore:
    if bundles:
        try:
            return trust_of(TrustBundle.from_json(p.read_text("utf-8")) for p in bundles)
        except OSError as exc:
            raise ConfigError(
                _("cannot read a trust bundle for the manifests: {error}").format(error=exc),
                code="config.unreadable",
            ) from exc
    return node_keys(home or default_home()).trust


def reconcile_cmd(
    ours: Annotated[Path, typer.Argument(help="Our signed manifest.")],
    theirs: Annotated[Path, typer.Argument(help="The peer's signed manifest.")],
    home: HomeOpt = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="Party trust bundles to check with (default: the home's)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check both manifests' signatures and list the differences; exit 3 when there are any.

    \b
    Examples:
      ctop-node reconcile kz.manifest cn.manifest --home /var/lib/ctop
      ctop-node reconcile kz.manifest cn.manifest --home /var/lib/ctop --json
    """
    store = _trust(home, trust or [])
    result = reconcile(load_manifest(ours, store), load_manifest(theirs, store))
    diffs = result["differences"]
    if as_json:
        print_json(result)
    else:
        for d in diffs:
            console.print(
                f"{d['kind']}: {d['sender']} -> {d['receiver']} {d['record_id']} v{d['version']}",
                highlight=False,
            )
        err_console.print(
            _("Reconciliation of {ours} with {theirs}: {n} differences").format(
                ours=result["ours"]["party"], theirs=result["theirs"]["party"], n=len(diffs)
            ),
            highlight=False,
        )
    if diffs:
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.command("manifest")(manifest)
    app.command("reconcile")(reconcile_cmd)

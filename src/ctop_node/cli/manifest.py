"""``ctop-node manifest`` and ``ctop-node reconcile``: signed lists of what each node sent and
holds, and their comparison, each Party on its own database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, err_console, print_json
from ctop_node.cli.report import FromOpt, ToOpt, _day
from ctop_node.config import NodeConfig, default_home
from ctop_node.crypto.interfaces import TrustStore
from ctop_node.crypto.keyset import node_keys, trust_of
from ctop_node.crypto.trust import TrustBundle
from ctop_node.errors import ConfigError, ReportError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.online.peers import PeerConfig
from ctop_node.reports.manifest import (
    build_manifest,
    load_manifest,
    reconcile,
    reconcile_with_received,
)
from ctop_node.store import open_store

PeerOpt = Annotated[
    str | None,
    typer.Option("--peer", help=N_("The peer Party (default: the only peer in node.json).")),
]


def _peer(home: Path, peer: str | None) -> str:
    known = PeerConfig.load(home, require_trust=False).parties
    if peer is not None:
        if peer not in known:
            raise ConfigError(
                _("{peer} is not a peer of this node (peers: {known})").format(
                    peer=peer, known=", ".join(known) or "-"
                ),
                code="config.unknown_peer",
            )
        return peer
    if len(known) != 1:
        raise ConfigError(
            _("this node has {n} peers: name one with --peer").format(n=len(known)),
            code="config.peer_required",
        )
    return known[0]


def manifest(
    out: Annotated[
        Path | None, typer.Option("--out", help=N_("File the signed manifest goes to."))
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help=N_(
                "Send it to the peer as a MANIFEST message over the online channel; the "
                "peer keeps it for reconcile --with-peer and its report."
            ),
        ),
    ] = False,
    peer: PeerOpt = None,
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
      ctop-node manifest --home kz --from 2026-11-01 --to 2026-11-30 --send --peer CN
    """
    if out is None and not send:
        raise UsageError(_("give --out FILE, --send, or both"), code="usage.manifest_target")
    home = home or default_home()
    config = NodeConfig.load(home, db_url=db)
    first, last = _day(start), _day(end)
    target = _peer(home, peer) if send else None
    keys = node_keys(home)
    with open_store(config.db_url, migrate=False, create=False) as store:
        data = build_manifest(store, config.party, first, last, keys.signer, now=datetime.now(UTC))
    result: dict[str, Any] = {"bytes": len(data), "party": config.party}
    if out is not None:
        out.write_bytes(data)
        result["file"] = str(out)
    if target is not None:
        # imported here: httpx and the TLS stack only for the command that sends
        from ctop_node.online.factory import http_transport
        from ctop_node.online.manifest_sender import send_manifest

        transport = http_transport(home)
        try:
            sent = send_manifest(
                data,
                party=config.party,
                peer=target,
                transport=transport,
                signer=keys.signer,
                decryptor=keys.decryptor,
                trust=keys.trust,
            )
        finally:
            transport.close()
        result["sent"] = {
            "peer": sent.peer,
            "message_id": sent.message_id,
            "status": sent.status,
            "entries": sent.entries,
            "code": sent.code,
            "message": sent.message,
        }
    if as_json:
        print_json(result)
    else:
        if out is not None:
            typer.echo(str(out))
        if target is not None:
            err_console.print(
                _("Manifest of {party} ({n} entries) sent to {peer}: {status} {code}").format(
                    party=config.party,
                    n=result["sent"]["entries"],
                    peer=target,
                    status=result["sent"]["status"],
                    code=result["sent"]["code"],
                ),
                highlight=False,
            )
    if target is not None and result["sent"]["status"] != "delivered":
        raise typer.Exit(1)


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


def _with_peer(
    home: Path, db: str | None, peer: str | None, start: date, end: date
) -> dict[str, Any]:
    config = NodeConfig.load(home, db_url=db)
    keys = node_keys(home)
    with open_store(config.db_url, migrate=False, create=False) as store:
        result = reconcile_with_received(
            store,
            config.party,
            start,
            end,
            keys.signer,
            keys.trust,
            now=datetime.now(UTC),
            peer=peer,
        )
    if result is None:
        raise ReportError(
            _("no manifest of {peer} for {start} to {end} was received").format(
                peer=peer or _("a peer"), start=start.isoformat(), end=end.isoformat()
            ),
            code="report.no_peer_manifest",
        )
    return result


def reconcile_cmd(
    ours: Annotated[Path | None, typer.Argument(help=N_("Our signed manifest."))] = None,
    theirs: Annotated[Path | None, typer.Argument(help=N_("The peer's signed manifest."))] = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust", help=N_("Party trust bundles to check with (default: the home's).")
        ),
    ] = None,
    with_peer: Annotated[
        bool,
        typer.Option(
            "--with-peer",
            help=N_(
                "Reconcile our database, as of now, with the manifest the peer sent for "
                "exactly --from .. --to (instead of two files)."
            ),
        ),
    ] = False,
    peer: Annotated[
        str | None,
        typer.Option("--peer", help=N_("With --with-peer: the peer Party (default: any).")),
    ] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check both manifests' signatures and list the differences; exit 3 when there are any.

    \b
    Examples:
      ctop-node reconcile kz.manifest cn.manifest --home /var/lib/ctop
      ctop-node reconcile kz.manifest cn.manifest --home /var/lib/ctop --json
      ctop-node reconcile --with-peer --home cn --from 2026-11-01 --to 2026-11-30
    """
    if with_peer:
        if ours is not None or theirs is not None:
            raise UsageError(_("--with-peer takes no manifest files"), code="usage.reconcile_files")
        result = _with_peer(home or default_home(), db, peer, _day(start), _day(end))
    else:
        if ours is None or theirs is None:
            raise UsageError(
                _("give our and the peer's manifest files, or --with-peer"),
                code="usage.reconcile_files",
            )
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

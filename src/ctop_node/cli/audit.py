"""``ctop-node audit``: verify the audit chain, sign a checkpoint, export a range with its
proof, and verify such an export offline."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import orjson
import typer
from cryptography import x509

from ctop_node.access._anchor import load_pem_certificate
from ctop_node.access._files import write_new_private
from ctop_node.access.audit_export import build_export, verify_export
from ctop_node.access.audit_verify import ChainReport, verify_chain
from ctop_node.cli._actor import UserOpt, audit_chain, authorize, cli_origin, node_signer
from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, print_json, read_bytes
from ctop_node.cli.records import open_existing
from ctop_node.config import default_home
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import party_of
from ctop_node.errors import AuditError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.store.audit import AuditLog

audit_app = typer.Typer(help=N_("The tamper-evident audit chain (Art.6)."), no_args_is_help=True)

CaOpt = Annotated[
    list[Path],
    typer.Option(
        "--ca", help=N_("A Party CA certificate (PEM) to check signatures against; repeat.")
    ),
]


def load_anchors(paths: list[Path]) -> dict[str, x509.Certificate]:
    anchors: dict[str, x509.Certificate] = {}
    for path in paths:
        cert = load_pem_certificate(read_bytes(path), str(path))
        anchors[party_of(cert) or ""] = cert
    return anchors


def _report(report: ChainReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        console.print(
            _(
                "audit chain intact: {entries} entries, {verified} of {checkpoints} signed "
                "checkpoints verified"
            ).format(
                entries=report.entries,
                verified=report.checkpoints_verified,
                checkpoints=report.checkpoints,
            ),
            highlight=False,
        )
    else:
        for p in sorted(report.problems, key=lambda p: p.position):
            console.print(
                _("audit chain broken at position {position}: {problem}").format(
                    position=p.position, problem=f"[{p.code}] {p.message}"
                ),
                highlight=False,
            )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("verify")
def verify(
    user: UserOpt = None, home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Check the whole chain and its signed checkpoints; exit 1 naming the first bad position.

    \b
    Examples:
      ctop-node audit verify --home /var/lib/ctop
      ctop-node audit verify --home /var/lib/ctop --json
    """
    paths = NodePaths(home or default_home())
    anchors = None
    if paths.ca_cert.exists():
        anchors = load_anchors([paths.ca_cert])
    with open_existing(home, db) as store:
        authorize(store, home, "audit verify", user)
        log = AuditLog(store.engine)
        entries = [e.as_dict() for e in log.entries()]
        checkpoints = [asdict(c) for c in log.checkpoints()]
    party = next(iter(anchors)) if anchors else None
    _report(verify_chain(entries, checkpoints, anchors=anchors, party=party), as_json)


@audit_app.command("checkpoint")
def checkpoint(home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Sign the chain's current head with the node key now.

    \b
    Examples:
      ctop-node audit checkpoint --home /var/lib/ctop
      ctop-node audit checkpoint --home /var/lib/ctop --json
    """
    with open_existing(home, db) as store:
        cp = audit_chain(store, home).checkpoint()
    if as_json:
        print_json({"seq": cp.seq if cp else None, "digest": cp.digest if cp else None})
    elif cp is None:
        console.print(_("nothing to sign: the audit chain is empty or already signed at its head"))
    else:
        console.print(
            _("checkpoint signed at position {position}").format(position=cp.seq), highlight=False
        )


@audit_app.command("export")
def export(
    first: Annotated[int, typer.Option("--from", min=1, help=N_("First position."))],
    last: Annotated[int, typer.Option("--to", min=1, help=N_("Last position."))],
    out: Annotated[Path, typer.Option("--out", help=N_("File to create (must not exist)."))],
    user: UserOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write positions FROM..TO with their proof, verifiable offline with `verify-export`.

    \b
    Examples:
      ctop-node audit export --from 1 --to 5000 --out audit-1-5000.json --home /var/lib/ctop
    """
    if last < first:
        raise UsageError(_("--to must not be before --from"))
    signer = node_signer(home)
    if signer is None:
        raise AuditError(
            _("the node has no signing key to seal the export: run `ctop-node init` first"),
            code="audit.no_signer",
        )
    with open_existing(home, db) as store:
        who = authorize(store, home, "audit export", user)
        doc = build_export(AuditLog(store.engine), signer, first, last)
        write_new_private(out, orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        audit_chain(store, home).record(
            who.name,
            "audit.export",
            f"audit:{first}-{last}",
            purpose="audit",
            origin=cli_origin(),
            detail={"file": out.name, "count": doc["count"], "last_digest": doc["last_digest"]},
        )
    if as_json:
        print_json({"from": first, "to": last, "count": doc["count"], "path": str(out)})
        return
    console.print(
        _("exported audit positions {first}..{last} to {path}").format(
            first=first, last=last, path=out
        ),
        highlight=False,
    )


@audit_app.command("verify-export")
def verify_export_cmd(
    file: Annotated[Path, typer.Argument(help=N_("An `audit export` file."))],
    ca: CaOpt,
    as_json: JsonOpt = False,
) -> None:
    """Check an export offline against the Party CA certificate; exit 1 naming the position.

    \b
    Examples:
      ctop-node audit verify-export audit-1-5000.json --ca kz-ca.pem
      ctop-node audit verify-export audit-1-5000.json --ca kz-ca.pem --json
    """
    data = read_bytes(file)
    _report(verify_export(data, load_anchors(ca)), as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")

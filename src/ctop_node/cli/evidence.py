"""``ctop-node evidence``: pack a record's evidence bundle, and check one offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ctop_node.access.audit_chain import CUSTOMS_CONTROL
from ctop_node.access.evidence import write_evidence
from ctop_node.access.evidence_verify import verify_evidence
from ctop_node.cli._actor import PurposeOpt, UserOpt, audit_chain, authorize, cli_origin
from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, print_json, read_bytes
from ctop_node.cli.audit import CaOpt, load_anchors
from ctop_node.cli.records import open_existing
from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.i18n import N_, _
from ctop_node.store.consents import ConsentStore


class _PackByDefault(TyperGroup):
    """``ctop-node evidence RECORD_ID --out FILE`` means ``evidence pack RECORD_ID ...``;
    ``evidence verify FILE`` stays a command (``evidence pack verify`` packs a record named
    "verify")."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer vendors click
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["pack", *args]
        return super().parse_args(ctx, args)


evidence_app = typer.Typer(
    cls=_PackByDefault,
    help=N_("Evidence bundles of records, verifiable offline."),
    no_args_is_help=True,
)


@evidence_app.command("pack")
def pack(
    record_id: Annotated[str, typer.Argument(help=N_("The record's identifier."))],
    out: Annotated[Path, typer.Option("--out", help=N_("File to create (must not exist; 0600)."))],
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    origin: Annotated[str | None, typer.Option("--origin", help=N_("Origin Party."))] = None,
    purpose: PurposeOpt = CUSTOMS_CONTROL,
    consent: Annotated[
        str | None, typer.Option("--consent", help=N_("Reference of the consent to pack under."))
    ] = None,
    user: UserOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pack the sealed messages, receipts, certificates, CRLs, lock readings and audit
    entries of a record version into one signed file.

    \b
    Examples:
      ctop-node evidence pack KZ-2026-000123 --out kz-000123.evidence --home /var/lib/ctop
      ctop-node evidence pack CN-2026-000042 --origin CN --purpose court \\
          --consent CN-2026-17 --out cn-42.evidence --json
    """
    config = NodeConfig.load(home, db_url=db)
    with open_existing(home, db) as store:
        who = authorize(store, config.home, "evidence pack", user)
        manifest = write_evidence(
            audit_chain(store, config.home),
            node_keys(config.home),
            config.home,
            config.party,
            record_id,
            out,
            actor=who.name,
            origin=cli_origin(),
            purpose=purpose,
            consents=ConsentStore(store.engine).all(),
            consent_reference=consent,
            version=version,
            origin_party=origin,
        )
    if as_json:
        print_json({"file": str(out), "manifest": manifest})
        return
    console.print(
        _("evidence of {record_id} v{version} written to {path}").format(
            record_id=record_id, version=manifest["record"]["version"], path=out
        ),
        highlight=False,
    )


@evidence_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help=N_("An evidence bundle."))],
    ca: CaOpt,
    as_json: JsonOpt = False,
) -> None:
    """Check a bundle offline against the Party CA certificates (--ca, one per Party).

    \b
    Examples:
      ctop-node evidence verify kz-000123.evidence --ca kz-ca.pem --ca cn-ca.pem
      ctop-node evidence verify kz-000123.evidence --ca kz-ca.pem --json
    """
    data = read_bytes(file)
    report = verify_evidence(data, load_anchors(ca))
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        _(
            "evidence verified: {messages} messages, {receipts} receipts naming their digest, "
            "{entries} audit entries, signed by {parties}"
        ).format(
            messages=report.messages,
            receipts=report.receipts_naming_digest,
            entries=report.audit_entries,
            parties=", ".join(sorted(report.signed_by)),
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")

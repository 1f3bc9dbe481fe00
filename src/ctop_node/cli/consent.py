"""``ctop-node consent``: the register of the peer Parties' written consents (Art.6)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from ctop_node.access.consent import add_consent, parse_scope, revoke_consent
from ctop_node.cli._actor import UserOpt, audit_chain, authorize, cli_origin
from ctop_node.cli._common import ConsentPurpose, DbOpt, HomeOpt, JsonOpt, console, print_json
from ctop_node.cli.records import open_existing, resolve_db_url
from ctop_node.errors import UsageError
from ctop_node.i18n import N_, _
from ctop_node.store import open_store
from ctop_node.store.consents import ConsentRow, ConsentStore

consent_app = typer.Typer(
    help=N_("Consents of peer Parties to other uses (Art.6)."), no_args_is_help=True
)


def _as_dict(c: ConsentRow) -> dict[str, Any]:
    return {
        "reference": c.reference,
        "from_party": c.from_party,
        "purpose": c.purpose,
        "scope": list(c.scope),
        "valid_until": c.valid_until.date().isoformat(),
        "created_at": c.created_at.isoformat(),
        "created_by": c.created_by,
        "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
        "revoked_by": c.revoked_by,
    }


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            _("--valid-until {value} is not a date (YYYY-MM-DD)").format(value=text)
        ) from exc


@consent_app.command("add")
def add(
    reference: Annotated[
        str, typer.Option("--reference", help=N_("The consent letter's reference."))
    ],
    from_party: Annotated[str, typer.Option("--from-party", help=N_("The Party that consented."))],
    purpose: Annotated[
        ConsentPurpose, typer.Option("--purpose", help=N_("The use the Party consented to."))
    ],
    scope: Annotated[
        str, typer.Option("--scope", help=N_("Record-id patterns, comma separated, or * for all."))
    ],
    valid_until: Annotated[
        str, typer.Option("--valid-until", help=N_("Last valid day, YYYY-MM-DD."))
    ],
    user: UserOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a written consent; the registration is audited.

    \b
    Examples:
      ctop-node consent add --reference CN-2026-17 --from-party CN --purpose court \\
          --scope 'CN-2026-*' --valid-until 2026-12-31
    """
    with open_store(resolve_db_url(home, db)) as store:
        who = authorize(store, home, "consent add", user)
        row = add_consent(
            ConsentStore(store.engine),
            audit_chain(store, home),
            actor=who.name,
            origin=cli_origin(),
            reference=reference,
            from_party=from_party,
            purpose=purpose,
            scope=parse_scope(scope),
            valid_until=_date(valid_until),
            now=datetime.now(UTC),
        )
    if as_json:
        print_json(_as_dict(row))
        return
    console.print(
        _("consent {reference} of {party} for {purpose} registered").format(
            reference=row.reference, party=row.from_party, purpose=row.purpose
        ),
        highlight=False,
    )


@consent_app.command("list")
def list_(
    user: UserOpt = None, home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Every registered consent, revoked ones included.

    \b
    Examples:
      ctop-node consent list --home /var/lib/ctop
      ctop-node consent list --home /var/lib/ctop --json
    """
    with open_existing(home, db) as store:
        authorize(store, home, "consent list", user)
        rows = ConsentStore(store.engine).all()
    if as_json:
        print_json({"consents": [_as_dict(c) for c in rows]})
        return
    table = Table(title=_("Consent register"))
    for header in (
        _("Consent reference"),
        _("Consenting Party"),
        _("Consented purpose"),
        _("Consent scope"),
        _("Consent valid until"),
        _("Consent revoked on"),
    ):
        table.add_column(header)
    for c in rows:
        table.add_row(
            c.reference,
            c.from_party,
            c.purpose,
            ", ".join(c.scope),
            c.valid_until.date().isoformat(),
            c.revoked_at.date().isoformat() if c.revoked_at else "",
        )
    console.print(table)


@consent_app.command("revoke")
def revoke(
    reference: Annotated[str, typer.Argument(help=N_("The consent's reference."))],
    user: UserOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a consent from now on; the revocation is audited.

    \b
    Examples:
      ctop-node consent revoke CN-2026-17 --home /var/lib/ctop
    """
    with open_existing(home, db) as store:
        who = authorize(store, home, "consent revoke", user)
        revoke_consent(
            ConsentStore(store.engine),
            audit_chain(store, home),
            actor=who.name,
            origin=cli_origin(),
            reference=reference,
            now=datetime.now(UTC),
        )
    if as_json:
        print_json({"reference": reference, "revoked": True})
        return
    console.print(_("consent {reference} revoked").format(reference=reference), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(consent_app, name="consent")

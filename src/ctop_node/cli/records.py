"""``ctop-node records``: look at stored records and their versions (read only)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.json import JSON
from rich.table import Table

from ctop_node.access.audit_chain import CUSTOMS_CONTROL, record_object
from ctop_node.access.consent import check_purpose
from ctop_node.access.records_export import ExportRequest, export_records, restriction_mark
from ctop_node.cli._actor import PurposeOpt, UserOpt, audit_chain, authorize, cli_origin
from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, Outcome, console, print_json
from ctop_node.config import NodeConfig, default_home, sqlite_url
from ctop_node.errors import ConfigError, RecordError, StorageError
from ctop_node.i18n import N_, _
from ctop_node.lock.reconcile import reconcile
from ctop_node.store import SqlStore, open_store
from ctop_node.store.consents import ConsentStore
from ctop_node.store.interfaces import RecordRow

records_app = typer.Typer(help=N_("Stored records and their versions."), no_args_is_help=True)


def resolve_db_url(home: Path | None, db: str | None) -> str:
    """``--db`` wins; else the node's configured database; else SQLite in the node home.
    Reading needs no Party, so a home without ``node.json`` is fine."""
    if db:
        return db
    home = home or default_home()
    try:
        return NodeConfig.load(home).db_url
    except ConfigError as exc:
        if exc.code in ("config.no_party", "config.party"):
            return sqlite_url(home)
        raise


def open_existing(home: Path | None, db: str | None) -> SqlStore:
    # Reading must not leave an empty database behind where none was.
    try:
        return open_store(resolve_db_url(home, db), create=False)
    except StorageError as exc:
        if exc.code != "store.missing":
            raise
        raise StorageError(
            _("{problem}: nothing has been ingested there yet; check --home or --db").format(
                problem=exc.message
            ),
            code=exc.code,
        ) from exc


_open = open_existing  # the older name, still used by cli/status


def _summary(row: RecordRow) -> dict[str, Any]:
    return {
        "record_id": row.record_id,
        "version": row.version,
        "origin_party": row.origin_party,
        "direction": row.direction,
        "tc_version": row.tc_version,
        "digest": row.digest,
        "outcome": row.outcome,
        "state": row.state,
        "reason": row.reason,
        "detail": row.detail,
        "created_at": row.created_at.isoformat(),
    }


def _when(row: RecordRow) -> str:
    return row.created_at.strftime("%Y-%m-%d %H:%M:%S")


def _origin(row: RecordRow) -> str:
    # Art.6: data received from a peer is marked wherever it is shown.
    return f"{row.origin_party}*" if row.direction == "in" else row.origin_party


def _restriction_note(party: str) -> str:
    return _(
        "* received from {party}: for customs control only; any other use needs the "
        "written consent of {party}."
    ).format(party=party)


@records_app.command("list")
def list_records(
    outcome: Annotated[
        Outcome | None,
        typer.Option("--outcome", help=N_("Only records whose latest version has this outcome.")),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help=N_("At most this many."))] = 50,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    user: UserOpt = None,
    purpose: PurposeOpt = CUSTOMS_CONTROL,
) -> None:
    """List stored records, latest version of each, most recently stored first.

    \b
    Examples:
      ctop-node records list --home /var/lib/ctop
      ctop-node records list --outcome excluded --limit 20 --home /var/lib/ctop --json
    """
    check_purpose(purpose)
    with open_existing(home, db) as store:
        who = authorize(store, home, "records list", user)
        rows = store.list_records(outcome=outcome, limit=limit)
        counts = store.outcome_counts()
        peer = [r for r in rows if r.direction == "in"]
        if peer:  # Art.6: every read of peer data is audited
            audit_chain(store, home).record(
                who.name,
                "records.list",
                "records",
                purpose=purpose,
                origin=cli_origin(),
                detail={"peer_records": len(peer), "outcome": outcome, "limit": limit},
            )
    if as_json:
        print_json(
            {
                "records": [_summary(r) for r in rows],
                "outcome_counts": counts,
                # Art.6: the use restriction of each peer Party whose data is listed
                "restrictions": {
                    p: restriction_mark(p) for p in sorted({r.origin_party for r in peer})
                },
            }
        )
        return
    table = Table(title=_("Records"))
    # Record ids are long and must be readable whole: fold them rather than cut them.
    table.add_column(_("Record"), overflow="fold", min_width=12)
    for header in (_("Ver."), _("Origin"), _("Outcome"), _("Rec. state")):
        table.add_column(header, no_wrap=True)
    table.add_column(_("Reason"), overflow="fold", min_width=8)
    table.add_column(_("Stored (UTC)"), min_width=10)
    for r in rows:
        table.add_row(
            r.record_id, str(r.version), _origin(r), r.outcome, r.state or "-", r.reason, _when(r)
        )
    console.print(table)
    for party in sorted({r.origin_party for r in rows if r.direction == "in"}):
        console.print(_restriction_note(party), highlight=False)
    total = sum(counts.values())
    by_outcome = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "-"
    console.print(
        _("{shown} of {total} records shown ({by_outcome})").format(
            shown=len(rows), total=total, by_outcome=by_outcome
        ),
        highlight=False,
    )


def _choose(record_id: str, versions: list[RecordRow], version: int | None) -> RecordRow:
    if not versions:
        raise RecordError(
            _("record {record_id} is not stored here").format(record_id=record_id),
            code="record.not_found",
            record_id=record_id,
        )
    chosen = (
        versions[-1]
        if version is None
        else next((v for v in versions if v.version == version), None)
    )
    if chosen is None:
        raise RecordError(
            _("record {record_id} has no version {version} (latest is {latest})").format(
                record_id=record_id, version=version, latest=versions[-1].version
            ),
            code="record.version_not_found",
            record_id=record_id,
        )
    return chosen


@records_app.command("show")
def show(
    record_id: Annotated[str, typer.Argument(help=N_("The record's identifier."))],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help=N_("Version to show (default: latest)."))
    ] = None,
    origin: Annotated[
        str | None,
        typer.Option("--origin", help=N_("Origin Party, when two Parties used the same id.")),
    ] = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    user: UserOpt = None,
    purpose: PurposeOpt = CUSTOMS_CONTROL,
) -> None:
    """Show every version of a record and the body of one of them.

    \b
    Examples:
      ctop-node records show KZ-2026-000123 --home /var/lib/ctop
      ctop-node records show KZ-2026-000123 --version 2 --origin KZ --home /var/lib/ctop --json
    """
    check_purpose(purpose)
    with open_existing(home, db) as store:
        who = authorize(store, home, "records show", user)
        versions = store.versions(record_id, origin_party=origin)
        # Received records: which channel(s) brought each version, and whether they agree.
        recon = reconcile(
            store,
            [(v.origin_party, v.record_id, v.version) for v in versions if v.direction == "in"],
        )
        # Our records: each version and cancellation per peer, with its outbox state.
        ours = [v for v in versions if v.direction == "out"]
        deliveries = store.deliveries(record_id, origin_party=ours[0].origin_party) if ours else []
        chosen = _choose(record_id, versions, version)
        if chosen.direction == "in":  # Art.6: every read of peer data is audited
            audit_chain(store, home).record(
                who.name,
                "records.show",
                record_object(chosen.origin_party, chosen.record_id, chosen.version),
                purpose=purpose,
                origin=cli_origin(),
                detail={"json": as_json},
            )
    if as_json:
        print_json(
            {
                "restriction": restriction_mark(chosen.origin_party)
                if chosen.direction == "in"
                else None,
                "record_id": record_id,
                "versions": [_summary(v) for v in versions],
                "version": chosen.version,
                "reconciliation": {str(k[2]): r.as_dict() for k, r in recon.items()},
                "state": chosen.state,
                "deliveries": deliveries,
                "body": chosen.body,
            }
        )
        return
    table = Table(title=_("Record {record_id}").format(record_id=record_id))
    for header in (_("Ver."), _("Outcome"), _("Reason"), _("TC"), _("Digest")):
        table.add_column(header)
    table.add_column(_("Stored (UTC)"), no_wrap=True)
    for v in versions:
        mark = "*" if v.version == chosen.version else ""
        table.add_row(
            f"{v.version}{mark}", v.outcome, v.reason, f"v{v.tc_version}", v.digest[:16], _when(v)
        )
    console.print(table)
    if chosen.direction == "in":
        console.print(_restriction_note(chosen.origin_party), highlight=False)
    console.print(
        _("Version {version} of {count}, origin {origin}, digest {digest}").format(
            version=chosen.version,
            count=len(versions),
            origin=_origin(chosen),
            digest=chosen.digest,
        ),
        highlight=False,
    )
    chosen_recon = recon.get((chosen.origin_party, chosen.record_id, chosen.version))
    if chosen_recon is not None:
        console.print(
            _("Channels: {channels}; reconciliation: {verdict}").format(
                channels=", ".join(chosen_recon.channels), verdict=chosen_recon.verdict.value
            ),
            highlight=False,
        )
    if chosen.state is not None:
        console.print(_("Record state: {state}").format(state=chosen.state), highlight=False)
    for d in deliveries:
        console.print(
            _("To {peer}: {kind} of version {version}: {state}").format(
                peer=d["peer"], kind=d["kind"], version=d["version"], state=d["state"]
            ),
            highlight=False,
        )
    console.print(JSON.from_data(chosen.body))


@records_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help=N_("File to create (must not exist; 0600)."))],
    purpose: PurposeOpt = CUSTOMS_CONTROL,
    record_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--record", help=N_("Export this record (latest version); repeat. Default: all.")
        ),
    ] = None,
    consent: Annotated[
        str | None, typer.Option("--consent", help=N_("Reference of the consent to export under."))
    ] = None,
    user: UserOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export records to a file. Peer data for a purpose other than customs control needs a
    valid consent of the Party that provided it; refusals and exports are audited.

    \b
    Examples:
      ctop-node records export --out kz-records.ndjson --home /var/lib/ctop
      ctop-node records export --out court.ndjson --purpose court --consent CN-2026-17 \\
          --record CN-2026-000042 --json
    """
    check_purpose(purpose)
    with open_existing(home, db) as store:
        who = authorize(store, home, "records export", user)
        if record_ids:
            rows = []
            for rid in record_ids:
                row = store.get_record(rid)
                if row is None:
                    raise RecordError(
                        _("record {record_id} is not stored here").format(record_id=rid),
                        code="record.not_found",
                        record_id=rid,
                    )
                rows.append(row)
        else:
            rows = [
                r
                for s in store.list_records(limit=1_000_000)
                if (r := store.get_record(s.record_id, s.version, origin_party=s.origin_party))
            ]
        req = ExportRequest(
            actor=who.name,
            origin=cli_origin(),
            purpose=purpose,
            out=out,
            at=datetime.now(UTC),
            node_party=_node_party(home),
            consent_reference=consent,
        )
        watermark = export_records(
            rows, ConsentStore(store.engine).all(), audit_chain(store, home), req
        )
    if as_json:
        print_json({"file": str(out), "records": len(rows), "watermark": watermark})
        return
    console.print(
        _("{count} records exported to {path} for {purpose}").format(
            count=len(rows), path=out, purpose=purpose
        ),
        highlight=False,
    )


def _node_party(home: Path | None) -> str:
    try:
        return NodeConfig.load(home).party
    except ConfigError:
        return ""


def register(app: typer.Typer) -> None:
    app.add_typer(records_app, name="records")

"""``ctop-node cancel RECORD_ID --reason TEXT``: the clearance system cancels one of our
records. Pending versions are withdrawn, each peer that may hold a version gets a
CANCELLATION through the outbox (sealed and sent by the running node like any message)."""

from __future__ import annotations

from typing import Annotated

import typer

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, print_json
from ctop_node.config import NodeConfig
from ctop_node.errors import RecordError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.store import open_store

MAX_REASON = 512  # the ``reason`` of the CANCELLATION payload


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not 0 < len(text) <= MAX_REASON:
        raise UsageError(
            _("the cancellation reason must be 1 to {limit} characters").format(limit=MAX_REASON),
            code="cancel.reason",
        )
    return text


def _message(exc: RecordError, record_id: str, party: str) -> str:
    if exc.code == "record.already_cancelled":
        return _("record {record_id} is already cancelled; nothing was sent again").format(
            record_id=record_id
        )
    if exc.code == "record.not_found":
        return _("no record {record_id} of {party} is stored here; nothing to cancel").format(
            record_id=record_id, party=party
        )
    return exc.message


def cancel(
    record_id: Annotated[str, typer.Argument(help=N_("The id of our record to cancel."))],
    reason: Annotated[
        str, typer.Option("--reason", help=N_("Why the record is cancelled (sent to the peers)."))
    ],
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel one of our records at every peer Party.

    \b
    Examples:
      ctop-node cancel KZ-2026-000123 --reason 'train withdrawn' --home /var/lib/ctop
      ctop-node cancel KZ-2026-000123 --reason 'declared twice' --home /var/lib/ctop --json
    """
    text = check_reason(reason)
    cfg = NodeConfig.load(home, db_url=db)
    with open_store(cfg.db_url) as store:
        try:
            done = store.cancel_record(record_id, text, origin_party=cfg.party)
        except RecordError as exc:
            raise RecordError(
                _message(exc, record_id, cfg.party), code=exc.code, record_id=record_id
            ) from exc
    if as_json:
        print_json(done.as_dict())
        return
    for peer, version in done.cancellations:
        console.print(
            _("{peer}: cancellation of version {version} queued").format(
                peer=peer, version=version
            ),
            highlight=False,
        )
    for peer, version in done.withdrawn:
        console.print(
            _("{peer}: version {version} withdrawn before it was delivered").format(
                peer=peer, version=version
            ),
            highlight=False,
        )
    console.print(
        _(
            "{record_id} cancelled: {sent} cancellations queued, {withdrawn} versions withdrawn"
        ).format(record_id=record_id, sent=len(done.cancellations), withdrawn=len(done.withdrawn)),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("cancel")(cancel)

"""``ctop-node lock``: the smart-lock channel from the command line.

Carrier: ``carrier-ca``, ``provision``. Departure customs: ``pending``, ``write``. On the way:
``event``. Arrival customs: ``trust-carrier``, ``read``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer

from ctop_node.cli._common import HomeOpt, JsonOpt, console, err_console, print_json
from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.errors import LockError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.lock.carrier import CarrierCA, load_carrier, save_carrier
from ctop_node.lock.carriers import trust_carrier, trusted_carriers
from ctop_node.lock.device import DEFAULT_CAPACITY, LockDevice
from ctop_node.lock.events import EventCode, position_data
from ctop_node.lock.pending import fallback_after, pending_locks
from ctop_node.lock.reader import LockReader
from ctop_node.lock.writer import write_record
from ctop_node.store import open_store

lock_app = typer.Typer(help=N_("Smart-lock channel: provision, write, events, read."))

LockOpt = Annotated[Path, typer.Option("--lock", help=N_("The lock image file."))]

# Journey events by name: what `lock event` records (opened/read need --reader).
EVENTS: dict[str, EventCode] = {
    "tamper": EventCode.SEAL_BROKEN,
    "seal-broken": EventCode.SEAL_BROKEN,
    "housing-broken": EventCode.HOUSING_BROKEN,
    "route-deviation": EventCode.ROUTE_DEVIATION,
    "malfunction": EventCode.MALFUNCTION,
    "battery": EventCode.BATTERY_LOW,
    "no-messages": EventCode.NO_MESSAGES,
    "unauthorised": EventCode.UNAUTHORISED_ACTION,
    "position": EventCode.POSITION,
    "read": EventCode.READ_BY_AUTHORITY,
}
ACTIONS = ("opened", "seal", "erase")
# The same names as a checked choice (a test keeps it equal to ACTIONS and EVENTS).
EventName = Literal[
    "opened",
    "seal",
    "erase",
    "tamper",
    "seal-broken",
    "housing-broken",
    "route-deviation",
    "malfunction",
    "battery",
    "no-messages",
    "unauthorised",
    "position",
    "read",
]


@lock_app.command("carrier-ca")
def carrier_ca(
    out: Annotated[Path, typer.Option("--out", help=N_("Directory for the carrier CA."))],
    name: Annotated[str, typer.Option("--name", help=N_("The CA's name."))] = "Carrier lock CA",
    as_json: JsonOpt = False,
) -> None:
    """Create a carrier CA that certifies lock device keys.

    \b
    Examples:
      ctop-node lock carrier-ca --out carrier-ca --name 'KTZ Express lock CA'
    """
    path = save_carrier(CarrierCA.create(name), out)
    if as_json:
        print_json({"name": name, "path": str(path)})
        return
    console.print(_("Carrier CA written: {path}").format(path=path), highlight=False)


@lock_app.command("provision")
def provision(
    lock_id: Annotated[str, typer.Argument(help=N_("The lock's ID (as in smart_lock_id)."))],
    carrier: Annotated[Path, typer.Option("--carrier", help=N_("Carrier CA directory."))],
    out: Annotated[Path, typer.Option("--out", help=N_("Lock image file to create."))],
    capacity: Annotated[
        int, typer.Option("--capacity", min=256, help=N_("Payload capacity in bytes."))
    ] = DEFAULT_CAPACITY,
    as_json: JsonOpt = False,
) -> None:
    """Provision a lock: device key, certificate from the carrier, empty log.

    \b
    Examples:
      ctop-node lock provision LOCK-0001 --carrier carrier-ca --out lock-0001.img
    """
    if out.exists():
        raise UsageError(_("{path} exists already").format(path=out))
    device = LockDevice.provision(lock_id, load_carrier(carrier), capacity=capacity)
    device.save(out)
    if as_json:
        print_json({"lock_id": lock_id, "capacity": capacity, "path": str(out)})
        return
    console.print(
        _("Lock {lock_id} provisioned ({capacity} bytes): {path}").format(
            lock_id=lock_id, capacity=capacity, path=out
        ),
        highlight=False,
    )


@lock_app.command("trust-carrier")
def trust(
    pem: Annotated[Path, typer.Argument(help=N_("Carrier CA certificate (PEM)."))],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Trust a carrier's CA for lock device certificates (arrival customs).

    \b
    Examples:
      ctop-node lock trust-carrier carrier-ca/ca.pem --home /var/lib/ctop
    """
    config = NodeConfig.load(home)
    path = trust_carrier(config.home, pem)
    if as_json:
        print_json({"trusted": str(path)})
        return
    console.print(_("Carrier CA trusted: {path}").format(path=path), highlight=False)


@lock_app.command("write")
def write(
    record_id: Annotated[str, typer.Argument(help=N_("The record to write."))],
    lock: LockOpt,
    home: HomeOpt = None,
    mode: Annotated[
        Literal["full", "digest"],
        typer.Option("--mode", help=N_("full: the record; digest: its digest only.")),
    ] = "full",
    peer: Annotated[str | None, typer.Option("--peer", help=N_("Arrival Party."))] = None,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Departure customs: write a stored record version to a lock and seal it.

    \b
    Examples:
      ctop-node lock write KZ-2026-000123 --lock lock-0001.img --home /var/lib/ctop
      ctop-node lock write KZ-2026-000123 --lock lock-0001.img --mode digest --peer CN --json
    """
    config = NodeConfig.load(home)
    with open_store(config.db_url) as store:
        result = write_record(config, store, record_id, lock, mode=mode, peer=peer, version=version)
    if as_json:
        print_json(result.as_dict())
        return
    console.print(
        _(
            "Record {record_id} v{version} for {peer} written to lock {lock_id} "
            "({size} of {capacity} bytes, {mode} mode) and sealed"
        ).format(**result.as_dict()),
        highlight=False,
    )
    if not result.declared:
        err_console.print(
            _("Warning: lock {lock_id} is not declared in the record").format(
                lock_id=result.lock_id
            ),
            highlight=False,
        )


@lock_app.command("event")
def event(
    kind: Annotated[EventName, typer.Argument(help=N_("What happened."))],
    lock: LockOpt,
    lat: Annotated[float | None, typer.Option("--lat")] = None,
    lon: Annotated[float | None, typer.Option("--lon")] = None,
    reader: Annotated[str | None, typer.Option("--reader", help=N_("Reader ID."))] = None,
    pct: Annotated[int | None, typer.Option("--pct", help=N_("Battery per cent."))] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record what happens to a lock on the way (or open, seal, erase it).

    \b
    Examples:
      ctop-node lock event position --lock lock-0001.img --lat 44.21 --lon 80.41
      ctop-node lock event opened --lock lock-0001.img --reader KHORGOS-R1
    """
    device = LockDevice.load(lock)
    if kind == "opened":
        device.open(_need(reader, "--reader"))
    elif kind == "seal":
        device.seal()
    elif kind == "erase":
        device.erase()
    elif kind == "position":
        if lat is None or lon is None:
            raise UsageError(_("position needs --lat and --lon"))
        device.record(EventCode.POSITION, position_data(lat, lon))
    elif kind == "read":
        device.read_by_authority(_need(reader, "--reader"), nonce=LockReader.challenge())
    elif kind in EVENTS:
        device.record(EVENTS[kind], {} if pct is None else {"pct": pct})
    else:
        raise UsageError(_("unknown event {kind}").format(kind=kind))
    device.save()
    if as_json:
        print_json({"lock_id": device.lock_id, "event": kind, "state": device.state.value})
        return
    console.print(
        _("Lock {lock_id}: {kind} recorded, state {state}").format(
            lock_id=device.lock_id, kind=kind, state=device.state.value
        ),
        highlight=False,
    )


def _need(value: str | None, option: str) -> str:
    if not value:
        raise UsageError(_("this event needs {option}").format(option=option))
    return value


@lock_app.command("read")
def read(
    file: Annotated[Path, typer.Argument(help=N_("The lock image as pulled by the reader."))],
    home: HomeOpt = None,
    carrier_ca: Annotated[
        list[Path] | None, typer.Option("--carrier-ca", help=N_("Extra trusted carrier CA (PEM)."))
    ] = None,
    reader: Annotated[str, typer.Option("--reader", help=N_("This reader's ID."))] = "",
    nonce: Annotated[
        str | None,
        typer.Option(
            "--nonce",
            help=N_(
                "The fresh challenge the reader sent the lock, when the image was pulled "
                "by another device (default: this command challenges the simulated lock)."
            ),
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Arrival customs: verify a lock and store its record through the inbox.

    \b
    Examples:
      ctop-node lock read lock-0001.img --home /var/lib/ctop --reader KHORGOS-R1
      ctop-node lock read lock-0001.img --carrier-ca carrier-ca/ca.pem --home /var/lib/ctop --json
    """
    config = NodeConfig.load(home)
    reader_id = reader or f"{config.party}-READER"
    cas = trusted_carriers(config.home, carrier_ca or [])
    if not cas:
        raise UsageError(_("no trusted carrier CA: run `ctop-node lock trust-carrier PEM`"))
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise LockError(f"cannot read {file}: {exc}", code="lock.file.io") from exc
    if nonce is None:
        if not file.with_name(file.name + ".key").exists():
            raise UsageError(
                _(
                    "lock read: give --nonce (the challenge the reader sent the lock), or keep "
                    "the simulated lock's key next to its image so this command can challenge it"
                )
            )
        # The simulator's device is at hand: send it a fresh challenge and have it sign its
        # authority reading over it, as a real reader does before pulling the image.
        nonce = LockReader.challenge()
        data = LockDevice.load(file).read_by_authority(reader_id, nonce=nonce)
        file.write_bytes(data)
    skew = timedelta(seconds=config.node.lock_expiry_skew_s)
    keys = node_keys(config.home)
    with open_store(config.db_url) as store:
        result = LockReader(
            config.party,
            store,
            keys.signer,
            keys.decryptor,
            keys.trust,
            cas,
            expiry_skew=skew,
        ).read(data, reader_id=reader_id, nonce=nonce, at=datetime.now(UTC))
    if as_json:
        print_json(result.as_dict())
    else:
        console.print(
            _(
                "Lock {lock_id}: record {record_id} v{version} of {sender_party} "
                "({mode} mode), inbox: {inbox_state}"
            ).format(**result.as_dict()),
            highlight=False,
        )
        for f in result.findings:
            err_console.print(
                _("Discrepancy {code}: {message}").format(code=f.code, message=f.message),
                highlight=False,
            )
        for e in result.errors:
            err_console.print(f"{e.code} {e.field}: {e.message}", highlight=False)
    if result.inbox_state == "rejected":
        raise typer.Exit(1)


@lock_app.command("pending")
def pending(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Departure customs: record versions to write to smart locks (carrier wish or fallback).

    \b
    Examples:
      ctop-node lock pending --home /var/lib/ctop
      ctop-node lock pending --home /var/lib/ctop --json
    """
    config = NodeConfig.load(home)
    with open_store(config.db_url) as store:
        items = pending_locks(store, now=datetime.now(UTC), fallback=fallback_after(config))
    if as_json:
        print_json({"pending": [i.as_dict() for i in items]})
        return
    for i in items:
        console.print(
            f"{i.record_id} v{i.version} -> {i.peer}  "
            f"{', '.join(i.lock_ids) or _('no smart lock declared')}  [{i.reason}] {i.detail}",
            highlight=False,
            markup=False,
        )
    console.print(_("{n} record versions to write to locks").format(n=len(items)))


def register(app: typer.Typer) -> None:
    app.add_typer(lock_app, name="lock")


@lock_app.command("demo")
def demo(
    home: Annotated[Path, typer.Option("--home", help=N_("Where the demo nodes live."))] = Path(
        "demo-data/lock"
    ),
    seed: Annotated[int, typer.Option(help=N_("Seed of the sample train."))] = 2021,
    timeout: Annotated[float, typer.Option(help=N_("Seconds to wait for delivery."))] = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """One train, link cut: records go by smart lock, are read at CN and reconciled.

    \b
    Examples:
      ctop-node lock demo
      ctop-node lock demo --seed 3 --json
    """
    from ctop_node.cli.lock_demo import run_lock_demo

    def say(msg: str) -> None:
        if not as_json:
            err_console.print(msg, highlight=False)

    report = run_lock_demo(home, seed=seed, timeout=timeout, say=say)
    if as_json:
        print_json(report)
    else:
        console.print(
            _("Lock demo verdicts: {counts}").format(
                counts=", ".join(f"{k} {v}" for k, v in report["verdicts"].items())
            ),
            highlight=False,
        )

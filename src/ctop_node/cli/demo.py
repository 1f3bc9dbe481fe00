"""``ctop-node demo``: two real nodes (KZ and CN) on loopback exchange a train's records.

Each node is its own ``ctop-node serve`` process with its own SQLite database, keys and
certificates; the trust bundles are exchanged as the two Parties would. Both clearance systems
post their sample trains to their node's internal API; the counts printed at the end are read
from the two databases, not from the sender's belief.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer

from ctop_node.access.sessions import Accounts
from ctop_node.cli._common import JsonOpt, err_console, print_json
from ctop_node.cli.control_demo import run_control_demo
from ctop_node.i18n import N_, _
from ctop_node.localnet import LocalNode, create_nodes, stop_all
from ctop_node.reports.exchange import exchange_counts
from ctop_node.sample import generate
from ctop_node.store import open_store
from ctop_node.store.users import UserStore


def _post_sample(node: LocalNode, trains: int, seed: int) -> dict[str, Any]:
    body = b"".join(orjson.dumps(r) + b"\n" for r in generate(trains, seed, party=node.party))
    r = httpx.post(
        f"{node.api_url}/api/v1/records",
        content=body,
        headers={"Authorization": f"Bearer {node.token}", "Content-Type": "application/x-ndjson"},
        timeout=300,
    )
    r.raise_for_status()
    result: dict[str, Any] = r.json()
    return result


def _drained(nodes: dict[str, LocalNode]) -> bool:
    for node in nodes.values():
        status = httpx.get(
            f"{node.api_url}/api/v1/status",
            headers={"Authorization": f"Bearer {node.token}"},
            timeout=10,
        ).json()
        if status["totals"]["pending"]:
            return False
    return True


DEMO_USER = "demo-officer"


def _demo_officer(nodes: dict[str, LocalNode]) -> str:
    """An arrival officer on every demo node, with one generated password (printed once)."""
    password = secrets.token_urlsafe(12)
    for node in nodes.values():
        with open_store(node.db_url) as store:
            Accounts(UserStore(store.engine)).add_user(DEMO_USER, "arrival_officer", password)
    return password


def _write_reports(nodes: dict[str, LocalNode], home: Path) -> dict[str, str]:
    """Each Party's evaluation report (HTML) of today's exchange, from its own database."""
    from ctop_node.cli.report import make_report
    from ctop_node.reports.render import write_report

    today = datetime.now(UTC).date()
    written = {}
    for node in nodes.values():
        data = make_report(node.home, today, today)
        (path,) = write_report(data, home / f"report-{node.party.lower()}", "html")
        written[node.party] = str(path.resolve())
    return written


def demo(
    home: Annotated[Path, typer.Option("--home", help=N_("Where the demo nodes live."))] = Path(
        "demo-data"
    ),
    trains: Annotated[int, typer.Option(help=N_("Trains per Party."))] = 1,
    seed: Annotated[int, typer.Option(help=N_("Seed of the sample data."))] = 2021,
    once: Annotated[bool, typer.Option("--once", help=N_("Exchange, report, stop."))] = False,
    timeout: Annotated[
        float, typer.Option(help=N_("Seconds to wait for the nodes to start and for delivery."))
    ] = 120.0,
    lock_demo: Annotated[
        bool,
        typer.Option("--lock-demo", help=N_("First: one train whose link is cut goes by lock.")),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start a KZ and a CN node on loopback and exchange sample trains between them.

    \b
    Examples:
      ctop-node demo
      ctop-node demo --trains 5 --once --lock-demo --json
    """
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    started = time.monotonic()
    nodes = create_nodes(home.resolve())
    demo_password = _demo_officer(nodes)

    def say(msg: str) -> None:
        if not as_json:
            err_console.print(msg, highlight=False)

    lock_report = None
    if lock_demo:  # the smart-lock part runs first, on its own pair of nodes
        from ctop_node.cli.lock_demo import run_lock_demo

        lock_report = run_lock_demo(home / "lock", seed=seed, timeout=timeout, say=say)
        say(
            _("Lock demo verdicts: {counts}").format(
                counts=", ".join(f"{k} {v}" for k, v in lock_report["verdicts"].items())
            )
        )

    try:
        for node in nodes.values():
            node.start()
        for node in nodes.values():
            node.wait_ready(timeout)
        say(
            _("Nodes up in {s:.1f} s: {urls}").format(
                s=time.monotonic() - started,
                urls=", ".join(
                    f"{n.party} peer {n.peer_url} api {n.api_url}" for n in nodes.values()
                ),
            )
        )
        t0 = time.monotonic()
        ingested = {}
        for node in nodes.values():
            ingested[node.party] = _post_sample(node, trains, seed)
            say(
                f"{node.party}: "
                + _(
                    "{read} records from the clearance system: {to_send} to send, "
                    "{not_applicable} not applicable, {excluded} excluded, {rejected} rejected"
                ).format(**ingested[node.party])
            )
        deadline = time.monotonic() + timeout
        stop = threading.Event()
        while not _drained(nodes) and time.monotonic() < deadline:
            stop.wait(0.1)
        elapsed = time.monotonic() - t0
        report: dict[str, Any] = {"seconds": round(elapsed, 3), "ingested": ingested}
        flows = []
        for a in nodes.values():
            for b in nodes.values():
                if a is b:
                    continue
                with (
                    open_store(a.db_url, migrate=False) as sa,
                    open_store(b.db_url, migrate=False) as sb,
                ):
                    flows.append(exchange_counts(sa, sb, a.party, b.party))
        for key in (
            "sent",
            "delivered",
            "rejected",
            "pending",
            "dead",
            "stored_at_peer",
            "duplicates",
            "lost",
            "corrupted",
        ):
            report[key] = sum(getattr(f, key) for f in flows)
        report["flows"] = [f.as_dict() for f in flows]
        # An arrival officer at CN controls a KZ container: a discrepancy and a control
        # result that travels back to KZ, through the login, the form and the API.
        control = run_control_demo(
            nodes["KZ"], nodes["CN"], DEMO_USER, demo_password, timeout=timeout
        )
        report["control"] = control.as_dict()
        if lock_report is not None:
            report["lock"] = lock_report
        report["urls"] = {
            n.party: {"peer": n.peer_url, "api": n.api_url, "ui": f"{n.api_url}/ui/"}
            for n in nodes.values()
        }
        report["demo_login"] = {"user": DEMO_USER, "password": demo_password}
        report["reports"] = _write_reports(nodes, home)
        if as_json:
            print_json(report)
        else:
            for f in flows:
                say(
                    _(
                        "{sender} -> {receiver}: {sent} sent, {delivered} delivered with a signed "
                        "receipt, {stored_at_peer} stored at {receiver}, {duplicates} duplicates, "
                        "{lost} lost"
                    ).format(**f.as_dict())
                )
            for path in report["reports"].values():
                typer.echo(_("Evaluation report of the demo exchange: {path}").format(path=path))
            typer.echo(
                _(
                    "Exchange finished in {s:.2f} s: {delivered} of {sent} delivered, "
                    "{lost} lost, {duplicates} duplicates"
                ).format(
                    s=elapsed,
                    delivered=report["delivered"],
                    sent=report["sent"],
                    lost=report["lost"],
                    duplicates=report["duplicates"],
                )
            )
            for n in nodes.values():
                typer.echo(
                    _("{party} officers' UI: {url}").format(party=n.party, url=f"{n.api_url}/ui/")
                )
            typer.echo(
                _("Demo login (arrival officer): user {user}, password {password}").format(
                    user=DEMO_USER, password=demo_password
                )
            )
            typer.echo(
                _(
                    "Discrepancy at CN ({codes}) on container {container}: {url} (its train: "
                    "{train_url})"
                ).format(
                    codes=", ".join(control.discrepancies),
                    container=control.container,
                    url=control.urls["cn_container"],
                    train_url=control.urls["cn_train"],
                )
            )
            typer.echo(
                _(
                    "Control result (goods held) recorded at CN: {cn_url}; returned signed to "
                    "KZ and shown on its record: {kz_url}"
                ).format(cn_url=control.urls["cn_record"], kz_url=control.urls["kz_record"])
            )
            if once:
                typer.echo(
                    _(
                        "The nodes stop now (--once); run `make demo DEMO_ARGS=` to keep "
                        "them and the officers' UI running"
                    )
                )
            if not once:
                say(
                    _("Nodes keep running; press Ctrl-C to stop. Homes in {path}").format(path=home)
                )
                try:
                    while all(n.proc and n.proc.poll() is None for n in nodes.values()):
                        stop.wait(1.0)
                except KeyboardInterrupt:
                    pass
    finally:
        stop_all(nodes)
    if report["pending"] or report["lost"] or report["duplicates"] or report["corrupted"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

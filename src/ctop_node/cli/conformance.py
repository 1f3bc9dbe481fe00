"""``ctop-node conformance``: the conformance kit (``prepare``, ``list``, ``run``) and the
partner simulator (``serve``, ``send``). See docs/conformance.md."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ctop_node.cli._common import JsonOpt, console, err_console, print_json
from ctop_node.cli._logging import LogLevel
from ctop_node.conformance import scenarios
from ctop_node.conformance.kit import KitHome, prepare
from ctop_node.conformance.runner import Outcome, Report, Runner
from ctop_node.conformance.simulator import CONTROL_PREFIX, Simulator
from ctop_node.errors import TransportError, UsageError
from ctop_node.i18n import N_, _

conformance_app = typer.Typer(
    help=N_("Conformance kit and partner simulator for a foreign peer implementation."),
    no_args_is_help=True,
)

KitOpt = Annotated[Path, typer.Option("--home", help=N_("The kit home (made by `prepare`)."))]
PeerOpt = Annotated[
    str | None, typer.Option("--peer", help=N_("The peer Party (default: the only one imported)."))
]
OnlyOpt = Annotated[
    list[str] | None,
    typer.Option("--only", help=N_("Scenario number or name (repeat; default: all).")),
]
LockReaderOpt = Annotated[
    str | None,
    typer.Option(
        "--lock-reader",
        help=N_("Command that makes the peer read a lock image; {image} is its path."),
    ),
]


@conformance_app.command("prepare")
def prepare_cmd(
    home: KitOpt,
    party: Annotated[str, typer.Option("--party", help=N_("The Party the kit plays, e.g. KZ."))],
    peer_trust: Annotated[
        Path | None, typer.Option("--peer-trust", help=N_("The peer's trust bundle to import."))
    ] = None,
    peer_port: Annotated[int, typer.Option("--peer-port", help=N_("Simulator peer port."))] = 8443,
    control_port: Annotated[
        int, typer.Option("--control-port", help=N_("Simulator control port."))
    ] = 8081,
    as_json: JsonOpt = False,
) -> None:
    """Make a kit home: keys of PARTY, test certificates, the trust bundle for the peer.

    \b
    Examples:
      ctop-node conformance prepare --home kit --party KZ --peer-trust their-trust.json
    """
    kit = prepare(
        home, party.upper(), peer_trust=peer_trust, peer_port=peer_port, api_port=control_port
    )
    if as_json:
        print_json(
            {
                "party": kit.party,
                "home": str(home),
                "trust_file": str(kit.trust_file),
                "carrier_ca": str(kit.carrier_dir / "carrier-ca.pem"),
            }
        )
        return
    console.print(
        _("Kit home of {party} ready in {path}").format(party=kit.party, path=home),
        highlight=False,
    )
    console.print(
        _("The peer imports {bundle} (and trusts {carrier} to read the kit's lock images)").format(
            bundle=kit.trust_file, carrier=kit.carrier_dir / "carrier-ca.pem"
        ),
        highlight=False,
    )


@conformance_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """The numbered scenarios: what is sent and what the spec says comes back.

    \b
    Examples:
      ctop-node conformance list
      ctop-node conformance list --json
    """
    if as_json:
        print_json(
            [
                {"number": s.number, "name": s.name, "sends": s.sends, "expects": s.expects}
                for s in scenarios.ALL
            ]
        )
        return
    for s in scenarios.ALL:
        console.print(f"[bold]{s.number:>2} {escape(s.name)}[/]", highlight=False)
        console.print(f"   {escape(s.sends)}\n   -> {escape(s.expects)}", highlight=False)


def _line(outcome: Outcome) -> str:
    s = outcome.scenario
    mark = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]"}.get(
        outcome.status, "[dim]SKIP[/]"
    )
    text = f"{mark} {s.number:>2} {escape(s.name)}"
    if outcome.failure is not None:
        f = outcome.failure
        text += "\n     " + _("step {n} ({title}): expected {expected}, got {got}").format(
            n=f.step, title=escape(f.title), expected=escape(f.expected), got=escape(f.got)
        )
        text += "".join(f"\n     - {escape(p)}" for p in f.problems)
    elif outcome.note:
        text += f" ({escape(outcome.note)})"
    return text


def _summary(report: Report) -> str:
    return _("Conformance: {passed} passed, {failed} failed, {skipped} skipped").format(
        passed=report.count("passed"),
        failed=report.count("failed"),
        skipped=report.count("skipped"),
    )


@conformance_app.command("run")
def run(
    against: Annotated[str, typer.Option("--against", help=N_("The peer endpoint, https://h:p."))],
    home: KitOpt,
    peer: PeerOpt = None,
    only: OnlyOpt = None,
    lock_reader: LockReaderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Play the scenarios against a peer node as the kit's Party and judge its answers.

    \b
    Examples:
      ctop-node conformance run --against https://their-node.example:8443 --home kit
      ctop-node conformance run --against https://peer.example:8443 --home kit --only replay --json
    """
    try:
        chosen = scenarios.select(only)
    except KeyError as exc:
        raise UsageError(
            _("no conformance scenario {name}").format(name=exc), code="usage.scenario"
        ) from exc
    runner = Runner(KitHome(home), against, peer=peer, options={"lock_reader": lock_reader})
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(_("Conformance scenarios"), total=len(chosen))

        def done(outcome: Outcome) -> None:
            progress.advance(task)
            if not as_json:
                progress.console.print(_line(outcome), highlight=False)

        report = runner.run(chosen, done)
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(_summary(report), highlight=False)
    if report.count("failed"):
        raise typer.Exit(1)


@conformance_app.command("serve")
def serve(
    home: KitOpt,
    against: Annotated[
        str | None,
        typer.Option("--against", help=N_("The foreign node's peer endpoint, for `send`.")),
    ] = None,
    host: Annotated[str, typer.Option(help=N_("Address of the peer port."))] = "127.0.0.1",
    peer_port: Annotated[int | None, typer.Option("--peer-port")] = None,
    control_port: Annotated[int | None, typer.Option("--control-port")] = None,
    lock_reader: LockReaderOpt = None,
    log_level: Annotated[
        LogLevel, typer.Option(help=N_("Least severe level logged."))
    ] = LogLevel.info,
) -> None:
    """Run the partner simulator: a peer endpoint answering as the spec says, and a control
    port (loopback) that plays scenarios toward the foreign node.

    \b
    Examples:
      ctop-node conformance serve --home kit --peer-port 9443 --control-port 9444
    """
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    kit = KitHome(home).check()
    config = kit.config
    peer = peer_port or config.peer_port
    control = control_port or config.api_port
    if not peer or not control:
        raise UsageError(_("the simulator needs --peer-port and --control-port"), code="usage.port")
    simulator = Simulator(kit, against, {"lock_reader": lock_reader})
    err_console.print(
        _("Simulator {party}: peer port {peer}, control http://127.0.0.1:{control}").format(
            party=config.party, peer=peer, control=control
        ),
        highlight=False,
    )
    simulator.serve(host, peer, control)


@conformance_app.command("send")
def send(
    scenario: Annotated[list[str], typer.Argument(help=N_("Scenario numbers or names."))],
    control: Annotated[
        str, typer.Option("--control", help=N_("The simulator's control URL."))
    ] = "http://127.0.0.1:8081",
    url: Annotated[
        str | None, typer.Option("--url", help=N_("Override the foreign node's endpoint."))
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Tell a running simulator to play scenarios toward the foreign node.

    \b
    Examples:
      ctop-node conformance send consignment --control http://127.0.0.1:9444
      ctop-node conformance send consignment replay --control http://127.0.0.1:9444 --json
    """
    body: dict[str, Any] = {"scenarios": scenario}
    if url:
        body["url"] = url
    try:
        r = httpx.post(f"{control.rstrip('/')}{CONTROL_PREFIX}/run", json=body, timeout=600)
    except httpx.HTTPError as exc:
        raise TransportError(f"{control}: {exc}", code="conformance.control") from exc
    data = r.json()
    if r.status_code != 200:
        raise UsageError(f"{data.get('code')}: {data.get('message')}", code="usage.scenario")
    if as_json:
        print_json(data)
    else:
        for s in data["scenarios"]:
            console.print(f"{s['status'].upper()} {s['number']:>2} {escape(s['name'])}")
            if s["failure"]:
                for p in s["failure"]["problems"]:
                    console.print(f"     - {escape(p)}", highlight=False)
    if data["failed"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(conformance_app, name="conformance")

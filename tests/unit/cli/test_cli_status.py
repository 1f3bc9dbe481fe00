"""``ctop-node status`` and ``ctop-node peer add|list`` on a real node home."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ctop_node.cli import peer as peer_cli
from ctop_node.cli import status as status_cli
from ctop_node.cli.pki import init
from ctop_node.config import NodeConfig
from ctop_node.errors import ConfigError
from ctop_node.online.peers import PeerConfig
from ctop_node.store import open_store
from ctop_node.store.outbox import Outbox
from tests.unit.store._entries import entry, with_id


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("init")(init)
    status_cli.register(app)
    peer_cli.register(app)
    return app


@pytest.fixture
def home(tmp_path: Path, cli: typer.Typer) -> Path:
    home = tmp_path / "kz"
    result = CliRunner().invoke(cli, ["init", "--party", "KZ", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return home


def test_peer_add_writes_node_json(cli: typer.Typer, home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["peer", "add", "cn", "--url", "https://127.0.0.1:8443/", "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    assert "CN" in result.output
    data = json.loads((home / "node.json").read_text())
    assert data["peers"] == {"CN": {"url": "https://127.0.0.1:8443"}}
    assert NodeConfig.load(home).party == "KZ"  # the rest of node.json kept
    with pytest.raises(ConfigError) as no_trust:
        PeerConfig.load(home)
    assert no_trust.value.code == "config.peer_trust"
    listed = runner.invoke(cli, ["peer", "list", "--home", str(home), "--json"])
    assert json.loads(listed.stdout) == [
        {"party": "CN", "url": "https://127.0.0.1:8443", "trust": False}
    ]
    bad = runner.invoke(cli, ["peer", "add", "CN", "--url", "http://x:1", "--home", str(home)])
    assert bad.exit_code != 0 and getattr(bad.exception, "code", "") == "config.peer_url"
    own = runner.invoke(cli, ["peer", "add", "KZ", "--url", "https://x:1", "--home", str(home)])
    assert getattr(own.exception, "code", "") == "config.peer_self"


def test_status_json_and_table(cli: typer.Typer, home: Path, record_dict: dict[str, Any]) -> None:
    runner = CliRunner()
    runner.invoke(
        cli, ["peer", "add", "CN", "--url", "https://127.0.0.1:8443", "--home", str(home)]
    )
    url = NodeConfig.load(home).db_url
    with open_store(url) as store:
        store.write_batch(
            [entry(with_id(record_dict, f"KZ-{n}")) for n in range(3)], origin_party="KZ"
        )
        box = Outbox(store.engine)
        first, second, _ = box.due("CN", 10, datetime.now(UTC) + timedelta(seconds=1))
        now = datetime.now(UTC)
        box.mark_delivered(first.id, b"receipt", now)
        box.mark_rejected(second.id, b"rejection", "record.container.mass", now, "too heavy")
        box.record_failure("CN", "[transport.unreachable] refused", now, timedelta(seconds=60))
    result = runner.invoke(cli, ["status", "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    cn = data["peers"]["CN"]
    assert data["party"] == "KZ"
    assert (cn["outbox_depth"], cn["delivered"], cn["rejected"], cn["circuit"]) == (1, 1, 1, "open")
    assert cn["consecutive_failures"] == 1 and "refused" in cn["last_error"]
    assert cn["oldest_pending_age_s"] >= 0 and cn["last_delivery"] is not None
    assert data["totals"] == {
        "pending": 1,
        "delivered": 1,
        "rejected": 1,
        "dead": 0,
        "withdrawn": 0,
    }
    (rej,) = data["rejections"]
    assert (rej["record_id"], rej["version"], rej["code"]) == ("KZ-1", 1, "record.container.mass")
    table = runner.invoke(cli, ["status", "--home", str(home)])
    assert table.exit_code == 0, table.output
    assert "KZ-1" in table.output and "open" in table.output  # narrow terminal: folded
    assert "1 pending, 1 delivered, 1 rejected, 0 dead" in table.output


# -- expiry of CRLs and certificates (issue 8) --------------------------------------------


def _init_at(tmp_path: Path, days_ago: float) -> Path:
    """A home whose PKI was made ``days_ago`` days ago (its CRL is that much older)."""
    from ctop_node.config import write_node_config
    from ctop_node.crypto.node import init_node

    home = tmp_path / "kz"
    then = datetime.now(UTC) - timedelta(days=days_ago)
    init_node(home, "KZ", clock=lambda: then)
    write_node_config(home, {"party": "KZ", "peer_port": 1, "api_port": 2})
    return home


@pytest.mark.parametrize(
    ("days_ago", "level", "exit_code"),
    [(1, "notice", 0), (24, "warning", 1), (29.5, "critical", 1), (31, "expired", 1)],
)
def test_status_check_on_crl_age(
    cli: typer.Typer, tmp_path: Path, days_ago: float, level: str, exit_code: int
) -> None:
    home = _init_at(tmp_path, days_ago)
    runner = CliRunner()
    result = runner.invoke(cli, ["status", "--home", str(home), "--check", "--json"])
    assert result.exit_code == exit_code, result.output
    data = json.loads(result.stdout)
    crl = next(e for e in data["pki"] if e["item"] == "crl" and e["party"] == "KZ")
    assert crl["level"] == level
    assert data["ok"] is (exit_code == 0)
    plain = runner.invoke(cli, ["status", "--home", str(home), "--check"])
    assert plain.exit_code == exit_code
    assert len(plain.stdout.strip().splitlines()) == 1  # one line for monitoring
    if exit_code:
        assert "KZ crl" in plain.stdout


def test_status_lists_days_left_of_every_certificate(cli: typer.Typer, home: Path) -> None:
    open_store(NodeConfig.load(home).db_url).close()
    result = CliRunner().invoke(cli, ["status", "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    items = {(e["party"], e["item"]) for e in json.loads(result.stdout)["pki"]}
    assert {("KZ", i) for i in ("ca", "crl", "signing", "encryption", "tls")} <= items


def test_certificate_near_expiry_fails_the_check(cli: typer.Typer, tmp_path: Path) -> None:
    home = _init_at(tmp_path, 825 - 20)  # node certificates last 825 days
    from ctop_node.crypto.pki import PartyCA, write_pem

    write_pem(home / "certs" / "crl.pem", PartyCA.load(home / "ca").resign_crl())
    result = CliRunner().invoke(cli, ["status", "--home", str(home), "--check"])
    assert result.exit_code == 1
    assert "expires in 20" in result.stdout or "expires in 19" in result.stdout


def test_unreadable_trust_material_fails_the_check(cli: typer.Typer, home: Path) -> None:
    (home / "certs" / "crl.pem").write_text("not a CRL")
    result = CliRunner().invoke(cli, ["status", "--home", str(home), "--check"])
    assert result.exit_code == 1
    assert "crypto.pki.crl_file" in result.stdout

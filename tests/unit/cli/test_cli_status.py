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

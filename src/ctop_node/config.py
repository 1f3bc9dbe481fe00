"""Node configuration: where its data lives, which Party it is, which database it uses.

A node's home directory (``--home``, ``CTOP_HOME`` or ``./.ctop``) holds ``node.json`` written
by ``ctop-node init``, the SQLite database by default, keys and certificates.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctop_node.errors import ConfigError
from ctop_node.model.identifiers import check_country

CONFIG_FILE = "node.json"


def default_home() -> Path:
    return Path(os.environ.get("CTOP_HOME") or ".ctop")


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'node.db').resolve()}"


@dataclass(frozen=True)
class NodeConfig:
    home: Path
    party: str
    db_url: str
    peer_port: int = 0
    api_port: int = 0
    settings: dict[str, Any] = field(default_factory=dict)  # the whole node.json

    @classmethod
    def load(
        cls, home: Path | None = None, *, party: str | None = None, db_url: str | None = None
    ) -> NodeConfig:
        """Read ``node.json`` when present; command-line values win over the file."""
        home = home or default_home()
        stored: dict[str, Any] = {}
        path = home / CONFIG_FILE
        if path.exists():
            try:
                stored = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}", code="config.unreadable") from exc
        party = (party or stored.get("party") or "").upper()
        if not party:
            raise ConfigError(
                f"no Party for the node in {home}: run `ctop-node init --party KZ` or pass --party",
                code="config.no_party",
            )
        try:
            check_country(party)
        except ValueError as exc:
            raise ConfigError(f"unknown Party {party!r}", code="config.party") from exc
        url = db_url or stored.get("db_url") or sqlite_url(home)
        return cls(
            home=home,
            party=party,
            db_url=url,
            peer_port=int(stored.get("peer_port") or 0),
            api_port=int(stored.get("api_port") or 0),
            settings=stored,
        )


def write_node_config(home: Path, settings: dict[str, Any]) -> NodeConfig:
    """Write ``node.json`` atomically (a crash never leaves half a file) and load it back."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(settings, indent=2) + "\n", "utf-8")
    tmp.replace(path)
    return NodeConfig.load(home)

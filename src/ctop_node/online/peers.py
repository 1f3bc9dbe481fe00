"""Where the peer Parties' nodes listen: the ``peers`` section of ``node.json``.

    "peers": {"CN": {"url": "https://127.0.0.1:8443"}}

The CA that the peer's TLS certificate must chain to is the one of its imported trust bundle
(``pki import-trust`` writes ``<home>/peers/<PARTY>/ca.pem``), so a peer is usable only once
its trust bundle is imported. Parties are data: a node may have any number of peers.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ctop_node.config import CONFIG_FILE
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import check_party
from ctop_node.errors import ConfigError, CryptoError

MESSAGES_PATH = "/ctop/v1/messages"


@dataclass(frozen=True, slots=True)
class PeerEndpoint:
    """The base URL of a peer node (``https://host:port``) and the CA bundle that its TLS
    certificate must chain to."""

    url: str
    ca_file: Path

    @property
    def messages_url(self) -> str:
        return self.url.rstrip("/") + MESSAGES_PATH


def _party(party: str) -> str:
    try:
        return check_party(party)
    except CryptoError as exc:
        raise ConfigError(exc.message, code="config.party") from exc


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"peer URL {url!r} must be https://host[:port] (mutual TLS only)",
            code="config.peer_url",
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"peer URL {url!r}: bad port", code="config.peer_url") from exc
    return url.rstrip("/")


def _read(home: Path) -> dict[str, Any]:
    path = home / CONFIG_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no {CONFIG_FILE} in {home}: run `ctop-node init` first", code="config.no_node"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", code="config.unreadable") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object", code="config.unreadable")
    return data


@dataclass(frozen=True)
class PeerConfig:
    """The peers of one node, read from its home."""

    home: Path
    endpoints: dict[str, PeerEndpoint]

    @classmethod
    def load(cls, home: Path, *, require_trust: bool = True) -> PeerConfig:
        """Read ``node.json``; with ``require_trust`` every peer must have its CA imported."""
        raw = _read(home).get("peers") or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{home / CONFIG_FILE}: peers must be an object", code="config.peer")
        paths = NodePaths(home)
        endpoints: dict[str, PeerEndpoint] = {}
        for party, entry in sorted(raw.items()):
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                raise ConfigError(f"peer {party}: no url", code="config.peer")
            code = _party(str(party))
            ca_file = paths.peer_dir(code) / "ca.pem"
            if require_trust and not ca_file.is_file():
                raise ConfigError(
                    f"peer {code}: no trust bundle imported ({ca_file} missing); run "
                    f"`ctop-node pki import-trust` with the bundle of {code}",
                    code="config.peer_trust",
                )
            endpoints[code] = PeerEndpoint(check_url(entry["url"]), ca_file)
        return cls(home, endpoints)

    @property
    def parties(self) -> list[str]:
        return sorted(self.endpoints)


def add_peer(home: Path, party: str, url: str) -> PeerEndpoint:
    """Add or replace one peer in ``node.json`` (other settings are kept as they are)."""
    code = _party(party)
    data = _read(home)
    if str(data.get("party", "")).upper() == code:
        raise ConfigError(f"{code} is this node's own Party", code="config.peer_self")
    peers = data.get("peers") or {}
    if not isinstance(peers, dict):
        raise ConfigError(f"{home / CONFIG_FILE}: peers must be an object", code="config.peer")
    peers[code] = {"url": check_url(url)}
    data["peers"] = dict(sorted(peers.items()))
    _write(home, data)
    return PeerEndpoint(peers[code]["url"], NodePaths(home).peer_dir(code) / "ca.pem")


def remove_peer(home: Path, party: str, *, forget_trust: bool = False) -> bool:
    """Take ``party`` out of ``peers`` (other settings kept); with ``forget_trust`` also delete
    its imported trust bundle, so its messages are refused from then on. False when the
    Party was no peer (and, with ``forget_trust``, had no bundle either)."""
    code = _party(party)
    data = _read(home)
    peers = data.get("peers") or {}
    if not isinstance(peers, dict):
        raise ConfigError(f"{home / CONFIG_FILE}: peers must be an object", code="config.peer")
    found = peers.pop(code, None) is not None
    if found:
        data["peers"] = peers
        _write(home, data)
    if forget_trust:
        bundle = NodePaths(home).peer_dir(code)
        if bundle.is_dir():
            shutil.rmtree(bundle)
            found = True
    return found


def _write(home: Path, data: dict[str, Any]) -> None:
    path = home / CONFIG_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    tmp.replace(path)  # atomically: a crash never leaves half a node.json

"""Node configuration: where its data lives, which Party it is, which database it uses.

A node's home directory (``--home``, ``CTOP_HOME`` or ``./.ctop``) holds ``node.json`` written
by ``ctop-node init``, the SQLite database by default, keys and certificates.

``node.json`` is checked whole by one pydantic-settings model, :class:`NodeSettings`: every key
a node reads, its type, default and unit, so a misspelt key is an error naming it (and the known
key it is closest to) instead of a setting silently ignored. ``CTOP_<KEY>`` environment
variables override the file (``CTOP_HTTP_TIMEOUT_S=5``); command-line options win over both.
docs/operations.md lists every field (a test holds the two together). Units are in the names:
``_s`` seconds, ``_h`` hours, ``_minutes``, ``_days``, ``_bytes``.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ctop_node.errors import ConfigError
from ctop_node.model.identifiers import check_country
from ctop_node.store.at_rest import KEY_FILE, use_key_file

CONFIG_FILE = "node.json"
ENV_PREFIX = "CTOP_"


def _no_bool(value: Any) -> Any:
    # JSON true is not 1 second: pydantic's lax mode would take it for a number.
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


Int = Annotated[int, BeforeValidator(_no_bool)]
Num = Annotated[float, BeforeValidator(_no_bool)]


class PeerEntry(BaseModel):
    """One entry of ``peers``: where that Party's node listens (``https://host:port``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str


class NodeSettings(BaseSettings):
    """``node.json``. Keys read by parts still being merged are declared here too, with the
    defaults those parts use, so a node's file is checked whole."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=True
    )

    # Identity and storage
    party: str = Field("", description="ISO 3166-1 alpha-2 code of this node's Party")
    node_name: str | None = Field(None, description="name in the node's certificate and logs")
    db_url: str | None = Field(None, description="SQLAlchemy URL; default: HOME/node.db (SQLite)")
    peers: dict[str, PeerEntry] = Field(
        default_factory=dict, description="peer Party -> {url}; written by `peer add`"
    )
    # Ports and listeners
    peer_port: Int = Field(0, ge=0, le=65535, description="mutual-TLS peer port")
    api_port: Int = Field(0, ge=0, le=65535, description="internal API, UI and /metrics port")
    peer_host: str | None = Field(None, description="peer port address; default 127.0.0.1")
    api_host: str | None = Field(None, description="API port address; default 127.0.0.1")
    api_tls_cert: str | None = Field(None, description="PEM certificate for the API port")
    api_tls_key: str | None = Field(None, description="PEM key for the API port")
    api_max_upload_bytes: Int = Field(64 * 1024 * 1024, ge=1, description="API body limit")
    # Peer port limits
    peer_max_connections: Int = Field(256, ge=1, description="handshakes + open connections")
    peer_handshake_timeout_s: Num = Field(10.0, ge=1, description="accept -> TLS up")
    peer_body_timeout_s: Num = Field(60.0, ge=1, description="first body byte -> whole body")
    peer_keepalive_s: Num = Field(5.0, ge=1, description="idle time between requests")
    peer_max_header_bytes: Int = Field(16 * 1024, ge=1, description="request line + headers")
    clock_skew_s: Num = Field(
        600.0, gt=0, le=86_400, description="accepted distance of a message's created_at"
    )
    # Sender
    http_timeout_s: Num = Field(15.0, gt=0, description="one HTTP exchange with a peer")
    circuit_failures: Int = Field(3, ge=1, description="failures in a row that open a circuit")
    circuit_open_s: Num = Field(10.0, gt=0, description="how long an open circuit waits")
    reseal_after_s: Num = Field(300.0, gt=0, description="kept sealed bytes resealed after")
    trust_push_interval_h: Num = Field(6.0, gt=0, description="trust update push period")
    # Lock channel
    lock_fallback_after_s: Num = Field(
        1800.0, ge=0, description="online outage before the lock channel is chosen"
    )
    lock_expiry_skew_s: Num = Field(600.0, ge=0, description="clock tolerance of a lock read")
    # Records, reports, UI
    retention_days: Int | None = Field(None, ge=1, description="`purge` default age")
    report_lock_share_threshold: Num = Field(
        0.05, ge=0, le=1, description="lock share flagged in the report"
    )
    ui_session_idle_minutes: Int = Field(30, ge=1, le=24 * 60, description="UI idle logout")
    ui_session_absolute_minutes: Int = Field(
        12 * 60, ge=1, le=7 * 24 * 60, description="UI session lifetime"
    )
    # Confidentiality (Art.6)
    audit_checkpoint_interval_s: Num = Field(
        3600.0, ge=1, description="period of the signed audit checkpoint while serving"
    )
    at_rest_key_file: str | None = Field(
        None, description="at-rest key file (0600); default HOME/keys/at-rest.json"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file (the file comes in as init values); no dotenv.
        return env_settings, init_settings


def _closest(key: str) -> str:
    match = difflib.get_close_matches(key, NodeSettings.model_fields, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def parse_settings(stored: dict[str, Any], *, source: str = "node.json") -> NodeSettings:
    """Validate ``stored`` (the file's object) with the environment's ``CTOP_*`` on top.
    ``ConfigError`` names the first bad key, why, and for an unknown key the closest known one."""
    try:
        return NodeSettings(**stored)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"]) or "?"
        if err["type"] == "extra_forbidden":
            hint = _closest(key) if len(err["loc"]) == 1 else ""
            raise ConfigError(
                f"{source}: unknown key {key!r}{hint}",
                code="config.unknown_key",
            ) from exc
        got = repr(err.get("input"))
        got = got if len(got) <= 60 else got[:57] + "..."
        raise ConfigError(
            f"{source}: {key}: {err['msg']} (got {got})", code="config.bad_value"
        ) from exc


def set_keys(settings: NodeSettings) -> dict[str, Any]:
    """What the file or the environment set, in ``node.json`` form: code written against the
    plain dict keeps its own defaults for the rest."""
    return settings.model_dump(mode="json", exclude_unset=True)


def default_home() -> Path:
    return Path(os.environ.get("CTOP_HOME") or ".ctop")


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'node.db').resolve()}"


def at_rest_key_file(home: Path, configured: str | None) -> Path | None:
    """The at-rest key of the node: ``configured`` (node.json's ``at_rest_key_file``), else
    ``HOME/keys/at-rest.json`` when ``init`` made one; None: record content is not sealed."""
    if configured:
        return Path(configured)
    default = home / "keys" / KEY_FILE
    return default if default.is_file() else None


def _unset() -> NodeSettings:
    return NodeSettings.model_construct()  # the defaults, without reading the environment


@dataclass(frozen=True)
class NodeConfig:
    home: Path
    party: str
    db_url: str
    peer_port: int = 0
    api_port: int = 0
    # What node.json (or CTOP_*) set, as a dict: code that reads keys by name keeps its own
    # defaults for the rest. New code reads ``node``, the typed model.
    settings: dict[str, Any] = field(default_factory=dict)
    node: NodeSettings = field(default_factory=_unset)

    @classmethod
    def load(
        cls, home: Path | None = None, *, party: str | None = None, db_url: str | None = None
    ) -> NodeConfig:
        """Read ``node.json`` when present; command-line values win over the environment
        (``CTOP_*``), which wins over the file. ``ConfigError`` names a bad or unknown key."""
        home = home or default_home()
        stored: Any = {}
        path = home / CONFIG_FILE
        if path.exists():
            try:
                stored = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}", code="config.unreadable") from exc
            if not isinstance(stored, dict):
                raise ConfigError(f"{path} is not a JSON object", code="config.unreadable")
        node = parse_settings(stored, source=str(path))
        party = (party or node.party).upper()
        if not party:
            raise ConfigError(
                f"no Party for the node in {home}: run `ctop-node init --party KZ` or pass --party",
                code="config.no_party",
            )
        try:
            check_country(party)
        except ValueError as exc:
            raise ConfigError(f"unknown Party {party!r}", code="config.party") from exc
        url = db_url or node.db_url or sqlite_url(home)
        # Art.6: the node's database is sealed with its own key. CTOP_AT_REST_KEY_FILE is
        # not recorded here: the store reads the environment itself, at each engine.
        key = at_rest_key_file(home, stored.get("at_rest_key_file"))
        if key is not None:
            use_key_file(url, key)
        return cls(
            home=home,
            party=party,
            db_url=url,
            peer_port=node.peer_port,
            api_port=node.api_port,
            settings=set_keys(node),
            node=node,
        )


def write_node_config(home: Path, settings: dict[str, Any]) -> NodeConfig:
    """Write ``node.json`` atomically (a crash never leaves half a file) and load it back;
    settings that ``load`` would refuse are refused before anything is written."""
    parse_settings(settings, source=str(home / CONFIG_FILE))
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(settings, indent=2) + "\n", "utf-8")
    tmp.replace(path)
    return NodeConfig.load(home)

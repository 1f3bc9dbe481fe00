"""``ctop-node serve``: run the node (peer port, internal API, sender) until stopped.

Each option below overrides the ``node.json`` key of the same name (``peer_host``,
``api_host``, ``api_tls_cert``, ``api_tls_key``, ``peer_max_connections``,
``peer_handshake_timeout_s``, ``peer_body_timeout_s``, ``peer_keepalive_s``); without either,
the default applies (docs/security.md, "Peer port" and "Internal API port").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctop_node.cli._common import DbOpt, HomeOpt
from ctop_node.cli._logging import LogFormat, LogLevel
from ctop_node.cli._logging import configure as configure_logging
from ctop_node.config import NodeConfig
from ctop_node.i18n import N_
from ctop_node.online.server import PeerLimits
from ctop_node.server import NodeServer


def serve(
    home: HomeOpt = None,
    db: DbOpt = None,
    peer_host: Annotated[
        str | None,
        typer.Option(help=N_("Address of the peer port (mutual TLS), e.g. 0.0.0.0 [127.0.0.1].")),
    ] = None,
    api_host: Annotated[
        str | None,
        typer.Option(help=N_("Address of the internal API (bearer token) [127.0.0.1].")),
    ] = None,
    api_cert: Annotated[
        Path | None, typer.Option(help=N_("TLS certificate (PEM) of the internal API."))
    ] = None,
    api_key: Annotated[
        Path | None, typer.Option(help=N_("TLS private key (PEM) of the internal API."))
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(help=N_("Peer port: open connections at most, handshakes included [256].")),
    ] = None,
    handshake_timeout: Annotated[
        float | None,
        typer.Option(help=N_("Peer port: seconds to complete the TLS handshake [10].")),
    ] = None,
    body_timeout: Annotated[
        float | None, typer.Option(help=N_("Peer port: seconds to send a request body [60]."))
    ] = None,
    keepalive: Annotated[
        float | None, typer.Option(help=N_("Peer port: idle seconds between requests [5]."))
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option(help=N_("Least severe level logged."))
    ] = LogLevel.info,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            help=N_(
                "text, or json: one object per line (time, level, event, code, peer, message_id)."
            )
        ),
    ] = LogFormat.text,
    api_max_upload: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=N_(
                "Largest upload the internal API takes, in bytes (default: node.json "
                "api_max_upload_bytes, else 64 MiB); larger ones get 413."
            ),
        ),
    ] = None,
) -> None:
    """Run the node: the peer endpoint (mutual TLS), the internal API and the sender.

    \b
    Examples:
      ctop-node serve --home /var/lib/ctop
      ctop-node serve --home /var/lib/ctop --peer-host 0.0.0.0 --log-format json --log-level warning
    """
    configure_logging(log_format, log_level)
    config = NodeConfig.load(home, db_url=db)
    limits = PeerLimits.from_settings(
        config.settings,
        max_connections=max_connections,
        handshake_timeout_s=handshake_timeout,
        body_timeout_s=body_timeout,
        keepalive_s=keepalive,
    )
    NodeServer(
        config,
        peer_host=peer_host,
        api_host=api_host,
        api_tls_cert=api_cert,
        api_tls_key=api_key,
        limits=limits,
        api_max_upload=api_max_upload,
    ).run()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)

"""``ctop-node serve``: run the node (peer port, internal API, sender) until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from ctop_node.cli._common import DbOpt, HomeOpt
from ctop_node.cli._logging import LogFormat, LogLevel
from ctop_node.cli._logging import configure as configure_logging
from ctop_node.config import NodeConfig
from ctop_node.server import NodeServer


def serve(
    home: HomeOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind both ports to.")] = "127.0.0.1",
    log_level: Annotated[LogLevel, typer.Option(help="Least severe level logged.")] = LogLevel.info,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            help="text, or json: one object per line (time, level, event, code, peer, message_id)."
        ),
    ] = LogFormat.text,
    api_max_upload: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Largest upload the internal API takes, in bytes (default: node.json "
            "api_max_upload_bytes, else 64 MiB); larger ones get 413.",
        ),
    ] = None,
) -> None:
    """Run the node: the peer endpoint (mutual TLS), the internal API and the sender."""
    configure_logging(log_format, log_level)
    NodeServer(NodeConfig.load(home, db_url=db), host=host, api_max_upload=api_max_upload).run()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)

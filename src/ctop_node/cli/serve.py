"""``ctop-node serve``: run the node (peer port, internal API, sender) until stopped."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ctop_node.cli._common import DbOpt, HomeOpt
from ctop_node.config import NodeConfig
from ctop_node.server import NodeServer


def serve(
    home: HomeOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind both ports to.")] = "127.0.0.1",
    log_level: Annotated[str, typer.Option(help="debug|info|warning|error")] = "info",
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
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    NodeServer(NodeConfig.load(home, db_url=db), host=host, api_max_upload=api_max_upload).run()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)

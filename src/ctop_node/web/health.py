"""Operator endpoints of the internal port: ``/healthz`` (the process answers), ``/readyz``
(fit for traffic: 503 with the reasons otherwise) and ``/metrics`` (Prometheus text format,
behind the API token like every other read of the node's state)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ctop_node.access.policy import Action, Purpose
from ctop_node.reports.health import readiness_problems
from ctop_node.reports.metrics import NodeCollector, metrics_registry, render
from ctop_node.store import SqlStore
from ctop_node.store.operations import OperationsQueries

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def add_ops_routes(
    app: FastAPI,
    *,
    token: str,
    readiness: Callable[[], list[str]],
    metrics: Callable[[], bytes],
) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        # Unauthenticated on purpose (liveness probes); says nothing about the data.
        return JSONResponse({"alive": True})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        problems = await run_in_threadpool(readiness)
        if problems:
            return JSONResponse({"ready": False, "reasons": problems}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get("/metrics", include_in_schema=False)
    async def get_metrics(request: Request) -> Response:
        access = getattr(app.state, "access", None)
        if access is not None:  # the internal app: the one access check (metrics.read)
            await run_in_threadpool(
                access.require, request, Action.READ_METRICS, Purpose.OPERATIONS
            )
            return Response(await run_in_threadpool(metrics), media_type=PROMETHEUS_TEXT)
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse(
                {"detail": {"code": "api.unauthorised", "message": "missing or wrong token"}},
                status_code=401,
            )
        return Response(await run_in_threadpool(metrics), media_type=PROMETHEUS_TEXT)


def add_node_probes(
    app: FastAPI,
    *,
    token: str,
    store: SqlStore,
    home: Path,
    party: str,
    peers: list[str],
    sender_alive: Callable[[], bool],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """The running node's probes and metrics on ``app`` (the internal API)."""
    readings = OperationsQueries(store.engine)
    registry = metrics_registry(
        NodeCollector(readings, store.outbox_queue, home, party, peers=peers, clock=clock)
    )
    add_ops_routes(
        app,
        token=token,
        readiness=lambda: readiness_problems(
            readings, home, party, sender_alive=sender_alive, now=clock()
        ),
        metrics=lambda: render(registry),
    )

"""The partner simulator: a node of the kit's Party that a foreign team points its system at.

Peer port (mutual TLS, the kit home's TLS certificate): the real ctop-node peer endpoint and
receiver (:func:`ctop_node.online.server.build_receiver`), so it answers exactly as the spec
says, on the kit home's own database.

Control port (plain HTTP without authentication, so always bound to 127.0.0.1: it is the
simulator's internal port)::

    GET  /conformance/v1/scenarios              the scenarios: number, name, sends, expects
    POST /conformance/v1/scenarios/{id}/run     play scenario {id} (number or name) toward the
                                                foreign node; body {"url": ...} optional
    POST /conformance/v1/run                    body {"scenarios": [...], "url": ...}: several
    GET  /conformance/v1/received               what the foreign node sent us (inbox rows)

A run answers with the same JSON as ``conformance run --json``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ctop_node.conformance import scenarios
from ctop_node.conformance.kit import KitHome
from ctop_node.conformance.runner import Report, Runner
from ctop_node.errors import CtopError
from ctop_node.online.endpoint import peer_app
from ctop_node.online.server import build_receiver, peer_tls_files, run_peer_server
from ctop_node.store import SqlStore, open_store

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/conformance/v1"


@dataclass
class Simulator:
    kit: KitHome
    against: str | None  # the foreign node's peer endpoint, https://host:port
    options: dict[str, Any]

    def play(self, wanted: list[str], url: str | None) -> Report:
        target = url or self.against
        if not target:
            raise CtopError(
                "no foreign node to play against: start with --against URL or pass url",
                code="conformance.no_target",
            )
        return Runner(self.kit, target, options=self.options).run(scenarios.select(wanted))

    def control_app(self, store: SqlStore) -> Starlette:
        async def list_scenarios(request: Request) -> Response:
            return JSONResponse(
                [
                    {"number": s.number, "name": s.name, "sends": s.sends, "expects": s.expects}
                    for s in scenarios.ALL
                ]
            )

        async def run(request: Request, wanted: list[str]) -> Response:
            body = await _json(request)
            url = body.get("url") if isinstance(body.get("url"), str) else None
            try:
                report = await run_in_threadpool(self.play, wanted, url)
            except KeyError as exc:
                return _problem(404, "conformance.unknown_scenario", f"no scenario {exc}")
            except CtopError as exc:
                return _problem(400, exc.code, exc.message)
            return JSONResponse(report.as_dict())

        async def run_one(request: Request) -> Response:
            return await run(request, [request.path_params["id"]])

        async def run_many(request: Request) -> Response:
            body = await _json(request)
            wanted = body.get("scenarios") or []
            if not isinstance(wanted, list):
                return _problem(400, "conformance.request", "scenarios must be a list")
            return await run(request, [str(w) for w in wanted])

        async def received(request: Request) -> Response:
            rows = await run_in_threadpool(store.inbox.list, limit=1000)
            return JSONResponse(
                [
                    {
                        "message_id": r.message_id,
                        "sender_party": r.sender_party,
                        "type": r.type,
                        "record_id": r.record_id,
                        "version": r.version,
                        "state": r.state,
                    }
                    for r in rows
                ]
            )

        return Starlette(
            routes=[
                Route(f"{CONTROL_PREFIX}/scenarios", list_scenarios, methods=["GET"]),
                Route(f"{CONTROL_PREFIX}/scenarios/{{id}}/run", run_one, methods=["POST"]),
                Route(f"{CONTROL_PREFIX}/run", run_many, methods=["POST"]),
                Route(f"{CONTROL_PREFIX}/received", received, methods=["GET"]),
            ]
        )

    def serve(self, host: str, peer_port: int, control_port: int) -> None:
        """Both ports until SIGINT/SIGTERM: the peer port is the node's own mutual-TLS server
        (:func:`run_peer_server`, in the main thread, which owns the signals); the control
        port runs beside it in a thread and stops with it."""
        config = self.kit.config
        tls = peer_tls_files(self.kit.home)
        with open_store(config.db_url) as store:
            receiver = build_receiver(self.kit.home, config.party, store)
            control = uvicorn.Server(
                uvicorn.Config(
                    self.control_app(store),
                    host="127.0.0.1",
                    port=control_port,
                    lifespan="off",
                    log_level="warning",
                    access_log=False,
                )
            )
            thread = threading.Thread(target=control.run, name="conformance-control", daemon=True)
            thread.start()
            log.info(
                "simulator %s: peer port %s, control port %s", config.party, peer_port, control_port
            )
            try:
                run_peer_server(peer_app(receiver), host, peer_port, tls)
            finally:
                control.should_exit = True
                thread.join(timeout=10)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)

"""The trust route of the peer port: a peer pushes its signed trust update here.

    POST /ctop/v1/trust   Content-Type: application/cose, body = one COSE_Sign1 (the update)
        200 application/cbor {"status": "applied"|"unchanged", "party", "crl_number",
                              "crl_next_update"}
        400 crypto.trust_update.malformed / .recipient / .time   413 .too_large
        403 .unknown_party / .other_ca / .crl / .certificate / .signer / .bad_signature
        409 .rollback                                            415 wrong content type

Errors carry the JSON body ``{"code", "message"}`` of the messages route. Verification is
``crypto.trust_update.apply_update`` (the pinned Party CA is the only anchor); a good update
replaces ``peers/<PARTY>/bundle.json`` and the running node's trust store is reloaded at
once. Updates are applied one at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import cbor2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ctop_node.crypto.pki import Clock, utcnow
from ctop_node.crypto.trust import HomeTrustStore
from ctop_node.crypto.trust_update import (
    MAX_UPDATE_BYTES,
    TrustUpdateRefused,
    UpdateResult,
    apply_update,
)
from ctop_node.errors import CryptoError

log = logging.getLogger(__name__)

TRUST_PATH = "/ctop/v1/trust"
COSE = "application/cose"
CBOR = "application/cbor"
_STATUS = {
    "crypto.trust_update.malformed": 400,
    "crypto.trust_update.recipient": 400,
    "crypto.trust_update.time": 400,
    "crypto.trust_update.too_large": 413,
    "crypto.trust_update.rollback": 409,
}


class TrustUpdates:
    """Applies trust updates to the node home ``home`` of Party ``party``; ``on_applied``
    runs after an update changed the stored bundle (reload the live trust store)."""

    def __init__(
        self,
        home: Path,
        party: str,
        *,
        on_applied: Callable[[], None] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.home = home
        self.party = party
        self.on_applied = on_applied
        self.clock = clock
        self._lock = threading.Lock()

    def apply(self, raw: bytes) -> UpdateResult:
        with self._lock:
            result = apply_update(self.home, raw, self.party, clock=self.clock)
            if result.status == "applied" and self.on_applied is not None:
                self.on_applied()
        return result

    def route(self) -> Route:
        return Route(TRUST_PATH, self._endpoint, methods=["POST"])

    async def _endpoint(self, request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != COSE:
            return _problem(415, "exchange.content_type", f"send {COSE}, not {ctype or 'nothing'}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_UPDATE_BYTES:
            return _too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPDATE_BYTES:
                return _too_large()
            chunks.append(chunk)
        try:
            result = await run_in_threadpool(self.apply, b"".join(chunks))
        except TrustUpdateRefused as exc:
            log.warning("trust update refused: %s", exc.code)
            return _problem(_STATUS.get(exc.code, 403), exc.code, exc.message)
        except CryptoError as exc:  # the pinned bundle on disk does not check
            log.error("trust update: stored trust does not check: %s", exc.code)
            return _problem(403, exc.code, exc.message)
        log.info("trust update of %s: %s (CRL %s)", result.party, result.status, result.crl_number)
        body = {
            "status": result.status,
            "party": result.party,
            "crl_number": result.crl_number,
            "crl_next_update": None
            if result.crl_next_update is None
            else result.crl_next_update.isoformat(),
        }
        return Response(bytes(cbor2.dumps(body)), media_type=CBOR)


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _too_large() -> JSONResponse:
    return _problem(
        413, "crypto.trust_update.too_large", f"a trust update is at most {MAX_UPDATE_BYTES} bytes"
    )


def trust_updates_for(party: str, trust: object) -> TrustUpdates | None:
    """Trust updates for a receiver whose trust store reads a node home (default-on in a
    running node); ``None`` for a trust store held in memory (tests, tools)."""
    if isinstance(trust, HomeTrustStore):
        return TrustUpdates(trust.home, party, on_applied=trust.reload, clock=trust.clock)
    return None

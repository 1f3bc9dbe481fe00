"""The kit's side of the wire: POST batches to the peer's ``/ctop/v1/messages`` over
mutual TLS with the kit home's TLS certificate, and keep what came back, raw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2
import httpx
import orjson

from ctop_node.conformance.kit import KitHome
from ctop_node.errors import TransportError
from ctop_node.online.endpoint import CBOR, HEALTH_PATH, MESSAGES_PATH
from ctop_node.online.http_client import tls_context

DEFAULT_TIMEOUT_S = 60.0


@dataclass
class Reply:
    """One HTTP answer of the peer. ``items`` is the decoded CBOR array of a 200 answer;
    ``problem`` the JSON body of a whole-request error; ``error`` what kept either from
    being read."""

    http: int
    body: bytes
    items: list[Any] | None = None
    problem: dict[str, Any] | None = None
    error: str = ""

    @classmethod
    def of(cls, response: httpx.Response) -> Reply:
        reply = cls(response.status_code, response.content)
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code == 200 and ctype == CBOR:
            try:
                items = cbor2.loads(response.content)
            except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
                reply.error = f"the answer is not CBOR: {exc}"
                return reply
            if isinstance(items, list):
                reply.items = items
            else:
                reply.error = f"the answer is a CBOR {type(items).__name__}, not an array"
        elif ctype == "application/json":
            try:
                data = orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                reply.error = f"the answer is not JSON: {exc}"
                return reply
            if isinstance(data, dict):
                reply.problem = data
        if response.status_code == 200 and ctype != CBOR:
            # Fine for the health route; for a batch it is not the answer array.
            reply.error = f"an answer of content-type {ctype!r}, not {CBOR}"
        return reply


class PeerClient:
    """mTLS client to one peer node (``url`` = its peer port, ``https://host:port``)."""

    def __init__(self, kit: KitHome, peer: str, url: str, *, timeout: float = DEFAULT_TIMEOUT_S):
        paths = kit.paths
        ctx = tls_context(paths.peer_dir(peer) / "ca.pem", paths.tls_cert, paths.tls_key)
        self.url = url.rstrip("/")
        self._client = httpx.Client(verify=ctx, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, body: bytes, *, content_type: str = CBOR) -> Reply:
        try:
            response = self._client.post(
                self.url + MESSAGES_PATH, content=body, headers={"content-type": content_type}
            )
        except httpx.HTTPError as exc:
            raise TransportError(
                f"{self.url}: {type(exc).__name__}: {exc}", code="conformance.transport"
            ) from exc
        return Reply.of(response)

    def send(self, messages: list[bytes]) -> Reply:
        return self.post(bytes(cbor2.dumps(messages)))

    def health(self) -> Reply:
        try:
            return Reply.of(self._client.get(self.url + HEALTH_PATH))
        except httpx.HTTPError as exc:
            raise TransportError(
                f"{self.url}: {type(exc).__name__}: {exc}", code="conformance.transport"
            ) from exc

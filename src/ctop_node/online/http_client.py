"""The online channel's :class:`~ctop_node.online.interfaces.Transport`: CBOR batches over
mutual TLS (httpx).

Wire (shared design, point 3): ``POST /ctop/v1/messages``, ``Content-Type:
application/cbor``, body = CBOR array of byte strings; a 200 answer is a CBOR array of the
same length of maps ``{"status", "answer", "code", "message"}``. Anything else is a
whole-batch :class:`~ctop_node.errors.TransportError`.

TLS: one ``ssl.SSLContext`` per peer that trusts only that peer Party's CA (from its trust
bundle) and presents our node's TLS certificate. One ``httpx.Client`` per peer, kept open,
so batches reuse the connection (keep-alive) instead of a handshake each.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cbor2
import httpx

from ctop_node.crypto.cose import strict_loads
from ctop_node.errors import CryptoError, TransportError
from ctop_node.online.interfaces import (
    ANSWER_STATUSES,
    DeliveryAnswer,
    HttpStatusError,
    PeerTimeout,
    PeerUnreachable,
    ProtocolViolation,
    TlsFailure,
    TlsNameMismatch,
)
from ctop_node.online.peers import PeerEndpoint

CBOR = "application/cbor"
MAX_BATCH_MESSAGES = 500
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# A response holds one sealed answer (well under 4 KiB) per message: 16 MiB is ample.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_MAX_TEXT = 1000
TRUST_PATH = "/ctop/v1/trust"  # online.trust_endpoint (the sender does not import the server)
COSE = "application/cose"
MAX_TRUST_ANSWER = 64 * 1024


def tls_context(ca_file: Path, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """Client context: trust only ``ca_file`` (the peer Party's CA), present our cert."""
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file))
        ctx.load_cert_chain(str(cert_file), str(key_file))
    except (OSError, ssl.SSLError) as exc:
        raise TlsFailure(f"cannot load TLS material ({ca_file}, {cert_file}): {exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def encode_batch(messages: list[bytes]) -> bytes:
    if len(messages) > MAX_BATCH_MESSAGES:
        raise ProtocolViolation(
            f"a batch holds at most {MAX_BATCH_MESSAGES} messages, got {len(messages)}"
        )
    body = bytes(cbor2.dumps(messages))
    if len(body) > MAX_REQUEST_BYTES:
        raise ProtocolViolation(f"a batch of {len(body)} bytes exceeds {MAX_REQUEST_BYTES}")
    return body


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProtocolViolation(f"answer field {key!r} is not text")
    return value[:_MAX_TEXT]


def decode_answers(body: bytes, expected: int) -> list[DeliveryAnswer]:
    """Strictly decode a 200 response body; ``ProtocolViolation`` on anything unexpected."""
    try:
        items = strict_loads(body, max_size=MAX_RESPONSE_BYTES)
    except CryptoError as exc:
        raise ProtocolViolation(f"the answer is not CBOR: {exc.message}") from exc
    if not isinstance(items, list) or len(items) != expected:
        got = f"{len(items)} items" if isinstance(items, list) else type(items).__name__
        raise ProtocolViolation(f"expected a CBOR array of {expected} answers, got {got}")
    answers: list[DeliveryAnswer] = []
    for item in items:
        if not isinstance(item, dict) or not set(item) <= {"status", "answer", "code", "message"}:
            raise ProtocolViolation("an answer is not a map of status/answer/code/message")
        status = item.get("status")
        answer = item.get("answer")
        if status not in ANSWER_STATUSES:
            raise ProtocolViolation(f"unknown answer status {status!r}")
        if answer is not None and not isinstance(answer, bytes):
            raise ProtocolViolation("answer is neither bytes nor null")
        if status != "refused" and answer is None:
            raise ProtocolViolation(f"a {status} without its sealed answer")
        answers.append(DeliveryAnswer(status, answer, _text(item, "code"), _text(item, "message")))
    return answers


def _peer_error(content: bytes) -> str:
    """The ``code`` of the peer's JSON error body, when it sent one."""
    try:
        data = json.loads(content)
    except ValueError:
        return ""
    code = data.get("code") if isinstance(data, dict) else None
    return code[:64] if isinstance(code, str) else ""


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


# OpenSSL X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_NAME_MISMATCH = (62, 64)


def tls_error(peer: str, url: str, exc: BaseException) -> TlsFailure | None:
    """The :class:`TlsFailure` that ``exc`` (an httpx error) hides, if it is a TLS one; a
    wrong name says which host the certificate must name and how to fix it."""
    err = _ssl_error(exc)
    if err is None:
        return None
    host = urlsplit(url).hostname or "?"
    if isinstance(err, ssl.SSLCertVerificationError):
        if err.verify_code in _NAME_MISMATCH:
            flag = "--ip" if _is_ip(host) else "--dns"
            return TlsNameMismatch(
                f"{peer} at {url}: the peer's TLS certificate is not valid for the host "
                f"{host!r} (expected host {host}); the peer must reissue it with "
                f"`ctop-node pki reissue-tls {flag} {host}`, or correct the URL "
                f"(`ctop-node peer add {peer} --url ...`)"
            )
        return TlsFailure(
            f"{peer} at {url}: the peer's TLS certificate is not trusted "
            f"({err.verify_message}); it must be issued by the Party CA of {peer} "
            f"imported with `pki import-trust`"
        )
    return TlsFailure(f"{peer} at {url}: TLS handshake failed: {err}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HttpTransport:
    """A :class:`~ctop_node.online.interfaces.Transport` over HTTPS with client certificates.

    ``peers`` maps a Party to its endpoint; ``tls_cert``/``tls_key`` are this node's TLS
    certificate and key (``crypto.NodePaths(home).tls_cert``/``tls_key``). Thread-safe for
    one sender thread per peer; clients are created lazily and reused.
    """

    def __init__(
        self,
        peers: Mapping[str, PeerEndpoint],
        tls_cert: Path,
        tls_key: Path,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._peers = dict(peers)
        self._cert = tls_cert
        self._key = tls_key
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    @property
    def peers(self) -> list[str]:
        return sorted(self._peers)

    def _client(self, peer: str) -> tuple[httpx.Client, PeerEndpoint]:
        endpoint = self._peers.get(peer)
        if endpoint is None:
            raise PeerUnreachable(f"no endpoint configured for Party {peer}")
        with self._lock:
            client = self._clients.get(peer)
            if client is None:
                ctx = tls_context(endpoint.ca_file, self._cert, self._key)
                client = httpx.Client(
                    verify=ctx,
                    timeout=self._timeout,
                    limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
                    headers={"Content-Type": CBOR, "Accept": CBOR},
                )
                self._clients[peer] = client
        return client, endpoint

    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        if not messages:
            return []
        body = encode_batch(messages)
        client, endpoint = self._client(peer)
        url = endpoint.messages_url
        try:
            status, ctype, content, peer_code = self._post(client, url, body)
        except httpx.TimeoutException as exc:
            raise PeerTimeout(f"{peer} at {url}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            tls = tls_error(peer, url, exc)
            if tls is not None:
                raise tls from exc
            raise PeerUnreachable(f"{peer} at {url}: {exc or type(exc).__name__}") from exc
        except httpx.HTTPError as exc:  # e.g. a malformed response line
            raise ProtocolViolation(f"{peer} at {url}: {exc}") from exc
        if status != 200:
            detail = f" ({peer_code})" if peer_code else ""
            raise HttpStatusError(
                f"{peer} at {url} answered HTTP {status}{detail}",
                status=status,
                peer_code=peer_code,
            )
        if ctype != CBOR:
            raise ProtocolViolation(f"{peer} at {url} answered {ctype or 'no'} content type")
        try:
            return decode_answers(content, len(messages))
        except TransportError as exc:
            raise ProtocolViolation(f"{peer} at {url}: {exc.message}") from exc

    def post_trust(self, peer: str, update: bytes) -> dict[str, Any]:
        """POST a signed trust update to the peer's trust route; its CBOR answer
        (``{"status": "applied"|"unchanged", ...}``) or a ``TransportError``."""
        client, endpoint = self._client(peer)
        url = endpoint.url.rstrip("/") + TRUST_PATH
        try:
            status, ctype, content, peer_code = self._post(
                client, url, update, content_type=COSE, limit=MAX_TRUST_ANSWER
            )
        except httpx.TimeoutException as exc:
            raise PeerTimeout(f"{peer} at {url}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            tls = tls_error(peer, url, exc)
            if tls is not None:
                raise tls from exc
            raise PeerUnreachable(f"{peer} at {url}: {exc or type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise ProtocolViolation(f"{peer} at {url}: {exc}") from exc
        if status != 200:
            detail = f" ({peer_code})" if peer_code else ""
            raise HttpStatusError(
                f"{peer} at {url} refused the trust update: HTTP {status}{detail}",
                status=status,
                peer_code=peer_code,
            )
        try:
            answer = strict_loads(content, max_size=MAX_TRUST_ANSWER) if ctype == CBOR else None
        except CryptoError as exc:
            raise ProtocolViolation(f"{peer} at {url}: the answer is not CBOR") from exc
        if not isinstance(answer, dict) or answer.get("status") not in ("applied", "unchanged"):
            raise ProtocolViolation(f"{peer} at {url}: not a trust update answer")
        return answer

    @staticmethod
    def _post(
        client: httpx.Client,
        url: str,
        body: bytes,
        *,
        content_type: str = CBOR,
        limit: int = MAX_RESPONSE_BYTES,
    ) -> tuple[int, str, bytes, str]:
        """POST and read at most ``limit`` bytes: a peer cannot make us buffer more."""
        headers = {"Content-Type": content_type}
        with client.stream("POST", url, content=body, headers=headers) as response:
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ProtocolViolation(f"the answer exceeds {limit} bytes")
                chunks.append(chunk)
            content = b"".join(chunks)
            peer_code = ""
            if response.status_code != 200:
                peer_code = _peer_error(content)
            return response.status_code, ctype, content, peer_code

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

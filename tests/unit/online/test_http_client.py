"""HttpTransport against a real mutual-TLS server on 127.0.0.1 (an ``ssl``-wrapped
``http.server`` in a thread): answers decoded, one kept-alive connection, and every failure
translated to its ``transport.*`` code."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cbor2
import pytest

from ctop_node.errors import TransportError
from ctop_node.online.http_client import CBOR, HttpTransport, decode_answers, encode_batch
from ctop_node.online.interfaces import DeliveryAnswer, ProtocolViolation, Transport
from ctop_node.online.peers import MESSAGES_PATH, PeerEndpoint
from tests._homes import Home, make_home

# (status, content type, body) for a request's decoded messages
Reply = Callable[[list[bytes]], tuple[int, str, bytes]]


def receipts(messages: list[bytes]) -> tuple[int, str, bytes]:
    answers = [
        {"status": "receipt", "answer": b"sealed:" + m, "code": "", "message": ""} for m in messages
    ]
    return 200, CBOR, cbor2.dumps(answers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ctx: ssl.SSLContext, reply: Reply) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ctx = ctx
        self.reply = reply
        self.connections = 0
        self.paths: list[str] = []

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        tls = self.ctx.wrap_socket(sock, server_side=True)  # handshake errors are OSErrors
        self.connections += 1
        return tls, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout test) is not an error of the test


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: _Server

    def do_POST(self) -> None:
        self.server.paths.append(self.path)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers["Content-Type"] == CBOR
        status, ctype, out = self.server.reply(cbor2.loads(body))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def server_context(server: Home, client_ca: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server.paths.tls_cert, server.paths.tls_key)
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


@pytest.fixture
def serve() -> Iterator[Callable[[ssl.SSLContext, Reply], _Server]]:
    started: list[tuple[_Server, threading.Thread]] = []

    def start(ctx: ssl.SSLContext, reply: Reply) -> _Server:
        server = _Server(ctx, reply)  # bound and listening once constructed
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def transport(kz: Home, cn: Home, port: int, **kw: Any) -> HttpTransport:
    endpoint = PeerEndpoint(f"https://127.0.0.1:{port}", kz.paths.peer_dir("CN") / "ca.pem")
    return HttpTransport({"CN": endpoint}, kz.paths.tls_cert, kz.paths.tls_key, **kw)


def peer_ca_of_kz(kz: Home) -> Path:
    return kz.paths.ca_cert  # what CN imported as KZ's CA


def test_batches_go_over_mutual_tls_on_one_connection(
    kz: Home, cn: Home, serve: Callable[[ssl.SSLContext, Reply], _Server]
) -> None:
    server = serve(server_context(cn, cn.paths.peer_dir("KZ") / "ca.pem"), receipts)
    with transport(kz, cn, server.server_port) as t:
        contract: Transport = t
        answers = contract.send("CN", [b"m1", b"m2"])
        assert answers == [
            DeliveryAnswer("receipt", b"sealed:m1"),
            DeliveryAnswer("receipt", b"sealed:m2"),
        ]
        assert t.send("CN", [b"m3"])[0].answer == b"sealed:m3"
        assert t.send("CN", []) == []
    assert server.paths == [MESSAGES_PATH, MESSAGES_PATH]
    assert server.connections == 1  # kept alive between batches


def test_a_server_of_an_unknown_ca_is_a_tls_failure(
    tmp_path: Path, kz: Home, cn: Home, serve: Callable[[ssl.SSLContext, Reply], _Server]
) -> None:
    impostor = make_home(tmp_path, "CN", "cn-impostor")
    server = serve(server_context(impostor, cn.paths.peer_dir("KZ") / "ca.pem"), receipts)
    with transport(kz, cn, server.server_port) as t, pytest.raises(TransportError) as info:
        t.send("CN", [b"m1"])
    assert info.value.code == "transport.tls"


def test_a_server_that_does_not_trust_our_client_cert_is_a_tls_failure(
    tmp_path: Path, kz: Home, cn: Home, serve: Callable[[ssl.SSLContext, Reply], _Server]
) -> None:
    other = make_home(tmp_path, "KZ", "kz-other")
    server = serve(server_context(cn, other.paths.ca_cert), receipts)
    with transport(kz, cn, server.server_port) as t, pytest.raises(TransportError) as info:
        t.send("CN", [b"m1"])
    assert info.value.code == "transport.tls"


def test_a_closed_port_is_unreachable(kz: Home, cn: Home) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with transport(kz, cn, port) as t, pytest.raises(TransportError) as info:
        t.send("CN", [b"m1"])
    assert info.value.code == "transport.unreachable"
    with pytest.raises(TransportError) as unknown:
        t.send("RU", [b"m1"])
    assert unknown.value.code == "transport.unreachable"


@pytest.mark.parametrize(
    "reply",
    [
        lambda m: (200, CBOR, b"\xff\x00garbage"),
        lambda m: (200, CBOR, cbor2.dumps([{"status": "receipt", "answer": b"a"}]) + b"\x00"),
        lambda m: (200, CBOR, cbor2.dumps([])),
        lambda m: (200, CBOR, cbor2.dumps([{"status": "maybe", "answer": None}] * len(m))),
        lambda m: (200, CBOR, cbor2.dumps([{"status": "receipt", "answer": None}] * len(m))),
        lambda m: (200, "text/html", b"<html>hello</html>"),
    ],
    ids=["not-cbor", "trailing-bytes", "wrong-length", "bad-status", "receipt-no-answer", "html"],
)
def test_a_bad_answer_is_a_protocol_violation(
    kz: Home, cn: Home, serve: Callable[[ssl.SSLContext, Reply], _Server], reply: Reply
) -> None:
    server = serve(server_context(cn, cn.paths.peer_dir("KZ") / "ca.pem"), reply)
    with transport(kz, cn, server.server_port) as t, pytest.raises(TransportError) as info:
        t.send("CN", [b"m1"])
    assert info.value.code == "transport.protocol"


def test_an_error_status_is_reported_with_the_peer_code(
    kz: Home, cn: Home, serve: Callable[[ssl.SSLContext, Reply], _Server]
) -> None:
    body = json.dumps({"code": "store.unavailable", "message": "db down"}).encode()
    server = serve(
        server_context(cn, cn.paths.peer_dir("KZ") / "ca.pem"),
        lambda m: (503, "application/json", body),
    )
    with transport(kz, cn, server.server_port) as t, pytest.raises(TransportError) as info:
        t.send("CN", [b"m1"])
    err = info.value
    assert getattr(err, "code", None) == "transport.http_status"
    assert getattr(err, "status", None) == 503
    assert getattr(err, "peer_code", None) == "store.unavailable"


def test_a_silent_server_is_a_timeout(
    kz: Home, cn: Home, serve: Callable[[ssl.SSLContext, Reply], _Server]
) -> None:
    release = threading.Event()

    def hang(messages: list[bytes]) -> tuple[int, str, bytes]:
        release.wait(10)
        return receipts(messages)

    server = serve(server_context(cn, cn.paths.peer_dir("KZ") / "ca.pem"), hang)
    try:
        with transport(kz, cn, server.server_port, timeout=0.3) as t:
            with pytest.raises(TransportError) as info:
                t.send("CN", [b"m1"])
        assert info.value.code == "transport.timeout"
    finally:
        release.set()


def test_batch_limits_and_refused_answers() -> None:
    with pytest.raises(ProtocolViolation):
        encode_batch([b"x"] * 501)
    assert cbor2.loads(encode_batch([b"a", b"b"])) == [b"a", b"b"]
    refused = cbor2.dumps([{"status": "refused", "answer": None, "code": "crypto.bad_signature"}])
    assert decode_answers(refused, 1) == [
        DeliveryAnswer("refused", None, "crypto.bad_signature", "")
    ]


def test_a_certificate_for_other_host_names_is_a_name_mismatch(
    kz: Home, cn: Home, serve: Callable[[ssl.SSLContext, Reply], _Server]
) -> None:
    from ctop_node.crypto.node import reissue_tls

    reissue_tls(cn.home, cn.ca, dns=["cn-node"], ips=[])  # not localhost, not 127.0.0.1
    server = serve(server_context(cn, cn.paths.peer_dir("KZ") / "ca.pem"), receipts)
    for host, flag in (("127.0.0.1", "--ip"), ("localhost", "--dns")):
        endpoint = PeerEndpoint(
            f"https://{host}:{server.server_port}", kz.paths.peer_dir("CN") / "ca.pem"
        )
        t = HttpTransport({"CN": endpoint}, kz.paths.tls_cert, kz.paths.tls_key)
        with t, pytest.raises(TransportError) as info:
            t.send("CN", [b"m1"])
        assert info.value.code == "transport.tls.name_mismatch"
        assert f"expected host {host}" in info.value.message
        assert f"reissue-tls {flag} {host}" in info.value.message
    assert server.paths == []

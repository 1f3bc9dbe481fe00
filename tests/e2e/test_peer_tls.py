"""A real CN peer server (uvicorn, mutual TLS) in its own process on loopback; a KZ client
talks to it. Client sends ... / result: ...

- a valid peer client certificate and good messages / 200 and signed receipts;
- no client certificate / the TLS handshake is refused;
- a client certificate of another CA / refused;
- a message signed with a revoked or an expired certificate / that item is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from ctop_node.crypto.envelope import open_
from ctop_node.crypto.pki import PartyCA, write_pem, write_private_key
from ctop_node.crypto.software import SoftwareSigner
from ctop_node.crypto.trust import TrustBundle, import_trust
from ctop_node.online.endpoint import CBOR, HEALTH_PATH, MESSAGES_PATH
from ctop_node.online.http_client import decode_answers, tls_context
from ctop_node.store import open_store
from ctop_node.store.inbox import Inbox
from tests._homes import Home, make_home, make_pair
from tests.unit.online._peers import record_message

READY_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _extra_signer(
    kz: Home,
    root: Path,
    name: str,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[SoftwareSigner, x509.Certificate]:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = kz.ca.issue_signing(key.public_key(), name, not_before=not_before, not_after=not_after)
    write_private_key(root / f"{name}.key", key)
    write_pem(root / f"{name}.pem", cert)
    return SoftwareSigner.from_files(root / f"{name}.key", root / f"{name}.pem"), cert


@dataclasses.dataclass
class Peer:
    kz: Home
    cn: Home
    url: str
    db: str
    revoked: SoftwareSigner
    expired: SoftwareSigner
    log: Path


def _client_ctx(peer: Peer, *, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    ca = peer.cn.paths.ca_cert
    if cert is None or key is None:
        ctx = ssl.create_default_context(cafile=str(ca))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx
    return tls_context(ca, cert, key)


def _wait_ready(proc: subprocess.Popen[bytes], peer_url: str, ctx: ssl.SSLContext) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(verify=ctx, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"peer server exited with {proc.returncode}")
            try:
                if client.get(peer_url + HEALTH_PATH).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
    pytest.fail(f"peer server not ready within {READY_SECONDS} s")


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    kz, cn = make_pair(tmp_path)
    now = dt.datetime.now(dt.UTC)
    revoked, revoked_cert = _extra_signer(kz, tmp_path, "revoked")
    expired, expired_cert = _extra_signer(
        kz,
        tmp_path,
        "expired",
        not_before=now - dt.timedelta(minutes=10),
        not_after=now - dt.timedelta(minutes=5),
    )
    # KZ publishes both extra signing certificates, and a CRL revoking one of them.
    crl = PartyCA.load(kz.paths.ca_dir).revoke(revoked_cert.serial_number)
    bundle = TrustBundle.from_home(kz.home, crl=crl)
    bundle = dataclasses.replace(bundle, signing=(*bundle.signing, revoked_cert, expired_cert))
    (tmp_path / "kz-bundle.json").write_text(bundle.to_json(), "utf-8")
    import_trust(cn.home, tmp_path / "kz-bundle.json", own_party="CN")

    port = _free_port()
    db = f"sqlite:///{tmp_path / 'cn.db'}"
    log = tmp_path / "server.log"
    cmd = [sys.executable, "-m", "ctop_node.online.server", "--home", str(cn.home)]
    cmd += ["--party", "CN", "--db", db, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        p = Peer(kz, cn, f"https://127.0.0.1:{port}", db, revoked, expired, log)
        _wait_ready(proc, p.url, _client_ctx(p, cert=kz.paths.tls_cert, key=kz.paths.tls_key))
        yield p
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _post(peer: Peer, ctx: ssl.SSLContext, messages: list[bytes]) -> httpx.Response:
    with httpx.Client(verify=ctx, timeout=10.0) as client:
        return client.post(
            peer.url + MESSAGES_PATH, content=cbor2.dumps(messages), headers={"content-type": CBOR}
        )


def test_valid_client_gets_receipts_and_bad_signers_are_refused(
    peer: Peer, record_dict: dict[str, Any]
) -> None:
    kz = peer.kz
    ctx = _client_ctx(peer, cert=kz.paths.tls_cert, key=kz.paths.tls_key)
    good = record_message(kz, record_dict)
    revoked = record_message(kz, record_dict | {"record_id": "KZ-R-1"}, signer=peer.revoked)
    expired = record_message(kz, record_dict | {"record_id": "KZ-E-1"}, signer=peer.expired)
    response = _post(peer, ctx, [good, revoked, expired])
    assert response.status_code == 200
    answers = decode_answers(response.content, 3)
    assert [(a.status, a.code) for a in answers] == [
        ("receipt", ""),
        ("refused", "crypto.cert_revoked"),
        ("refused", "crypto.cert_expired"),
    ]
    assert answers[0].answer is not None
    receipt = open_(answers[0].answer, kz.trust(), kz.decryptor, "KZ")
    assert receipt.signer.party == "CN"
    with open_store(peer.db) as store:
        inbox = Inbox(store.engine)
        assert inbox.count_applied("KZ") == 1 and len(inbox.list()) == 1
    log = peer.log.read_text("utf-8")
    assert "crypto.cert_revoked" in log and "Grain" not in log  # codes logged, no peer data


def test_no_client_certificate_is_refused(peer: Peer) -> None:
    ctx = _client_ctx(peer, cert=None, key=None)
    with pytest.raises(httpx.TransportError):
        _post(peer, ctx, [b"x"])


def test_client_certificate_of_another_ca_is_refused(peer: Peer, tmp_path: Path) -> None:
    rogue = make_home(tmp_path / "rogue", "KZ")  # a KZ CA that CN never imported
    ctx = _client_ctx(peer, cert=rogue.paths.tls_cert, key=rogue.paths.tls_key)
    with pytest.raises(httpx.TransportError):
        _post(peer, ctx, [b"x"])

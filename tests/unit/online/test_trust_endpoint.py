"""The trust route of the peer port in process: a good update is applied and the live trust
store sees it; anything else gets a clear 4xx with a stable code and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import cbor2
import httpx
import pytest

from ctop_node.crypto.pki import PartyCA, crl_number, write_pem
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import HomeTrustStore
from ctop_node.crypto.trust_update import MAX_UPDATE_BYTES, build_update
from ctop_node.exchange.receive import Receiver
from ctop_node.online.endpoint import peer_app
from ctop_node.online.trust_endpoint import COSE, TRUST_PATH
from ctop_node.store import SqlStore, open_store
from tests._homes import Home


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    with open_store(sqlite_url) as s:
        yield s


def _post(receiver: Receiver, body: bytes, ctype: str = COSE) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=peer_app(receiver))
        async with httpx.AsyncClient(transport=transport, base_url="https://cn") as client:
            return await client.post(TRUST_PATH, content=body, headers={"content-type": ctype})

    return asyncio.run(go())


def _receiver(cn: Home, store: SqlStore) -> Receiver:
    return Receiver(
        "CN",
        store.inbox,
        SoftwareSigner.from_home(cn.home),
        SoftwareDecryptor.from_home(cn.home),
        HomeTrustStore(cn.home),
    )


def test_a_good_update_is_applied_and_seen_at_once(kz: Home, cn: Home, store: SqlStore) -> None:
    receiver = _receiver(cn, store)
    write_pem(kz.paths.crl, PartyCA.load(kz.paths.ca_dir).resign_crl())
    r = _post(receiver, build_update(kz.home, kz.signer, "CN"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/cbor"
    answer = cbor2.loads(r.content)
    assert answer["status"] == "applied" and answer["party"] == "KZ"
    assert isinstance(receiver.trust, HomeTrustStore)
    held = receiver.trust.bundles["KZ"].crl  # reloaded by the route, no waiting
    assert crl_number(held) == answer["crl_number"] == crl_number(kz.ca.crl())


@pytest.mark.parametrize(
    ("body", "ctype", "status", "code"),
    [
        (b"\xa0", COSE, 400, "crypto.trust_update.malformed"),
        (b"x", "application/json", 415, "exchange.content_type"),
        (b"x" * (MAX_UPDATE_BYTES + 1), COSE, 413, "crypto.trust_update.too_large"),
    ],
)
def test_bad_requests(
    cn: Home, store: SqlStore, body: bytes, ctype: str, status: int, code: str
) -> None:
    r = _post(_receiver(cn, store), body, ctype)
    assert r.status_code == status and r.json()["code"] == code


def test_an_update_of_another_ca_is_forbidden(
    cn: Home, store: SqlStore, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests._homes import make_home

    rogue = make_home(tmp_path_factory.mktemp("rogue"), "KZ")
    before = (cn.paths.peer_dir("KZ") / "bundle.json").read_bytes()
    r = _post(_receiver(cn, store), build_update(rogue.home, rogue.signer, "CN"))
    assert r.status_code == 403 and r.json()["code"] == "crypto.trust_update.other_ca"
    assert (cn.paths.peer_dir("KZ") / "bundle.json").read_bytes() == before


def test_a_rollback_is_a_conflict(kz: Home, cn: Home, store: SqlStore) -> None:
    receiver = _receiver(cn, store)
    old = build_update(kz.home, kz.signer, "CN")
    write_pem(kz.paths.crl, PartyCA.load(kz.paths.ca_dir).resign_crl())
    assert _post(receiver, build_update(kz.home, kz.signer, "CN")).status_code == 200
    r = _post(receiver, old)
    assert r.status_code == 409 and r.json()["code"] == "crypto.trust_update.rollback"

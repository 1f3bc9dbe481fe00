"""What must never get in, against a running CN node over real TLS. Client sends ... / result:

- a tampered message, one signed by a key of no trusted certificate, one whose header names
  a sender that is not the signing certificate's Party / refused item by item, nothing
  stored, the code logged without any record content;
- no client certificate, or one of another CA / the TLS handshake fails, CN stays healthy;
- a message signed with KZ's revoked signing certificate (revoked at KZ's CA, trust bundle
  exported and imported again, CN restarted), or with an expired one / refused, not stored;
- a body over 16 MiB / 413; fuzzed bodies / a clear 4xx or per-item refusals, never a 5xx,
  and CN alive and answering afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from ctop_node.crypto.cose import decode_sign1, sign1
from ctop_node.crypto.interfaces import Signer
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import PartyCA, load_certificate, write_pem, write_private_key
from ctop_node.crypto.software import SoftwareSigner
from ctop_node.crypto.trust import TrustBundle, import_trust
from ctop_node.online.endpoint import CBOR, MAX_BODY, MESSAGES_PATH
from ctop_node.online.http_client import tls_context
from tests._homes import make_home
from tests.e2e.conftest import Pair, records_for, start, wait_until
from tests.unit.online._peers import record_message

FUZZ_EXAMPLES = 250
WIRE_CODES = {200, 400, 413, 415}


def _resign(raw: bytes, signer: Signer, **header_changes: Any) -> bytes:
    """A validly signed message whose header was altered before signing."""
    inner = cbor2.loads(decode_sign1(raw).payload)
    fields = cbor2.loads(inner["h"])
    fields.update(header_changes)
    inner["h"] = cbor2.dumps(fields, canonical=True)
    return sign1(cbor2.dumps(inner, canonical=True), signer)


def _cn_log(pair: Pair) -> str:
    return (pair.cn.home / "serve.log").read_text("utf-8", "replace")


def _assert_nothing_stored(pair: Pair) -> None:
    assert pair.inbox_rows() == [] and pair.received() == []


def _assert_no_record_content(log: str, rec: dict[str, Any]) -> None:
    for secret in (rec["record_id"], rec["exporter"]["name"], rec["transport_document"]["number"]):
        assert secret not in log


def test_forged_messages_are_refused_not_stored_and_logged(
    pair: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    kz = pair.kz_home()
    rec = records_for(record_dict, 1, prefix="FORGED")[0]
    tampered = bytearray(record_message(kz, rec))
    tampered[len(tampered) // 2] ^= 0x01
    impostor = make_home(tmp_path / "impostor", "KZ")  # a KZ CA that CN never imported
    unknown_key = record_message(kz, rec, signer=impostor.signer)
    not_the_party = _resign(record_message(kz, rec), kz.signer, sender="RU")
    answers = pair.post_messages([bytes(tampered), unknown_key, not_the_party])
    assert [(a["status"], a["answer"]) for a in answers] == [("refused", None)] * 3
    codes = [a["code"] for a in answers]
    assert codes[0] in ("crypto.bad_signature", "crypto.malformed"), codes
    assert codes[1:] == ["crypto.unknown_key", "crypto.sender_mismatch"]
    _assert_nothing_stored(pair)
    wait_until("CN logged the refusals", lambda: all(c in _cn_log(pair) for c in codes), 10)
    _assert_no_record_content(_cn_log(pair), rec)


def _handshake_refused(pair: Pair, ctx: ssl.SSLContext) -> None:
    with pytest.raises(httpx.TransportError):
        pair.post_raw(cbor2.dumps([b"x"]), ctx=ctx)


def test_clients_without_a_trusted_certificate_are_refused(pair: Pair, tmp_path: Path) -> None:
    cn_ca = NodePaths(pair.cn.home).ca_cert
    no_cert = ssl.create_default_context(cafile=str(cn_ca))
    _handshake_refused(pair, no_cert)
    rogue = make_home(tmp_path / "rogue", "KZ")  # same Party name, another CA
    _handshake_refused(pair, tls_context(cn_ca, rogue.paths.tls_cert, rogue.paths.tls_key))
    assert pair.cn.proc is not None and pair.cn.proc.poll() is None
    assert pair.cn_healthy()
    _assert_nothing_stored(pair)


def _expired_signer(kz_ca: PartyCA, root: Path) -> tuple[SoftwareSigner, Any]:
    now = dt.datetime.now(dt.UTC)
    key = ed25519.Ed25519PrivateKey.generate()
    cert = kz_ca.issue_signing(
        key.public_key(),
        "expired",
        not_before=now - dt.timedelta(minutes=10),
        not_after=now - dt.timedelta(minutes=5),
    )
    write_private_key(root / "expired.key", key)
    write_pem(root / "expired.pem", cert)
    return SoftwareSigner.from_files(root / "expired.key", root / "expired.pem"), cert


def test_revoked_and_expired_signing_certificates_are_refused(
    pair: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    kz_paths = NodePaths(pair.kz.home)
    kz_ca = PartyCA.load(kz_paths.ca_dir)
    expired, expired_cert = _expired_signer(kz_ca, tmp_path)
    # KZ's CA revokes the KZ node's signing certificate; KZ publishes its trust bundle again
    # (with an expired certificate in it too); CN imports it and restarts.
    crl = kz_ca.revoke(load_certificate(kz_paths.sign_cert).serial_number)
    bundle = TrustBundle.from_home(pair.kz.home, crl=crl)
    bundle = dataclasses.replace(bundle, signing=(*bundle.signing, expired_cert))
    (tmp_path / "kz-trust.json").write_text(bundle.to_json(), "utf-8")
    import_trust(pair.cn.home, tmp_path / "kz-trust.json", own_party="CN")
    pair.cn.stop()
    start(pair.cn)

    recs = records_for(record_dict, 2, prefix="REVOKED")
    # KZ's own sender still signs with the revoked key: every try is refused.
    pair.ingest(pair.kz, recs[:1])

    def refused_as_revoked() -> bool:
        return any("crypto.cert_revoked" in (r.last_error or "") for r in pair.outbox_rows())

    wait_until("KZ's sender was refused with crypto.cert_revoked", refused_as_revoked, 60)
    assert pair.outbox_states()["pending"] == 1  # retried later, never marked delivered
    kz = pair.kz_home()
    (answer,) = pair.post_messages([record_message(kz, recs[1], signer=expired)])
    assert (answer["status"], answer["code"], answer["answer"]) == (
        "refused",
        "crypto.cert_expired",
        None,
    )
    _assert_nothing_stored(pair)
    log = _cn_log(pair)
    assert "crypto.cert_revoked" in log and "crypto.cert_expired" in log
    for rec in recs:
        _assert_no_record_content(log, rec)


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"\x00" * n


def _post_streamed(pair: Pair, content: Iterator[bytes]) -> int | None:
    """The status CN answered, or None when it closed the connection before we were done
    sending (also a refusal: nothing was read beyond the limit)."""
    try:
        return pair.post_raw(content).status_code
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def test_oversized_bodies_are_refused_with_413(pair: Pair) -> None:
    over = MAX_BODY + 1
    r = pair.post_raw(cbor2.dumps([b"\x00" * over]))
    assert r.status_code == 413 and r.json()["code"] == "exchange.too_large"
    # Streamed without a Content-Length: refused while it streams in.
    assert _post_streamed(pair, _chunks(over)) in (413, None)
    assert pair.cn.proc is not None and pair.cn.proc.poll() is None
    assert pair.cn_healthy()


def _bodies(sample: bytes) -> st.SearchStrategy[bytes]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=True)
        | st.binary(max_size=64)
        | st.text(max_size=32)
    )
    trees = st.recursive(
        leaves,
        lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=8), c, max_size=5),
        max_leaves=20,
    )

    def damaged(pos_xor: tuple[int, int]) -> bytes:
        pos, xor = pos_xor
        raw = bytearray(sample)
        raw[pos % len(raw)] ^= xor
        return bytes(raw)

    items = st.binary(max_size=512) | st.tuples(st.integers(0), st.integers(1, 255)).map(damaged)
    return st.one_of(
        st.binary(max_size=2048),
        trees.map(lambda t: bytes(cbor2.dumps(t))),
        st.lists(items, max_size=8).map(lambda xs: bytes(cbor2.dumps(xs))),
        st.lists(items, min_size=1, max_size=3).map(lambda xs: bytes(cbor2.dumps(xs))[:-1]),
    )


def test_fuzzed_bodies_get_a_clear_4xx_never_a_5xx(pair: Pair, record_dict: dict[str, Any]) -> None:
    kz = pair.kz_home()
    rec = records_for(record_dict, 1, prefix="FUZZ")[0]
    sample = record_message(kz, rec)
    statuses: set[int] = set()
    ctypes = st.sampled_from([CBOR, CBOR, CBOR, "application/json", "", "text/plain; x=1"])
    with httpx.Client(verify=pair.kz_tls(), timeout=30.0) as client:

        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True)
        @given(body=_bodies(sample), ctype=ctypes)
        def one(body: bytes, ctype: str) -> None:
            r = client.post(
                pair.cn.peer_url + MESSAGES_PATH, content=body, headers={"content-type": ctype}
            )
            statuses.add(r.status_code)
            assert r.status_code in WIRE_CODES, (r.status_code, r.text)
            if r.status_code == 200:
                for item in cbor2.loads(r.content):
                    assert item["status"] == "refused" and item["code"].startswith("crypto")
            else:
                assert r.json()["code"].startswith("exchange."), r.text

        one()
    assert {200, 400, 415} <= statuses  # the fuzzing reached each kind of answer
    assert pair.cn.proc is not None and pair.cn.proc.poll() is None
    _assert_nothing_stored(pair)
    (answer,) = pair.post_messages([sample])  # still working
    assert answer["status"] == "receipt", answer

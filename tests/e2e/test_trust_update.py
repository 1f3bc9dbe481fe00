"""The CRL goes stale; the CA operator re-signs it; the running KZ node pushes it to CN as a
signed trust update on the peer port; CN accepts KZ's messages again with no re-import and
no restart (issue 8, finding 2). KZ's Party CA is kept off the node, as the docs recommend.

- KZ's CRL is past its nextUpdate / CN refuses KZ's records (``crypto.crl_stale``) and the
  update KZ pushes with the stale CRL (``crypto.trust_update.crl``);
- ``ctop-node pki crl --ca <offline CA> --home kz`` / KZ pushes, CN applies the update, the
  waiting records are delivered and stored at CN.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from typing import Any

from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import CA_CRL, PartyCA, crl_number, load_crl, write_pem
from ctop_node.crypto.trust import TrustBundle, export_trust, import_trust
from tests.e2e.conftest import DRAIN_S, Pair, records_for, start, wait_until

RECORDS = 10


def _make_kz_crl_stale(pair: Pair) -> PartyCA:
    """Move KZ's CA off the node and give both nodes a KZ CRL that expired a day ago (as
    if 31 days had passed since it was signed)."""
    kz = NodePaths(pair.kz.home)
    offline = pair.base / "kz-offline-ca"
    shutil.move(kz.ca_dir, offline)
    ca = PartyCA.load(offline)
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    stale = ca.make_crl(list(ca.crl()), days=30, last_update=then)
    write_pem(offline / CA_CRL, stale)
    write_pem(kz.crl, stale)
    bundle = pair.base / "kz-stale.json"
    export_trust(pair.kz.home, bundle)
    import_trust(pair.cn.home, bundle, own_party="CN")
    return ca


def _kz_errors(pair: Pair) -> list[str]:
    return [str(r.last_error or "") for r in pair.outbox_rows()]


def _pushed(pair: Pair) -> dict[str, Any]:
    path = NodePaths(pair.kz.home).peer_dir("CN") / "pushed.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def test_a_renewed_crl_reaches_the_peer_by_trust_update(
    nodes_any_db: Pair, record_dict: dict[str, Any]
) -> None:
    pair = nodes_any_db
    ca = _make_kz_crl_stale(pair)
    start(pair.cn)  # CN answers before KZ's first push
    start(pair.kz)
    pair.ingest(pair.kz, records_for(record_dict, RECORDS, prefix="CRL"))

    wait_until(
        "CN refused KZ's records for the stale CRL",
        lambda: any("crypto.crl_stale" in e for e in _kz_errors(pair)),
        DRAIN_S,
    )
    wait_until(
        "CN refused KZ's trust update carrying the stale CRL",
        lambda: "crypto.trust_update.crl" in str(_pushed(pair).get("error")),
        DRAIN_S,
    )
    assert _pushed(pair)["ok"] is False
    assert pair.received() == [] and pair.outbox_states()["delivered"] == 0

    done = subprocess.run(
        [sys.executable, "-m", "ctop_node", "pki", "crl"]
        + ["--ca", str(pair.base / "kz-offline-ca"), "--home", str(pair.kz.home)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    pair.wait_drained()
    assert pair.outbox_states()["delivered"] == RECORDS
    assert len(pair.received()) == RECORDS
    assert _pushed(pair)["ok"] is True
    held = TrustBundle.from_json(
        (NodePaths(pair.cn.home).peer_dir("KZ") / "bundle.json").read_text("utf-8")
    )
    assert crl_number(held.crl) == crl_number(ca.crl())  # CN holds the re-signed CRL
    assert crl_number(held.crl) == crl_number(load_crl(NodePaths(pair.kz.home).crl))
    status = subprocess.run(
        [sys.executable, "-m", "ctop_node", "status", "--home", str(pair.kz.home), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["trust_updates"]["CN"]["ok"] is True

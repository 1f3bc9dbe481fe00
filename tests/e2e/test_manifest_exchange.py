"""Manifests exchanged between two real nodes (Art.5): KZ sends its signed manifest of today
to CN over the online channel (MANIFEST message: COSE + HPKE, mTLS, CN's signed receipt); CN
reconciles its own database with it: nothing on an intact exchange, exactly the planted
differences (a record withheld, a digest altered) otherwise; CN's report of the day shows
the same reconciliation. A MANIFEST whose signed manifest has a flipped byte is rejected and
not kept; one whose envelope has a flipped byte is refused."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from ctop_node.cli import app
from ctop_node.exchange.manifest import manifest_message, read_manifest
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.messages import MessageType
from ctop_node.store.schema import inbox, peer_manifests, records
from tests.e2e.conftest import Pair, records_for
from tests.unit.online._peers import sealed

PASSWORD = "correct horse battery"


def cli(*args: str | Path, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _send(pair: Pair) -> dict[str, Any]:
    day = _today()
    out = cli("manifest", "--home", pair.kz.home, "--from", day, "--to", day, "--send", "--json")
    sent: dict[str, Any] = json.loads(out)["sent"]
    return sent


def _reconcile(pair: Pair, code: int = 0) -> dict[str, Any]:
    day = _today()
    args = ("reconcile", "--with-peer", "--peer", "KZ", "--home", pair.cn.home)
    result: dict[str, Any] = json.loads(cli(*args, "--from", day, "--to", day, "--json", code=code))
    return result


def _kept(pair: Pair) -> int:
    with pair.engine(pair.cn).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(peer_manifests)).scalar_one())


def test_kz_sends_its_manifest_and_cn_reconciles(
    pair: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    pair.ingest(pair.kz, records_for(record_dict, 4, prefix="MAN"))
    pair.wait_drained()

    sent = _send(pair)
    assert sent["status"] == "delivered" and sent["entries"] == 4, sent
    with pair.engine(pair.cn).connect() as conn:
        row = conn.execute(select(inbox).where(inbox.c.message_id == sent["message_id"])).one()
    assert (row.type, row.state, row.channel) == ("MANIFEST", "applied", "online")

    intact = _reconcile(pair)
    assert intact["differences"] == []
    assert intact["theirs"]["party"] == "KZ" and intact["ours"]["party"] == "CN"
    assert intact["theirs"]["message_id"] == sent["message_id"]

    # CN's report of the day includes the reconciliation with the manifest KZ sent.
    out = tmp_path / "cn-report"
    day = _today()
    cli("report", "--home", pair.cn.home, "--from", day, "--to", day, "--format", "json",
        "--out", out, "--user", "analyst")  # fmt: skip
    report = orjson.loads((out / "report.json").read_bytes())
    assert report["reconciliation"]["differences"] == []
    assert report["tables"]["reconciliation"]["rows"] == []

    # Plant two differences at CN: one record withheld, one digest altered.
    with pair.engine(pair.cn).begin() as conn:
        ids = sorted(conn.execute(select(records.c.record_id)).scalars())
        withheld, altered = ids[0], ids[1]
        conn.execute(delete(inbox).where(inbox.c.record_id == withheld))
        conn.execute(delete(records).where(records.c.record_id == withheld))
        conn.execute(
            update(records).where(records.c.record_id == altered).values(digest=digest(b"x"))
        )
    found = _reconcile(pair, code=3)
    assert sorted((d["kind"], d["record_id"], d["version"]) for d in found["differences"]) == [
        ("digest_differs", altered, 1),
        ("sent_not_held", withheld, 1),
    ]
    out2 = tmp_path / "cn-report-2"
    cli("report", "--home", pair.cn.home, "--from", day, "--to", day, "--format", "csv",
        "--out", out2, "--user", "analyst", code=3)  # fmt: skip
    csv_rows = (out2 / "reconciliation.csv").read_text("utf-8").splitlines()
    assert len(csv_rows) == 3 and any(withheld in r for r in csv_rows)

    # CN's analyst sees the same reconciliation on the UI's report page, as counts only.
    page = _analyst_report(pair, day)
    kinds = dict(re.findall(r"<tr><td>([a-z_]+)</td><td class=\"num\">(\d+)</td></tr>", page))
    assert kinds == {
        "sent_not_held": "1",
        "held_not_sent": "0",
        "digest_differs": "1",
        "lock_only": "0",
    }
    assert withheld not in page and altered not in page


def _analyst_report(pair: Pair, day: str) -> str:
    added = CliRunner().invoke(
        app,
        ["user", "add", "ann", "--role", "analyst", "--password-stdin", "--home",
         str(pair.cn.home)],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    with httpx.Client(base_url=pair.cn.api_url, timeout=60) as client:
        form = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        login = client.post(
            "/login", data={"username": "ann", "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert login.status_code == 303, login.text
        page = client.get("/ui/report", params={"from": day, "to": day})
    assert page.status_code == 200, page.text
    return page.text


def test_a_manifest_with_a_flipped_byte_is_refused(pair: Pair) -> None:
    kz = pair.kz_home()
    day = _today()
    cli("manifest", "--home", pair.kz.home, "--from", day, "--to", day, "--out",
        pair.base / "kz.manifest")  # fmt: skip
    signed = (pair.base / "kz.manifest").read_bytes()
    notice = manifest_message(signed, read_manifest(signed, kz.trust()))
    damaged = bytearray(signed)
    damaged[len(damaged) // 2] ^= 0x01
    inner_flipped = notice.model_copy(
        update={"manifest": base64.b64encode(bytes(damaged)).decode()}
    )
    good = sealed(kz, canonical_bytes(notice), mtype=MessageType.MANIFEST, version=None)
    envelope_flipped = bytearray(good)
    envelope_flipped[len(envelope_flipped) // 2] ^= 0x01
    answers = pair.post_messages(
        [
            sealed(kz, canonical_bytes(inner_flipped), mtype=MessageType.MANIFEST, version=None),
            bytes(envelope_flipped),
        ]
    )
    assert answers[0]["status"] == "rejection" and answers[0]["code"] == "exchange.manifest"
    assert answers[1]["status"] == "refused" and answers[1]["answer"] is None
    assert _kept(pair) == 0
    refused = CliRunner().invoke(
        app,
        ["reconcile", "--with-peer", "--home", str(pair.cn.home), "--from", day, "--to", day],
    )
    assert refused.exit_code != 0
    assert getattr(refused.exception, "code", "") == "report.no_peer_manifest"

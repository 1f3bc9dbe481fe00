"""Art.6 consent gating through the CLI, on both databases: peer data leaves the node for
customs control, or for another purpose only under a valid consent of the providing Party;
every export and refusal is audited; the file is new, 0600, marked and watermarked."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctop_node.errors import AuditError, StorageError, UsageError
from ctop_node.store import open_store
from ctop_node.store.audit import AuditLog, AuditRow
from tests._homes import Home
from tests.unit.access._nodes import Nodes, cli, exchange


@pytest.fixture
def nodes(kz_cn_homes: tuple[Home, Home], db_url: str, record_dict: dict[str, Any]) -> Nodes:
    return exchange(kz_cn_homes, db_url, record_dict)


@pytest.fixture(autouse=True)
def _acting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands without --user act as the supervisor (exports, consents are theirs)."""
    monkeypatch.setenv("CTOP_USER", "supervisor")


def entries(nodes: Nodes) -> list[AuditRow]:
    with open_store(nodes.cn_db) as store:
        return AuditLog(store.engine).entries()


def export(nodes: Nodes, out: Path, *extra: str, user: str = "supervisor") -> Any:
    return cli(
        "records",
        "export",
        "--home",
        str(nodes.cn.home),
        "--out",
        str(out),
        "--user",
        user,
        *extra,
    )


def add_consent(
    nodes: Nodes,
    ref: str,
    *,
    purpose: str = "court",
    until: str | None = None,
    scope: str = "KZ-EV-*",
) -> None:
    until = until or (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    result = cli(
        "consent",
        "add",
        "--home",
        str(nodes.cn.home),
        "--reference",
        ref,
        "--from-party",
        "KZ",
        "--purpose",
        purpose,
        "--scope",
        scope,
        "--valid-until",
        until,
        "--user",
        "supervisor",
    )
    assert result.exit_code == 0, result.output


def test_court_export_without_consent_is_refused_and_audited(nodes: Nodes, tmp_path: Path) -> None:
    out = tmp_path / "court.json"
    result = export(nodes, out, "--purpose", "court")
    assert isinstance(result.exception, AuditError)
    assert result.exception.code == "consent.missing"
    assert not out.exists()
    [refusal] = [e for e in entries(nodes) if e.action == "records.export_refused"]
    assert (refusal.actor, refusal.purpose) == ("supervisor", "court")
    assert json.loads(refusal.detail)["code"] == "consent.missing"


def test_court_export_with_a_valid_consent_is_marked_watermarked_and_audited(
    nodes: Nodes, tmp_path: Path
) -> None:
    add_consent(nodes, "KZ-MF-2026/17")
    out = tmp_path / "court.json"
    result = export(nodes, out, "--purpose", "court", "--json")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc = json.loads(out.read_bytes())
    mark = doc["watermark"]
    assert (mark["exported_by"], mark["purpose"], mark["consent_reference"]) == (
        "supervisor",
        "court",
        "KZ-MF-2026/17",
    )
    assert mark["node_party"] == "CN" and mark["exported_at"].startswith(
        str(datetime.now(UTC).year)
    )
    assert {r["record_id"] for r in doc["records"]} == set(nodes.record_ids)
    for r in doc["records"]:
        assert (
            "written consent of KZ" in r["restriction"]
            and r["consent_reference"] == "KZ-MF-2026/17"
        )
    audited = [e for e in entries(nodes) if e.action == "records.export"]
    assert sorted(e.object for e in audited) == sorted(
        f"record:KZ/{rid}/v1" for rid in nodes.record_ids
    )
    assert all(json.loads(e.detail)["export_id"] == mark["export_id"] for e in audited)
    assert [e.action for e in entries(nodes)][0] == "consent.add"


@pytest.mark.parametrize("how", ["expired", "revoked", "other_purpose", "out_of_scope"])
def test_an_unusable_consent_is_refused(nodes: Nodes, tmp_path: Path, how: str) -> None:
    if how == "expired":
        add_consent(
            nodes, "REF-1", until=(datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        )
    elif how == "revoked":
        add_consent(nodes, "REF-1")
        assert cli("consent", "revoke", "REF-1", "--home", str(nodes.cn.home)).exit_code == 0
    elif how == "other_purpose":
        add_consent(nodes, "REF-1", purpose="administrative")
    else:
        add_consent(nodes, "REF-1", scope="KZ-OTHER-*")
    out = tmp_path / "court.json"
    result = export(nodes, out, "--purpose", "court")
    assert isinstance(result.exception, AuditError), result.output
    assert result.exception.code == "consent.invalid"
    assert not out.exists()
    assert [e.action for e in entries(nodes)][-1] == "records.export_refused"


def test_customs_control_needs_no_consent_and_is_still_marked(nodes: Nodes, tmp_path: Path) -> None:
    out = tmp_path / "control.json"
    result = export(nodes, out, "--record", nodes.record_ids[0])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_bytes())
    assert doc["watermark"]["purpose"] == "customs_control"
    assert doc["watermark"]["consent_reference"] is None
    [record] = doc["records"]
    assert (
        "CONFIDENTIAL" in record["restriction"]
        and record["body"]["record_id"] == nodes.record_ids[0]
    )


def test_the_mark_is_in_the_users_language(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTOP_LANG", "ru")
    out = tmp_path / "control.json"
    assert export(nodes, out).exit_code == 0
    restriction = json.loads(out.read_bytes())["restrictions"]["KZ"]
    assert "КОНФИДЕНЦИАЛЬНО" in restriction


def test_an_existing_file_is_never_overwritten(nodes: Nodes, tmp_path: Path) -> None:
    out = tmp_path / "exists.json"
    out.write_text("keep me")
    result = export(nodes, out)
    assert isinstance(result.exception, AuditError) and result.exception.code == "audit.file_exists"
    assert out.read_text() == "keep me"


def test_reads_of_peer_data_are_audited_with_who_and_why(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTOP_USER", "arrival_officer")
    home = str(nodes.cn.home)
    rid = nodes.record_ids[0]
    shown = cli("records", "show", rid, "--home", home, "--json")
    assert shown.exit_code == 0, shown.output
    assert "written consent of KZ" in json.loads(shown.stdout)["restriction"]
    listed = cli("records", "list", "--home", home, "--user", "departure_officer", "--json")
    assert listed.exit_code == 0, listed.output
    assert "written consent of KZ" in json.loads(listed.stdout)["restrictions"]["KZ"]
    show, listing = entries(nodes)[-2:]
    assert (show.actor, show.action, show.object, show.purpose) == (
        "arrival_officer",
        "records.show",
        f"record:KZ/{rid}/v1",
        "customs_control",
    )
    assert (listing.actor, listing.action) == ("departure_officer", "records.list")
    assert json.loads(listing.detail)["peer_records"] == len(nodes.record_ids)
    # Reading our own records is no read of peer data: nothing is added.
    before = len(entries(nodes))
    with open_store(nodes.kz_db):
        pass
    assert cli("records", "show", rid, "--home", str(nodes.kz.home)).exit_code == 0
    assert len(entries(nodes)) == before


def test_the_consent_register_lists_refuses_duplicates_and_audits_changes(nodes: Nodes) -> None:
    home = str(nodes.cn.home)
    add_consent(nodes, "REF-7")
    again = cli(
        "consent",
        "add",
        "--home",
        home,
        "--reference",
        "REF-7",
        "--from-party",
        "KZ",
        "--purpose",
        "court",
        "--scope",
        "*",
        "--valid-until",
        "2099-01-01",
    )
    assert isinstance(again.exception, AuditError) and again.exception.code == "consent.exists"
    bad = cli(
        "consent",
        "add",
        "--home",
        home,
        "--reference",
        "REF-8",
        "--from-party",
        "XX",
        "--purpose",
        "court",
        "--scope",
        "*",
        "--valid-until",
        "2099-01-01",
    )
    assert isinstance(bad.exception, UsageError)
    wrong = cli(
        "consent",
        "add",
        "--home",
        home,
        "--reference",
        "REF-9",
        "--from-party",
        "KZ",
        "--purpose",
        "customs_control",
        "--scope",
        "*",
        "--valid-until",
        "2099-01-01",
    )
    assert wrong.exit_code == 2 and "--purpose" in wrong.output  # not a consent purpose
    assert cli("consent", "revoke", "REF-7", "--home", home, "--user", "supervisor").exit_code == 0
    twice = cli("consent", "revoke", "REF-7", "--home", home)
    assert (
        isinstance(twice.exception, StorageError)
        and twice.exception.code == "store.consent_revoked"
    )
    listed = json.loads(cli("consent", "list", "--home", home, "--json").stdout)["consents"]
    assert [(c["reference"], c["revoked_by"]) for c in listed] == [("REF-7", "supervisor")]
    assert [(e.action, e.actor) for e in entries(nodes)] == [
        ("consent.add", "supervisor"),
        ("consent.revoke", "supervisor"),
    ]

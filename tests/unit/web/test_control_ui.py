"""Recording a control result through the officer's form and the API, on a real store: CSRF,
the access check, field-level errors, and the status that follows from the decision."""

from __future__ import annotations

import pytest

from ctop_node.store.control import ControlStore
from tests.unit.web._ui import SYSTEM_TOKEN, UiNode

pytestmark = pytest.mark.anyio

RID = "KZ-551800-2026-000001"
FORM = f"/ui/control/KZ/{RID}"


def _form(csrf: str, **over: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "arrived_at": "2026-11-26T07:40",
        "office": "cn-alashankou",
        "seal_status": "broken",
        "findings": "<b>seal 2 cut</b>",
        "missing_goods": "2, 3",
        "decision": "held",
        **over,
    }


async def test_officer_records_a_result_with_the_form_and_the_record_is_under_control(
    node: UiNode,
) -> None:
    await node.login("olga")
    record = await node.client.get(f"/ui/records/KZ/{RID}")
    assert 'id="record-control"' in record.text and "announced" in record.text
    page = await node.client.get(FORM)
    assert page.status_code == 200 and 'name="decision"' in page.text
    r = await node.client.post(FORM, data=_form(node.csrf(page)))
    assert r.status_code == 303 and r.headers["location"] == f"/ui/records/KZ/{RID}"
    rows = ControlStore(node.store.engine).for_record("KZ", RID)
    assert len(rows) == 1
    row = rows[0]
    assert (row.direction, row.state, row.decision, row.recorded_by) == (
        "out",
        "pending",
        "held",
        "olga",
    )
    assert row.result.office == "CN-ALASHANKOU" and row.result.country == "CN"
    assert [d.field for d in row.result.discrepancies] == ["$.goods[2]", "$.goods[3]"]
    shown = await node.client.get(f"/ui/records/KZ/{RID}")
    assert "status-under_control" in shown.text
    assert "&lt;b&gt;seal 2 cut&lt;/b&gt;" in shown.text  # officer text shown as text
    # The table lives in the page, once; the <title> is the record's name only.
    assert shown.text.count('id="control-results"') == 1
    title = shown.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert RID in title and "<" not in title


async def test_released_decision_makes_the_record_released(node: UiNode) -> None:
    await node.login("olga")
    page = await node.client.get(FORM)
    await node.client.post(FORM, data=_form(node.csrf(page), decision="released"))
    shown = await node.client.get(f"/ui/records/KZ/{RID}")
    assert "status-released" in shown.text


async def test_the_form_without_its_token_stores_nothing(node: UiNode) -> None:
    await node.login("olga")
    r = await node.client.post(FORM, data=_form("forged"))
    assert r.status_code == 403
    assert ControlStore(node.store.engine).for_record("KZ", RID) == []


async def test_a_bad_field_is_named_and_nothing_is_stored(node: UiNode) -> None:
    await node.login("olga")
    page = await node.client.get(FORM)
    r = await node.client.post(FORM, data=_form(node.csrf(page), decision="waved_through"))
    assert r.status_code == 422 and "decision" in r.text
    r = await node.client.post(FORM, data=_form(node.csrf(page), office="no spaces allowed"))
    assert r.status_code == 422 and "office" in r.text
    assert ControlStore(node.store.engine).for_record("KZ", RID) == []


async def test_an_analyst_may_not_record_a_control_result(node: UiNode) -> None:
    await node.login("ann")
    r = await node.client.get(FORM)
    assert r.status_code == 403


async def test_api_records_with_a_control_token_and_lists(node: UiNode) -> None:
    body = {"decision": "further_control", "seal_status": "intact", "office": "CN-ALASHANKOU"}
    url = f"/api/v1/records/{RID}/control-results"
    read = {"Authorization": f"Bearer {node.accounts.issue_token('olga')}"}
    assert (await node.client.post(url, json=body, headers=read)).status_code == 403
    system = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}
    assert (await node.client.post(url, json=body, headers=system)).status_code == 403
    auth = {"Authorization": f"Bearer {node.accounts.issue_token('olga', 'control')}"}
    r = await node.client.post(url, json=body, headers=auth)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["decision"] == "further_control" and out["state"] == "pending"
    assert out["result"]["record_id"] == RID and out["recorded_by"] == "olga"
    bad = await node.client.post(url, json={**body, "decision": "maybe"}, headers=auth)
    assert bad.status_code == 422
    listed = (await node.client.get(url, headers=auth)).json()
    assert [c["id"] for c in listed["control_results"]] == [out["id"]]
    feed = (await node.client.get("/api/v1/control-results?direction=out", headers=auth)).json()
    assert [c["id"] for c in feed["control_results"]] == [out["id"]]
    missing = await node.client.post(
        "/api/v1/records/KZ-NOPE/control-results", json=body, headers=auth
    )
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "api.not_found"


async def test_discrepancies_from_the_result_show_on_container_record_and_api(
    node: UiNode,
) -> None:
    await node.login("olga")
    container = await node.client.get("/ui/containers/CSQU3054383")
    assert "No discrepancy found" in container.text
    page = await node.client.get(FORM)
    assert 'name="mass_0"' in page.text
    form = _form(
        node.csrf(page),
        number_0="CSQU3054383",  # the form's hidden field
        mass_0="31000",
        seals_0="KZ1234567",
        seal_status="intact",
    )
    assert (await node.client.post(FORM, data=form)).status_code == 303
    container = await node.client.get("/ui/containers/CSQU3054383")
    assert 'data-code="mass.beyond_tolerance"' in container.text
    assert 'data-code="goods.missing"' in container.text
    assert 'data-code="seal.differs"' not in container.text  # the seal found is the declared one
    record = await node.client.get(f"/ui/records/KZ/{RID}")
    assert 'data-code="mass.beyond_tolerance"' in record.text
    auth = {"Authorization": f"Bearer {node.accounts.issue_token('olga')}"}
    api = await node.client.get(f"/api/v1/records/{RID}/discrepancies", headers=auth)
    assert api.status_code == 200
    got = {d["code"]: d for d in api.json()["discrepancies"]}
    assert set(got) == {"mass.beyond_tolerance", "goods.missing"}
    assert got["mass.beyond_tolerance"]["field"] == "$.containers[0].gross_mass_kg"
    assert got["mass.beyond_tolerance"]["found"] == "31000.000 kg"

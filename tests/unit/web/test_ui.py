"""The officers' UI through its ASGI app on a real store: login, CSRF, sessions, throttling,
the access check, the arrival pages, languages, and record text shown as text."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select

from ctop_node.control.arrival import Status
from ctop_node.store import SqlStore
from ctop_node.store.schema import records
from tests.unit.web._ui import PASSWORD, SYSTEM_TOKEN, UiNode, receive, ui_node

pytestmark = pytest.mark.anyio

RID = "KZ-551800-2026-000001"


async def test_login_sets_a_strict_httponly_session_cookie(node: UiNode) -> None:
    r = await node.login("olga")
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("ctop_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would be dropped
    page = await node.client.get("/ui/")
    assert page.status_code == 200
    assert "olga (arrival_officer)" in page.text


async def test_the_cookie_is_secure_when_served_over_tls(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    tls = ui_node(store, record_dict, base_url="https://node")
    r = await tls.login("olga")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("ctop_session="))
    assert "Secure" in cookie


async def test_pages_need_a_session(node: UiNode) -> None:
    r = await node.client.get(f"/ui/records/KZ/{RID}")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


async def test_login_without_the_form_token_is_refused(node: UiNode) -> None:
    await node.client.get("/login")
    r = await node.client.post("/login", data={"username": "olga", "password": PASSWORD})
    assert r.status_code == 403
    assert "ctop_session" not in r.cookies


async def test_wrong_password_then_throttled_even_with_the_right_one(node: UiNode) -> None:
    r = await node.login("olga", "wrong password!!")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    for _ in range(4):
        await node.login("olga", "wrong password!!")
    r = await node.login("olga")
    assert r.status_code == 429 and "Too many failed logins" in r.text
    node.clock.advance(minutes=16)
    assert (await node.login("olga")).status_code == 303


async def test_one_address_guessing_many_users_is_throttled(node: UiNode) -> None:
    # Real users, so each check is a cheap hash (an unknown name costs a full-cost one).
    for i in range(4):
        node.accounts.add_user(f"guess{i}", "auditor", PASSWORD)
        for _ in range(5):
            await node.login(f"guess{i}", "wrong password!!")
    assert (await node.login("sam")).status_code == 429


async def test_sessions_end_when_idle_and_after_their_absolute_lifetime(node: UiNode) -> None:
    await node.login("olga")
    node.clock.advance(minutes=29)
    assert (await node.client.get("/ui/")).status_code == 200
    node.clock.advance(minutes=31)
    assert (await node.client.get("/ui/")).status_code == 303  # idle for 31 min
    await node.login("olga")
    for _ in range(17):  # busy all day: 17 x 29 min > 8 h
        node.clock.advance(minutes=29)
        r = await node.client.get("/ui/")
    assert r.status_code == 303


async def test_logout_needs_the_form_token_and_ends_the_session(node: UiNode) -> None:
    await node.login("olga")
    page = await node.client.get("/ui/")
    assert (await node.client.post("/logout", data={"csrf": "forged"})).status_code == 403
    assert (await node.client.get("/ui/")).status_code == 200
    r = await node.client.post("/logout", data={"csrf": node.csrf(page)})
    assert r.status_code == 303
    assert (await node.client.get("/ui/")).status_code == 303


async def test_arrival_list_train_container_and_record_pages(node: UiNode) -> None:
    await node.login("olga")
    arrivals = (await node.client.get("/ui/")).text
    assert "Dostyk – Alashankou" in arrivals and "Altynkol – Khorgos" in arrivals
    assert 'href="/ui/trains/KZ-1001-20261126"' in arrivals
    assert 'id="restriction"' in arrivals
    train = (await node.client.get("/ui/trains/KZ-1001-20261126")).text
    assert "Wagon 52000510" in train and "Container CSQU3054383" in train
    assert "Wheat, other than durum" in train and "announced" in train
    container = await node.client.get("/ui/containers/CSQU3054383")
    assert container.status_code == 200 and "KZ1234567" in container.text
    record = (await node.client.get(f"/ui/records/KZ/{RID}")).text
    assert "Xinjiang Grain Import Co., Ltd." in record and 'id="restriction"' in record
    assert (await node.client.get("/ui/trains/KZ-9999-20261126")).status_code == 404


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("csqu305", "container"),
        ("52000510", "wagon"),
        ("1001", "train"),
        ("55180/251126", "declaration"),
        ("KZ1234567", "seal"),
        ("lock-0001", "smart lock"),
        ("1001", "HS code"),
        ("grain", "consignee"),
        ("91650100MA77", "consignee"),
    ],
)
async def test_search_by_every_key(node: UiNode, query: str, kind: str) -> None:
    await node.login("olga")
    r = await node.client.get("/ui/search", params={"q": query})
    assert f"<td>{kind}</td>" in r.text
    assert RID in r.text


async def test_search_wildcards_are_literal(node: UiNode) -> None:
    await node.login("olga")
    r = await node.client.get("/ui/search", params={"q": "%"})
    assert RID not in r.text and "Nothing found." in r.text


async def test_record_text_with_html_and_sql_shows_as_text(
    node: UiNode, record_dict: dict[str, Any]
) -> None:
    evil = copy.deepcopy(record_dict)
    evil["record_id"] = "KZ-EVIL-1"
    evil["consignee"]["name"] = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    evil["goods"][0]["description"] = "Wheat'); DROP TABLE records; --"
    receive(node.store, evil)
    await node.login("olga")
    page = (await node.client.get("/ui/records/KZ/KZ-EVIL-1")).text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "Wheat&#39;); DROP TABLE records; --" in page
    hits = (await node.client.get("/ui/search", params={"q": "<script>"})).text
    assert "KZ-EVIL-1" in hits and "<script>alert" not in hits
    with node.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == 2
    r = await node.client.get("/ui/")
    assert "script-src" not in r.headers["content-security-policy"]  # no script allowed
    assert "default-src 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("lang", "title", "banner"),
    [
        ("ru", "Поезд 1001", "только для целей таможенного контроля"),
        ("kk", "1001 пойызы", "тек кедендік бақылау мақсатында"),
        ("zh", "列车 1001", "仅用于海关监管"),
        ("en", "Train 1001", "for customs control only"),
    ],
)
async def test_train_page_in_each_language(
    node: UiNode, lang: str, title: str, banner: str
) -> None:
    await node.login("olga")
    r = await node.client.get("/ui/trains/KZ-1001-20261126", params={"lang": lang})
    assert f'<html lang="{lang}">' in r.text
    assert title in r.text and banner in r.text


async def test_language_follows_query_then_saved_choice_then_accept_language(
    node: UiNode,
) -> None:
    await node.login("olga")
    headers = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    assert '<html lang="zh">' in (await node.client.get("/ui/", headers=headers)).text
    page = await node.client.get("/ui/", params={"lang": "kk"}, headers=headers)
    assert '<html lang="kk">' in page.text
    r = await node.client.post(
        "/ui/language", data={"csrf": node.csrf(page), "lang": "ru", "next": "/ui/"}
    )
    assert r.status_code == 303
    assert '<html lang="ru">' in (await node.client.get("/ui/", headers=headers)).text
    assert '<html lang="en">' in (await node.client.get("/ui/?lang=en", headers=headers)).text


async def test_dates_and_numbers_follow_the_language(node: UiNode) -> None:
    await node.login("olga")
    en = (await node.client.get("/ui/trains/KZ-1001-20261126", params={"lang": "en"})).text
    ru = (await node.client.get("/ui/trains/KZ-1001-20261126", params={"lang": "ru"})).text
    assert "24,000" in en and "Nov 26, 2026" in en
    assert "24\xa0000" in ru and "26 нояб. 2026" in ru


async def test_an_analyst_never_reads_records(node: UiNode) -> None:
    await node.login("ann")
    r = await node.client.get("/ui/")
    assert r.status_code == 403 and 'id="denied"' in r.text
    assert (await node.client.get(f"/ui/records/KZ/{RID}")).status_code == 403
    token = node.accounts.issue_token("ann")
    api = await node.client.get("/api/v1/records", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert api.json()["detail"]["code"] == "access.denied"
    assert (await node.client.get("/api/v1/records")).status_code == 403  # her session too


async def test_user_tokens_read_the_api_and_can_be_revoked(node: UiNode) -> None:
    token = node.accounts.issue_token("olga")
    auth = {"Authorization": f"Bearer {token}"}
    r = await node.client.get("/api/v1/records", headers=auth)
    assert r.status_code == 200 and [x["record_id"] for x in r.json()["records"]] == [RID]
    one = await node.client.get(f"/api/v1/records/{RID}", headers=auth)
    assert one.json()["body"]["train"]["number"] == "1001"
    assert "customs control only" in one.json()["use_restriction"]
    audit = await node.client.get("/api/v1/records", params={"purpose": "audit"}, headers=auth)
    assert audit.status_code == 403
    # A read token never ingests, even for an officer.
    post = await node.client.post(
        "/api/v1/records", content=b"{}", headers={**auth, "Content-Type": "application/json"}
    )
    assert post.status_code == 403
    node.accounts.users.revoke_tokens("olga", node.clock())
    assert (await node.client.get("/api/v1/records", headers=auth)).status_code == 401


async def test_the_system_token_ingests_but_does_not_read(node: UiNode) -> None:
    auth = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}
    assert (await node.client.get("/api/v1/status", headers=auth)).status_code == 200
    assert (await node.client.get("/api/v1/records", headers=auth)).status_code == 403
    bad = {"Authorization": "Bearer ctu_not-a-token"}
    assert (await node.client.get("/api/v1/records", headers=bad)).status_code == 401


async def test_a_disabled_user_is_logged_out(node: UiNode) -> None:
    await node.login("olga")
    node.accounts.users.disable("olga")
    assert (await node.client.get("/ui/")).status_code == 303
    assert (await node.login("olga")).status_code == 401


async def test_next_never_leaves_the_node(node: UiNode) -> None:
    page = await node.client.get("/login", params={"next": "//evil.example/x"})
    r = await node.client.post(
        "/login",
        data={
            "username": "olga",
            "password": PASSWORD,
            "csrf": node.csrf(page),
            "next": "//evil.example/x",
        },
    )
    assert r.headers["location"] == "/ui/"


async def test_static_css_is_served_by_the_node(node: UiNode) -> None:
    r = await node.client.get("/static/ui.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")


async def test_forms_over_the_limit_are_refused(node: UiNode) -> None:
    r = await node.client.post(
        "/login",
        content=b"a=" + b"x" * 20_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


async def test_the_train_list_window_and_a_bad_window(node: UiNode) -> None:
    node.clock.advance(days=5)  # the train was planned 5 days ago
    await node.login("olga")
    assert "KZ-1001-20261126" in (await node.client.get("/ui/")).text
    assert "KZ-1001-20261126" not in (await node.client.get("/ui/?days=2")).text
    assert (await node.client.get("/ui/?days=lots")).status_code == 200


async def test_a_session_cookie_never_authorises_an_api_write(node: UiNode) -> None:
    await node.login("olga")
    r = await node.client.post(
        "/api/v1/records", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 401
    assert (await node.client.get("/api/v1/records")).status_code == 200


class _Decided:
    def outcome(self, origin_party: str, record_id: str) -> Status | None:
        return Status.RELEASED if record_id == RID else None


async def test_control_results_hook_sets_the_status(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    node = ui_node(store, record_dict, control=_Decided())
    await node.login("olga")
    page = (await node.client.get("/ui/trains/KZ-1001-20261126")).text
    assert '<span class="status status-released">released</span>' in page

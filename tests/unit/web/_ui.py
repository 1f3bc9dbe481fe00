"""A CN node's internal app on a real store, with a KZ record received, users and a clock."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from argon2 import PasswordHasher

from ctop_node.access.sessions import Accounts, SessionSettings
from ctop_node.control.arrival import ControlOutcomes
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.store.users import UserStore
from ctop_node.web.api import api_app
from tests.unit.store._entries import entry

PASSWORD = "correct horse battery"
SYSTEM_TOKEN = "system-token-for-tests-0123456789"
# Verifying a hash uses the parameters stored in it: cheap hashes keep the tests fast.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class UiNode:
    store: SqlStore
    clock: Clock
    accounts: Accounts
    client: httpx.AsyncClient

    async def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        page = await self.client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        return await self.client.post(
            "/login",
            data={"username": name, "password": password, "csrf": csrf.group(1)},
        )

    def csrf(self, page: httpx.Response) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)


def receive(store: SqlStore, record: dict[str, Any]) -> None:
    """Store ``record`` as received from KZ (what the inbox does when a message applies)."""
    store.write_batch([entry(record)], origin_party="KZ", direction="in")


def ui_node(
    store: SqlStore,
    record: dict[str, Any],
    *,
    base_url: str = "http://node",
    control: ControlOutcomes | None = None,
) -> UiNode:
    clock = Clock()
    receive(store, copy.deepcopy(record))
    app = api_app(
        IngestPipeline(store, Classifier(NodePolicy("CN"))),
        SYSTEM_TOKEN,
        party="CN",
        clock=clock,
        session_settings=SessionSettings(idle=timedelta(minutes=30), absolute=timedelta(hours=8)),
        control=control,
    )
    accounts = Accounts(UserStore(store.engine), clock=clock, hasher=CHEAP_HASHER)
    for name, role in (("olga", "arrival_officer"), ("ann", "analyst"), ("sam", "supervisor")):
        accounts.add_user(name, role, PASSWORD)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
    return UiNode(store, clock, accounts, client)

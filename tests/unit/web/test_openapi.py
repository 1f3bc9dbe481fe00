"""The served OpenAPI document against the API itself, with schemathesis (bounded examples):
no server error, every answer matches the declared schema (status, body, content type), on
both databases; and the document declares the bearer scheme, the request bodies and the
error answers."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from ctop_node.access.sessions import Accounts, SessionSettings
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.store.users import UserStore
from ctop_node.web.api import api_app
from tests.unit.web._ui import CHEAP_HASHER, PASSWORD, SYSTEM_TOKEN, Clock, receive


@pytest.fixture
def served(store: SqlStore, record_dict: dict[str, Any]) -> tuple[FastAPI, str]:
    clock = Clock()
    receive(store, copy.deepcopy(record_dict))
    app = api_app(
        IngestPipeline(store, Classifier(NodePolicy("CN"))),
        SYSTEM_TOKEN,
        party="CN",
        clock=clock,
        session_settings=SessionSettings(idle=timedelta(minutes=30), absolute=timedelta(hours=8)),
    )
    accounts = Accounts(UserStore(store.engine), clock=clock, hasher=CHEAP_HASHER)
    accounts.add_user("olga", "arrival_officer", PASSWORD)
    return app, accounts.issue_token("olga", "control")


@pytest.fixture
def api_schema(served: tuple[FastAPI, str]) -> OpenApiSchema:
    app, _ = served
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def test_the_document_declares_security_bodies_and_errors(
    served: tuple[FastAPI, str], api_schema: OpenApiSchema
) -> None:
    app, _ = served
    doc = api_schema.raw_schema
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = doc["paths"]
    for path in (
        "/api/v1/records",
        "/api/v1/records/{record_id}",
        "/api/v1/trains",
        "/api/v1/trains/{train_key}",
        "/api/v1/search",
        "/api/v1/containers/{number}",
        "/api/v1/records/{record_id}/control-results",
        "/api/v1/records/{record_id}/discrepancies",
        "/api/v1/control-results",
        "/api/v1/departure",
    ):
        assert path in paths, path
        for op in paths[path].values():
            assert op["security"] == [{"bearer": []}]
            assert {"401", "403", "422"} <= set(op["responses"]), (path, op["responses"].keys())
            assert "200" in op["responses"] or "201" in op["responses"]
    ingest = paths["/api/v1/records"]["post"]
    assert {"413", "415", "400"} <= set(ingest["responses"])
    assert "application/x-ndjson" in ingest["requestBody"]["content"]
    post_control = paths["/api/v1/records/{record_id}/control-results"]["post"]
    assert "application/json" in post_control["requestBody"]["content"]
    assert paths["/api/v1/health"]["get"]["security"] == []
    assert app.docs_url is None and app.redoc_url is None  # no page with CDN assets


def test_api_conforms_to_its_document(
    served: tuple[FastAPI, str], api_schema: OpenApiSchema
) -> None:
    """Each operation with bounded generated examples; schemathesis' pytest plugin is not
    used (it does not run under this pytest), the operations are driven here instead."""
    _, token = served
    auth = {"Authorization": f"Bearer {token}"}
    ran = 0
    for found in api_schema.get_all_operations():
        assert isinstance(found, Ok), found  # the document itself is valid
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            # Not "positive data acceptance": pydantic declares a Decimal as any number or
            # string, so a generated "mass" like "x_" is schema-valid yet (rightly) refused.
            case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

        check()
        ran += 1
    assert ran >= 12  # every operation of the document was exercised

"""JSON errors with codes for every failure of the internal API, and the OpenAPI document's
security: a bearer token on every operation but the health probe.

Every error answer is ``{"detail": {"code": ..., "message": ...}}``: the API's own problems
already are; FastAPI's request validation (422) and Starlette's own 404/405 are put in that
shape here, so a client parses one form.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PUBLIC = frozenset({"/api/v1/health"})  # no token: a readiness probe


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        body = {
            "detail": {
                "code": "api.invalid",
                "message": f"{where}: {first.get('msg', 'invalid')}",
                "errors": jsonable_encoder(
                    [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]
                ),
            }
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: Any = exc.detail
        if not isinstance(detail, dict):
            detail = {"code": f"http.{exc.status_code}", "message": str(detail)}
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )


def install_security(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "the node's API token (clearance system) or a user's token "
                "from `ctop-node user token NAME [--scope control]`",
            }
        }
        for path, ops in schema.get("paths", {}).items():
            for op in ops.values():
                op["security"] = [] if path in PUBLIC else [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The FastAPI application: routes under ``/v1``, OpenAPI 3.1 at ``/openapi.json``, the
gate (body limit, API key, Idempotency-Key) and the problem handlers (docs/API.md).

``create_app(app)`` keeps the bootstrap ``App`` as ``state.neocloud``: the dashboard's
routes (``neocloud.web``) read it from there and share the one object-level check
(``services/authorization.py``). ``factory()`` is what uvicorn's worker processes import
(``neocloud serve --workers N``): each builds its own ``App`` from the environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from neocloud import bootstrap, web
from neocloud.api import problems
from neocloud.api.gate import BODY_LIMIT, Gate
from neocloud.api.routers import admin, agreements, billing, events, sites, usage
from neocloud.bootstrap import App
from neocloud.domain.kernel.errors import NeocloudError
from neocloud.services.dashboard import FiguresMemo, UsageMemo

VERSION = "1"


def create_app(app: App, *, body_limit: int = BODY_LIMIT) -> FastAPI:
    api = FastAPI(
        title="neocloud",
        version=VERSION,
        summary="Control plane of a GPU data-center operator: fleet, agreements, allocation, "
        "invoices, economics.",
        openapi_url="/openapi.json",
        docs_url=None,  # Swagger UI would load its scripts from a CDN
        redoc_url=None,
    )
    api.state.neocloud = app
    api.state.usage_memo = UsageMemo()  # per application: one database's versions
    api.state.figures_memo = FiguresMemo()  # the dashboard's, likewise (and its telemetry)
    routers = (sites.router, agreements.router, usage.router, billing.router, admin.router,
               events.router)  # fmt: skip
    for router in routers:
        api.include_router(router)
    api.include_router(web.router)  # the dashboard, at the root (its errors are pages)
    api.add_exception_handler(NeocloudError, problems.on_neocloud_error)
    api.add_exception_handler(RequestValidationError, problems.on_validation_error)
    api.add_exception_handler(HTTPException, problems.on_http_error)
    api.add_exception_handler(problems.Malformed, problems.on_malformed)
    api.add_middleware(Gate, neocloud=app, limit=body_limit)
    api.openapi = lambda: _openapi(api)  # type: ignore[method-assign]
    return api


def factory() -> FastAPI:
    """The application of one server process, wired from the environment (NEOCLOUD_*);
    its pooled connections are closed when the process stops serving."""
    app = bootstrap.app()
    app.require_database()
    api = create_app(app)

    @asynccontextmanager
    async def closing(_: object) -> AsyncIterator[None]:
        try:
            yield
        finally:
            app.close()

    api.router.lifespan_context = closing
    return api


def _openapi(api: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the problem body's schema among the components."""
    if api.openapi_schema:
        return api.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=api.title, version=api.version, summary=api.summary,
                      routes=api.routes)  # fmt: skip
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    body = problems.ProblemBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body.pop("$defs", {}))
    schemas["ProblemBody"] = body
    api.openapi_schema = doc
    return doc

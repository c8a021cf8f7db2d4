"""Errors as RFC 9457 ``application/problem+json``: the one table from error codes to HTTP
statuses, and the handlers that turn every refusal into a problem naming field and value.

The codes are the CLI's (``cli/output.py::EXIT_CODES``): a script can branch on ``code``
whichever way it calls neocloud. What is not a NeocloudError: malformed JSON is 400
``malformed``; input of the wrong shape (types, unknown or missing fields) is 422
``invalid_input``; a body past the limit 413 ``too_large``; an unknown route 404
``not_found``; a method a route does not take 405 ``method_not_allowed``; a stale If-Match
412 ``precondition_failed``; anything unexpected 500 ``internal``, which says it is a bug.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from neocloud.domain.kernel.errors import InvalidInput, NeocloudError, Problem

MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("neocloud.api")

STATUS = {
    "invalid_input": 422,
    "not_found": 404,
    "conflict": 409,
    "insufficient_capacity": 409,
    "invalid_transition": 409,
    "forbidden": 403,
    "unauthenticated": 401,
    "unavailable": 503,
    # not NeocloudError codes: what HTTP itself can refuse
    "malformed": 400,
    "precondition_failed": 412,
    "too_large": 413,
    "unsupported_media_type": 415,
    "method_not_allowed": 405,
    "internal": 500,
}
"""Error code -> HTTP status: the one table (the CLI has its own for exit codes)."""

TITLES = {
    "invalid_input": "Invalid input",
    "not_found": "Not found",
    "conflict": "Conflict",
    "insufficient_capacity": "Insufficient capacity",
    "invalid_transition": "Invalid transition",
    "forbidden": "Forbidden",
    "unauthenticated": "Unauthenticated",
    "unavailable": "Unavailable",
    "malformed": "Malformed request",
    "precondition_failed": "Precondition failed",
    "too_large": "Request body too large",
    "unsupported_media_type": "Unsupported media type",
    "method_not_allowed": "Method not allowed",
    "internal": "Internal error",
}
MAX_VALUE = 200
"""Characters of a refused value echoed back (a 1 MiB string is not)."""


class FieldProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    value: Any = None
    message: str
    location: str


class ProblemBody(BaseModel):
    """RFC 9457 problem details, with neocloud's ``code`` and, for invalid input, every
    problem found (field, value, message, location)."""

    model_config = ConfigDict(extra="forbid")
    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None


def type_uri(code: str) -> str:
    return f"urn:neocloud:problem:{code}"


def json_value(value: object) -> object:
    """A refused value as JSON shows it: exact numbers as text, long text cut."""
    if value is None or isinstance(value, bool | int):
        return value
    text = str(value) if isinstance(value, Decimal | str) else repr(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "..."


def problem(
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: Sequence[Problem] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    status = STATUS[code]
    body: dict[str, object] = {
        "type": type_uri(code),
        "title": TITLES[code],
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = [
            {
                "field": p.field,
                "value": json_value(p.value),
                "message": p.message,
                "location": p.location,
            }
            for p in errors
        ]
    out = dict(headers or {})
    if code == "unauthenticated":
        out["WWW-Authenticate"] = 'Bearer realm="neocloud"'
    return Response(json.dumps(body), status_code=status, headers=out, media_type=MEDIA_TYPE)


def error_response(exc: NeocloudError, instance: str | None = None) -> Response:
    errors = exc.problems if isinstance(exc, InvalidInput) else ()
    return problem(exc.code if exc.code in STATUS else "internal", exc.message,
                   instance=instance, errors=errors)  # fmt: skip


def internal_error(exc: BaseException, instance: str | None = None) -> Response:
    _log.error("internal error at %s", instance or "?", exc_info=exc)
    return problem(
        "internal",
        f"internal error ({type(exc).__name__}); this is a bug in neocloud, not in your "
        "request: please report it (the server log has the traceback)",
        instance=instance,
    )


class Malformed(Exception):
    """The body is not JSON (400)."""


async def on_malformed(request: Request, exc: Exception) -> Response:
    return problem("malformed", "the body is not valid JSON (UTF-8)", instance=request.url.path)


def _location(loc: Sequence[object]) -> tuple[str, str]:
    """FastAPI's ``("body", "agreement", 0)`` -> (``agreement[0]``, ``body``)."""
    where = str(loc[0]) if loc else ""
    field = ""
    for part in loc[1:]:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return field or where, where


def validation_problems(errors: Sequence[Any]) -> list[Problem]:
    out = []
    for e in errors:
        field, where = _location(e.get("loc", ()))
        given = None if e.get("type") == "missing" else e.get("input")  # not the whole body
        out.append(Problem(field, given, e.get("msg", "is not valid"), where))
    return out


async def on_neocloud_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NeocloudError)
    return error_response(exc, request.url.path)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem("malformed", "the body is not valid JSON", instance=request.url.path)
    found = validation_problems(errors)
    head = str(found[0]) if len(found) == 1 else f"{len(found)} problems in the request"
    return problem("invalid_input", head, instance=request.url.path, errors=found)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 405:
        allowed = ", ".join(_allowed(request))
        return problem(
            "method_not_allowed",
            f"{request.method} is not allowed on {path} (allowed: {allowed})",
            instance=path,
            headers={"Allow": allowed},
        )  # fmt: skip
    if exc.status_code == 404:
        return problem("not_found", f"no route {path}", instance=path)
    if exc.status_code == 400:
        return problem("malformed", str(exc.detail), instance=path)
    return problem("internal", str(exc.detail), instance=path)


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first's)."""
    from starlette.routing import Match

    probe = {**request.scope, "method": "\x00"}
    methods: set[str] = set()
    pending = list(request.app.routes)
    while pending:
        route = pending.pop()
        inner = getattr(route, "original_router", None)  # FastAPI's included routers
        if inner is not None:
            pending.extend(inner.routes)
        elif route.matches(probe)[0] is Match.PARTIAL:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods - {"HEAD"})


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses a route may give, for its OpenAPI entry."""
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemBody"}}}
    words = {s: t for c, t in TITLES.items() if (s := STATUS[c])}
    return {s: {"description": words.get(s, "Problem"), "content": content} for s in statuses}

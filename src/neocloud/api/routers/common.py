"""What the routers share: query parameters, problem responses, the JSON body reader."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, ValidationError

from neocloud.api.deps import DEFAULT_LIMIT, MAX_LIMIT
from neocloud.api.problems import Malformed, documented, validation_problems
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
READ = documented(401, 403, 404, 422, 503)
WRITE = documented(400, 401, 403, 404, 409, 413, 422, 503)
CHANGE = documented(400, 401, 403, 404, 409, 412, 413, 422, 503)
LIST = documented(401, 403, 404, 422, 503)

Cursor = Query(None, max_length=2000, description="From the `next_cursor` of the page before")
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
From = Query(
    None, alias="from", max_length=64, description="Start (a date or an instant), inclusive"
)
To = Query(None, alias="to", max_length=64, description="End (a date or an instant), exclusive")


def _constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


async def json_body(request: Request) -> object:
    """The body as JSON with exact numbers (``1.15`` is Decimal("1.15"), never a float)."""
    raw = await request.body()
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed from None


def document(data: object, name: str = "request body") -> SourceDocument:
    return SourceDocument(name, data)


def validated(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        raise InvalidInput(problems) from None


def json_body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

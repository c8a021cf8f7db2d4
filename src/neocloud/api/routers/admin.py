"""``/v1/audit`` (admin and auditor) and ``/v1/api-keys`` (admin): the trail, and who may
call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from neocloud.api import schemas as s
from neocloud.api.deps import Caller, guard, instant, page, period
from neocloud.api.routers.common import LIST, READ, WRITE, Cursor, From, Limit, To
from neocloud.domain.access.policy import Area, Verb

router = APIRouter(tags=["admin"])


@router.get("/v1/audit", response_model=s.AuditPage, responses=LIST)
def audit(
    request: Request,
    entity_type: str | None = Query(None, max_length=40),
    entity_key: str | None = Query(None, max_length=200),
    action: str | None = Query(None, max_length=60),
    start: str | None = From,
    end: str | None = To,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.AUDIT)),
) -> dict[str, object]:
    """Every change, oldest first: when (system clock), the business date, who, what, on
    which entity, with its details; ``from``/``to``: recorded in ``[from, to)``."""
    from neocloud.services import audit as service

    window = period(start, end)
    entries = service.audit_entries(
        caller.app.uow(), entity_type=entity_type, entity_key=entity_key, action=action
    )
    numbered = [(n, e) for n, e in enumerate(entries) if window.holds(e.recorded_at)]
    out = page(request, numbered, lambda pair: pair[0], cursor, limit)
    out["items"] = [s.audit_out(e) for _, e in out["items"]]  # type: ignore[attr-defined]
    return out


@router.get("/v1/api-keys", response_model=s.ApiKeyPage, responses=LIST)
def list_keys(
    request: Request,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.KEYS)),
) -> dict[str, object]:
    """Every API key: id, role, tenant, label, status now, created, expires, revoked."""
    from neocloud.services import access

    now = caller.app.wall.now()
    rows = [s.api_key_out(k, now) for k in access.list_keys(caller.app.uow())]
    return page(request, rows, lambda r: (r["created_at"], r["key_id"]), cursor, limit)


@router.post("/v1/api-keys", status_code=201, response_model=s.NewApiKeyOut, responses=WRITE)
def create_key(
    body: s.ApiKeyRequest,
    response: Response,
    caller: Caller = Depends(guard(Verb.WRITE, Area.KEYS)),
) -> dict[str, Any]:
    """A new key, shown in this answer once: only its SHA-256 is stored."""
    from neocloud.services import access

    expires_at = instant(body.expires_at, "expires_at")
    label = body.label if body.label is not None else f"{body.tenant or body.role} key"
    key, text = access.create_key(
        caller.app.uow(),
        caller.context(),
        role=body.role,
        label=label,
        tenant=body.tenant,
        expires_at=expires_at,
        expires_field="expires_at",
    )
    response.headers["Location"] = f"/v1/api-keys/{key.key_id}"
    return {**s.api_key_out(key, key.created_at), "key": text}


@router.delete("/v1/api-keys/{key_id}", response_model=s.ApiKeyOut, responses=READ)
def revoke_key(
    key_id: str = Path(max_length=32),
    caller: Caller = Depends(guard(Verb.WRITE, Area.KEYS)),
) -> dict[str, Any]:
    """Revoke a key now; it stops working at once. Revoking it again is a conflict."""
    from neocloud.services import access

    key = access.revoke_key(caller.app.uow(), caller.context(), key_id)
    return s.api_key_out(key, caller.app.wall.now())

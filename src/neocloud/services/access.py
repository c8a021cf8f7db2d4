"""API keys: create (the key is shown once), list, revoke, and authenticate a caller.

Every change is audited in the same transaction. Expiry and revocation go by the system
clock (``ctx.wall``): see ``domain/access/keys.py``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from neocloud.domain.access.keys import ApiKey, check_new_key, digest, key_id_of, key_text
from neocloud.domain.access.policy import Principal
from neocloud.domain.kernel.errors import Conflict, InvalidInput, Unauthenticated
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.services.context import Context
    from neocloud.services.ports import UnitOfWork

_log = logging.getLogger("neocloud.access")


@use_case("apikey.create")
def create_key(
    uow: UnitOfWork,
    ctx: Context,
    *,
    role: str,
    label: str,
    tenant: str | None = None,
    expires_at: datetime | None = None,
    expires_field: str = "expires",
) -> tuple[ApiKey, str]:
    """A new key and its text, which is never stored nor shown again. A tenant key names a
    tenant some agreement names: a typo would make a key that sees nothing today and
    whatever a later tenant of that name holds."""
    now = ctx.wall.now()
    parsed = check_new_key(role, tenant, label, now, expires_at, expires_field=expires_field)
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    text = key_text(key_id, secret)
    key = ApiKey(key_id, parsed, tenant, label, now, digest(text), expires_at, actor=ctx.actor)
    with uow.write():
        if tenant is not None and not uow.agreements.all_keys(tenant=tenant):
            raise InvalidInput.single(
                "tenant", tenant, "no agreement names this tenant: create its agreement first"
            )
        uow.api_keys.add(key)
        uow.audit.record(
            ctx.audit(
                "apikey.create",
                "apikey",
                key_id,
                {
                    "after": {
                        "role": parsed.value,
                        "tenant": tenant,
                        "label": label,
                        "expires_at": None if expires_at is None else expires_at.isoformat(),
                    }
                },
            )
        )
        uow.commit()
    return key, text


@use_case("apikey.list")
def list_keys(uow: UnitOfWork) -> list[ApiKey]:
    with uow:
        return uow.api_keys.all()


@use_case("apikey.revoke")
def revoke_key(uow: UnitOfWork, ctx: Context, key_id: str) -> ApiKey:
    """Revoke now; a key already revoked is a Conflict (nothing changes)."""
    now = ctx.wall.now()
    with uow.write():
        key = uow.api_keys.get(key_id)
        if key.revoked_at is not None:
            raise Conflict(f"API key {key_id} was already revoked at {key.revoked_at.isoformat()}")
        uow.api_keys.revoke(key_id, now)
        uow.audit.record(
            ctx.audit(
                "apikey.revoke",
                "apikey",
                key_id,
                {"before": {"status": key.status(now)}, "after": {"status": "revoked"}},
            )
        )
        uow.commit()
    return replace(key, revoked_at=now)


def authenticate(uow: UnitOfWork, key: str, at: datetime) -> Principal:
    """The caller a key stands for at ``at`` (system clock); Unauthenticated otherwise,
    with the same words whatever was wrong (the log says which)."""
    key_id = key_id_of(key)
    found = None
    if key_id is not None:
        with uow:
            found = uow.api_keys.find(key_id)
    if found is not None and found.matches(key) and found.active(at):
        return found.principal
    if found is None or not found.matches(key):
        reason = "malformed" if key_id is None else "unknown, or the secret is wrong"
    else:
        reason = found.status(at)
    _log.info("API key %s refused: %s", key_id or "-", reason)
    raise Unauthenticated("the API key is not valid (unknown, revoked or expired)")

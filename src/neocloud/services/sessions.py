"""Dashboard sessions: open one with an API key, find who a session's cookie stands for,
close it. Opening and closing are audited in the same transaction.

Every lookup checks the key too, so revoking a key (or its expiry) ends its sessions at
once. Times go by the system clock (``ctx.wall``), as for keys (``domain/access/keys.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from neocloud.domain.access.policy import Principal
from neocloud.domain.access.sessions import SESSION_LIFETIME, WebSession
from neocloud.domain.kernel.errors import Unauthenticated
from neocloud.services.access import authenticate
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.kernel.audit import AuditEntry
    from neocloud.services.context import Context
    from neocloud.services.ports import UnitOfWork

_log = logging.getLogger("neocloud.sessions")
ENDED = "the session has ended (logged out, expired, or its key revoked): log in again"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@use_case("session.open")
def open_session(uow: UnitOfWork, ctx: Context, key: str) -> tuple[str, WebSession, Principal]:
    """A new session for the caller ``key`` stands for (Unauthenticated otherwise): the
    cookie's token (shown once, stored as its hash), the session and the principal."""
    now = ctx.wall.now()
    principal = authenticate(uow, key, now)
    token = secrets.token_urlsafe(32)
    session = WebSession(
        token_digest(token), principal.key_id, secrets.token_urlsafe(32), now,
        now + SESSION_LIFETIME,
    )  # fmt: skip
    with uow.write():
        uow.sessions.add(session)
        uow.audit.record(_entry(ctx, principal, "session.open", session))
        uow.commit()
    return token, session, principal


def _entry(ctx: Context, principal: Principal, action: str, session: WebSession) -> AuditEntry:
    """The audit entry, naming the key's holder as the actor (not the server's actor)."""
    entry = ctx.audit(
        action,
        "apikey",
        principal.key_id,
        {"session": session.token_sha256[:12], "expires_at": session.expires_at.isoformat()},
    )
    return replace(entry, actor=principal.actor)


def find_session(uow: UnitOfWork, token: str, at: datetime) -> tuple[WebSession, Principal]:
    """The live session the cookie's token opens, and who it stands for at ``at``;
    Unauthenticated if there is none, it expired, or its key no longer works."""
    with uow:
        session = uow.sessions.find(token_digest(token)) if token else None
        key = uow.api_keys.find(session.key_id) if session is not None else None
    if session is None or key is None:
        raise Unauthenticated(ENDED)
    if not session.active(at) or not key.active(at):
        _log.info("session of key %s refused: %s", key.key_id,
                  "expired" if not session.active(at) else f"key {key.status(at)}")  # fmt: skip
        raise Unauthenticated(ENDED)
    return session, key.principal


def csrf_matches(session: WebSession, given: str) -> bool:
    """Whether a form's token is the session's (compared in constant time)."""
    return hmac.compare_digest(session.csrf_token.encode(), given.encode())


@use_case("session.close")
def close_session(uow: UnitOfWork, ctx: Context, session: WebSession, principal: Principal) -> None:
    """Delete the session (logout); its cookie opens nothing afterwards."""
    with uow.write():
        if uow.sessions.remove(session.token_sha256):
            uow.audit.record(_entry(ctx, principal, "session.close", session))
        uow.commit()

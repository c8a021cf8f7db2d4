"""Dashboard sessions in the database (``web_sessions``): the token's hash, never the token."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from neocloud.adapters.db.tables import api_keys, web_sessions
from neocloud.domain.access.sessions import WebSession


def _session(row: Any) -> WebSession:
    return WebSession(
        token_sha256=row.token_sha256,
        key_id=row.key_id,
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class SqlSessionRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, session: WebSession) -> None:
        key_row = select(api_keys.c.id).where(api_keys.c.key_id == session.key_id)
        self.connection.execute(
            insert(web_sessions).values(
                token_sha256=session.token_sha256,
                api_key_id=key_row.scalar_subquery(),
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )

    def find(self, token_sha256: str) -> WebSession | None:
        query = (
            select(web_sessions, api_keys.c.key_id)
            .join(api_keys, api_keys.c.id == web_sessions.c.api_key_id)
            .where(web_sessions.c.token_sha256 == token_sha256)
        )
        row = self.connection.execute(query).first()
        return None if row is None else _session(row)

    def remove(self, token_sha256: str) -> bool:
        """Delete the session; whether there was one."""
        done = self.connection.execute(
            delete(web_sessions).where(web_sessions.c.token_sha256 == token_sha256)
        )
        return bool(done.rowcount)

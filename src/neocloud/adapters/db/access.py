"""API keys in the database (``api_keys``): the hash of each key, never the key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from neocloud.adapters.db.tables import api_keys
from neocloud.domain.access.keys import ApiKey
from neocloud.domain.access.policy import Role
from neocloud.domain.kernel.errors import NotFound


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        role=Role(row.role),
        tenant=row.tenant,
        label=row.label,
        created_at=row.created_at,
        secret_sha256=row.secret_sha256,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        actor=row.actor,
    )


class SqlApiKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, key: ApiKey) -> None:
        self.connection.execute(
            insert(api_keys).values(
                key_id=key.key_id,
                secret_sha256=key.secret_sha256,
                role=key.role.value,
                tenant=key.tenant,
                label=key.label,
                created_at=key.created_at,
                expires_at=key.expires_at,
                revoked_at=key.revoked_at,
                actor=key.actor,
            )
        )

    def find(self, key_id: str) -> ApiKey | None:
        row = self.connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row)

    def get(self, key_id: str) -> ApiKey:
        found = self.find(key_id)
        if found is None:
            raise NotFound(f"API key {key_id!r} does not exist")
        return found

    def row_id(self, key_id: str) -> int:
        """The key's row id (sessions and idempotency keys refer to it)."""
        found = self.connection.scalar(select(api_keys.c.id).where(api_keys.c.key_id == key_id))
        if found is None:
            raise NotFound(f"API key {key_id!r} does not exist")
        return int(found)

    def all(self) -> list[ApiKey]:
        rows = self.connection.execute(select(api_keys).order_by(api_keys.c.id)).all()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str, at: datetime) -> None:
        self.connection.execute(
            update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=at)
        )

"""Idempotency keys in the database (``idempotency_keys``): one row per API key and
Idempotency-Key, pending while the first request runs, then its response."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from neocloud.adapters.db.tables import idempotency_keys
from neocloud.domain.access.idempotency import PENDING, StoredResponse
from neocloud.domain.kernel.errors import Conflict

C = idempotency_keys.c


def _stored(row: Any) -> StoredResponse:
    return StoredResponse(
        row.request_sha256, row.status_code, row.response_body, row.content_type, row.created_at
    )


class SqlIdempotencyKeys:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _where(self, api_key_id: int, key: str) -> Any:
        return and_(C.api_key_id == api_key_id, C.key == key)

    def find(self, api_key_id: int, key: str) -> StoredResponse | None:
        row = self.connection.execute(
            select(idempotency_keys).where(self._where(api_key_id, key))
        ).first()
        return None if row is None else _stored(row)

    def reserve(self, api_key_id: int, key: str, pending: StoredResponse) -> StoredResponse | None:
        """Insert the pending row; if another request holds the key already (a concurrent
        insert that committed first), return what it stored instead."""
        try:
            with self.connection.begin_nested():
                self.connection.execute(
                    insert(idempotency_keys).values(
                        api_key_id=api_key_id,
                        key=key,
                        request_sha256=pending.request_sha256,
                        status_code=PENDING,
                        response_body="",
                        content_type="",
                        created_at=pending.created_at,
                    )
                )
        except Conflict:  # the primary key: another request reserved it first
            return self.find(api_key_id, key)
        return None

    def complete(self, api_key_id: int, key: str, response: StoredResponse) -> None:
        self.connection.execute(
            update(idempotency_keys)
            .where(self._where(api_key_id, key))
            .values(
                status_code=response.status_code,
                response_body=response.body,
                content_type=response.content_type,
            )
        )

    def release(self, api_key_id: int, key: str) -> None:
        self.connection.execute(delete(idempotency_keys).where(self._where(api_key_id, key)))

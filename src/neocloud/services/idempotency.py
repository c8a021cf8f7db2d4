"""Idempotent POSTs (``domain/access/idempotency.py``): recall the answer a key got, or
reserve the key for the request about to run; keep its answer; release it when the request
failed in a way a retry may cure.

Two requests with one key can arrive together: the key's row is inserted before the request
runs and the primary key lets only one insert succeed (PostgreSQL makes the second wait for
the first's commit; SQLite's ``BEGIN IMMEDIATE`` queues them), so only one of them runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from neocloud.domain.access.idempotency import PENDING, StoredResponse, check_key
from neocloud.domain.kernel.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from neocloud.services.ports import UnitOfWork


def recall_or_reserve(
    uow: UnitOfWork, key_id: str, key: str, request_sha256: str, at: datetime
) -> StoredResponse | None:
    """The stored answer to replay, or None: the key is now reserved for this request.
    InvalidInput if the key was used for another request; Conflict while that runs."""
    check_key(key)
    pending = StoredResponse(request_sha256, PENDING, "", "", at)
    with uow.write():
        row_id = uow.api_keys.row_id(key_id)
        found = uow.idempotency.find(row_id, key)
        if found is not None and found.expired(at):  # forgotten: this request runs anew
            uow.idempotency.release(row_id, key)
            found = None
        found = found or uow.idempotency.reserve(row_id, key, pending)
        uow.commit()
    if found is None:
        return None
    if found.request_sha256 != request_sha256:
        raise InvalidInput.single(
            "Idempotency-Key", key, "was used for another request (another path or body)"
        )
    if found.pending:
        raise Conflict(
            f"a request with Idempotency-Key {key!r} is still running; retry in a moment"
        )
    return found


def remember(uow: UnitOfWork, key_id: str, key: str, response: StoredResponse) -> None:
    """Keep the answer (without the secrets it shows once: see ``redact`` in the gate)."""
    with uow.write():
        uow.idempotency.complete(uow.api_keys.row_id(key_id), key, response)
        uow.commit()


def release(uow: UnitOfWork, key_id: str, key: str) -> None:
    """Forget a reservation whose request changed nothing (a fault a retry may cure)."""
    with uow.write():
        uow.idempotency.release(uow.api_keys.row_id(key_id), key)
        uow.commit()

"""Idempotency keys: a client names a POST with ``Idempotency-Key`` so that sending it again
(a retry after a timeout, a second click) gets the first answer instead of a second object.

A key belongs to the API key that used it. It stands for one request (method, path, query
and body, by SHA-256): the same key with another request is refused, never replayed. While
the first request runs, its key is *pending*; an answer is kept once it is known (success
or a refusal of the input), so a replay returns exactly what the first call returned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import require_utc

HEADER = "Idempotency-Key"
MAX_KEY = 200
PENDING = 0
"""The status code stored while the first request is still running."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What a request under a key got: replayed as it is."""

    request_sha256: str
    status_code: int
    body: str
    content_type: str
    created_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", require_utc(self.created_at, "created_at"))

    @property
    def pending(self) -> bool:
        return self.status_code == PENDING


def check_key(key: str) -> str:
    """A key is 1-200 printable ASCII characters (a UUID is the usual choice)."""
    if not 1 <= len(key) <= MAX_KEY or not all(" " <= c <= "~" for c in key):
        raise InvalidInput.single(
            HEADER, key[:MAX_KEY], f"must be 1-{MAX_KEY} printable ASCII characters"
        )
    return key


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """SHA-256 of the request: two requests are the same if method, path, query and body
    are byte for byte the same."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(body)
    return digest.hexdigest()

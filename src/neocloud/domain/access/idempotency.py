"""Idempotency keys: a client names a POST with ``Idempotency-Key`` so that sending it again
(a retry after a timeout, a second click) gets the first answer instead of a second object.

A key belongs to the API key that used it. It stands for one request (method, path, query,
If-Match and body, by SHA-256): the same key with another request is refused, never
replayed. While the first request runs, its key is *pending*; an answer is kept once it is
known (success or a refusal of the input), so a replay returns exactly what the first call
returned, except the secrets an answer shows once (a new API key, a webhook's signing
secret): those are never stored (``redact``).

A key is kept for a day (``RETENTION``): after that the same key runs its request again. A
key left pending longer than ``ABANDONED`` (the process serving it died) is taken over by
the next request that brings it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import require_utc

HEADER = "Idempotency-Key"
MAX_KEY = 200
PENDING = 0
"""The status code stored while the first request is still running."""
RETENTION = timedelta(hours=24)
ABANDONED = timedelta(minutes=10)
"""No request runs this long (the gate's body limit, the services' lock timeouts)."""
SECRET_FIELDS = {"/v1/api-keys": "key", "/v1/webhooks": "secret"}
"""The creating POSTs whose answer shows a secret once, and the field that holds it."""
NOT_KEPT = "(shown once in the first answer, not kept: revoke it and create another if lost)"


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

    def expired(self, at: datetime) -> bool:
        """Forgotten at ``at``: kept past the retention, or pending past all hope."""
        return at - self.created_at >= (ABANDONED if self.pending else RETENTION)


def check_key(key: str) -> str:
    """A key is 1-200 printable ASCII characters (a UUID is the usual choice)."""
    if not 1 <= len(key) <= MAX_KEY or not all(" " <= c <= "~" for c in key):
        raise InvalidInput.single(
            HEADER, key[:MAX_KEY], f"must be 1-{MAX_KEY} printable ASCII characters"
        )
    return key


def fingerprint(method: str, path: str, query: str, body: bytes, if_match: str = "") -> str:
    """SHA-256 of the request: two requests are the same if method, path, query, If-Match
    and body are byte for byte the same (a retry with a fresher If-Match is another
    request, not a replay of the first one's 412)."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), if_match.encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(body)
    return digest.hexdigest()


def redact(path: str, status_code: int, body: str) -> str:
    """The answer as it may be stored: a secret shown once replaced by ``NOT_KEPT``."""
    field = SECRET_FIELDS.get(path.rstrip("/"))
    if field is None or not 200 <= status_code < 300:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and field in data:
        data[field] = NOT_KEPT
        return json.dumps(data)
    return body

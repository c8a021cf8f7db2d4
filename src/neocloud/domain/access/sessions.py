"""Dashboard sessions: a browser's login, opened with an API key.

The cookie carries a random token; only its SHA-256 is stored, beside the synchronizer CSRF
token every form of the session must echo. A session lasts ``SESSION_LIFETIME`` from its
opening, half-open (at ``expires_at`` it no longer works), and never outlives its key: a
revoked or expired key ends its sessions at once (``services/sessions.py`` checks the key
on every request). Times go by the system clock, as for keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from neocloud.domain.kernel.instants import require_utc

SESSION_LIFETIME = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class WebSession:
    token_sha256: str
    key_id: str  # the API key the session was opened with
    csrf_token: str
    created_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        for name in ("created_at", "expires_at"):
            object.__setattr__(self, name, require_utc(getattr(self, name), name))

    def active(self, at: datetime) -> bool:
        return at < self.expires_at

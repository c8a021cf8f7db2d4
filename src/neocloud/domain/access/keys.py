"""API keys: ``nck_<key id>_<secret>``. The key id is public (it names the key in lists,
logs and the audit trail); only the SHA-256 of the whole key is stored, so the database
cannot give a key away. A key is valid from its creation until it is revoked or expires,
half-open: at ``expires_at`` it no longer works.

Key expiry and revocation go by the system clock (real time), not the business clock: a
demo replaying November 2026 must not revive a key revoked today.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from neocloud.domain.access.policy import Principal, Role
from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.instants import require_utc
from neocloud.domain.kernel.names import name_problem

PREFIX = "nck"
KEY_PATTERN = re.compile(r"nck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
"""A key id of 16 hex digits (64 bits) and a secret of 32 random bytes in URL-safe base64."""
MAX_LABEL = 200


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    role: Role
    tenant: str | None
    label: str
    created_at: datetime
    secret_sha256: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    actor: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", require_utc(self.created_at, "created_at"))
        for name in ("expires_at", "revoked_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, require_utc(value, name))

    def active(self, at: datetime) -> bool:
        """Usable at ``at``: not revoked by then and not expired (half-open)."""
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.expires_at is None or at < self.expires_at

    def status(self, at: datetime) -> str:
        if self.revoked_at is not None and self.revoked_at <= at:
            return "revoked"
        if self.expires_at is not None and at >= self.expires_at:
            return "expired"
        return "active"

    def matches(self, key: str) -> bool:
        """Whether ``key`` is this key (compared in constant time)."""
        return hmac.compare_digest(digest(key), self.secret_sha256)

    @property
    def principal(self) -> Principal:
        return Principal(self.key_id, self.role, self.tenant, self.label)


def digest(key: str) -> str:
    """SHA-256 of the key's text. A fast hash is right here: the secret is 256 random bits,
    nothing a dictionary attack could guess (unlike a password)."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_text(key_id: str, secret: str) -> str:
    return f"{PREFIX}_{key_id}_{secret}"


def key_id_of(key: str) -> str | None:
    """The key id of a well-formed key, else None."""
    match = KEY_PATTERN.fullmatch(key)
    return match.group(1) if match else None


def check_new_key(
    role: str,
    tenant: str | None,
    label: str,
    created_at: datetime,
    expires_at: datetime | None,
    *,
    expires_field: str = "expires",
) -> Role:
    """The role of a key about to be created; every problem with the request, located."""
    problems: list[Problem] = []
    parsed: Role | None = None
    try:
        parsed = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        problems.append(Problem("role", role, f"must be one of {roles}"))
    if parsed is Role.TENANT and tenant is None:
        problems.append(Problem("tenant", None, "a tenant key must name its tenant (--tenant)"))
    if parsed is not None and parsed is not Role.TENANT and tenant is not None:
        problems.append(Problem("tenant", tenant, f"only a tenant key names a tenant, not {role}"))
    if tenant is not None and (problem := name_problem(tenant, "tenant")):
        problems.append(problem)
    if not label.strip() or len(label) > MAX_LABEL or not label.isprintable():
        problems.append(
            Problem("label", label, f"must be 1-{MAX_LABEL} printable characters, not blank")
        )
    if expires_at is not None and expires_at <= created_at:
        problems.append(
            Problem(
                expires_field,
                expires_at.isoformat(),
                f"must be after now ({created_at.isoformat(timespec='seconds')})",
            )
        )
    if problems or parsed is None:
        raise InvalidInput(problems)
    return parsed

"""Webhook subscriptions and deliveries: who gets which event, the URL rule, and the retry
schedule.

A tenant's webhook gets only the events of that tenant; an operator webhook (no tenant)
gets every event. ``kinds`` empty: every kind.

Retries: a delivery that does not get a 2xx is tried again 30 s later, then the wait
doubles (60 s, 120 s, ...) up to 1 h, and stays at 1 h. It is given up (``failed``) after
the attempt made 24 h or more after the first (counted along the schedule, so a worker
that ran late only ever retries longer): the 31st attempt, 86,610 s (24 h 3 min 30 s)
after the first when every attempt was on time. No jitter: the schedule is the same every
run, which tests rely on; receivers are few, so thundering herds are not the risk here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from neocloud.domain.events.model import Event, EventKind
from neocloud.domain.kernel.errors import InvalidInput

FIRST_RETRY_S = 30
MAX_RETRY_S = 3600
RETRY_FOR_S = 24 * 3600
MAX_URL = 2000
MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    secret: str = field(repr=False)  # the HMAC key; shown once, at creation
    operator: str
    tenant: str | None  # None: an operator webhook, every tenant's events
    kinds: frozenset[EventKind]  # empty: every kind
    created_at: datetime
    actor: str
    removed_at: datetime | None = None

    def wants(self, event: Event) -> bool:
        if self.removed_at is not None:
            return False
        if self.tenant is not None and event.tenant != self.tenant:
            return False
        return not self.kinds or event.kind in self.kinds


def check_url(url: str, field: str = "url") -> str:
    """An absolute http or https URL with a host, no credentials and no fragment."""
    problem = _url_problem(url)
    if problem:
        shown = _without_credentials(url)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise InvalidInput.single(field, shown, problem)
    return url


def _without_credentials(url: str) -> str:
    """The URL as an error may show it: user and password (if any) as ``***``."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if sep and "@" in authority:
        return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"
    return url


def _url_problem(url: str) -> str | None:  # noqa: PLR0911 - one answer per rule
    if len(url) > MAX_URL:
        return f"is longer than {MAX_URL} characters"
    if not url.isprintable() or any(c.isspace() for c in url):
        return "must not contain spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (user:password@): the signature authenticates"
    if not parts.hostname:
        return "has no host"
    if parts.fragment:
        return "must not have a #fragment (it is never sent)"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    return None


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the last attempt, or the webhook was removed


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one webhook, and how its attempts went (the last one's outcome)."""

    id: int
    webhook_id: int
    event_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one POST got: the status code, or the error that stopped it (no response)."""

    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay_s(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt (1, 2, ...)."""
    return min(FIRST_RETRY_S * (1 << min(attempts - 1, 20)), MAX_RETRY_S)


def waited_s(attempts: int) -> int:
    """Seconds from the first attempt to the ``attempts``-th along the schedule."""
    return sum(retry_delay_s(n) for n in range(1, attempts))


def after_attempt(delivery: Delivery, result: SendResult, at: datetime) -> Delivery:
    """The delivery once an attempt made at ``at`` got ``result``."""
    attempts = delivery.attempts + 1
    tried = replace(
        delivery,
        attempts=attempts,
        last_attempt_at=at,
        last_status_code=result.status_code,
        last_error=None if result.error is None else result.error[:MAX_ERROR],
    )
    if result.ok:
        return replace(
            tried, status=DeliveryStatus.DELIVERED, delivered_at=at, next_attempt_at=None
        )
    if waited_s(attempts) >= RETRY_FOR_S:
        return replace(tried, status=DeliveryStatus.FAILED, next_attempt_at=None)
    return replace(tried, next_attempt_at=at + timedelta(seconds=retry_delay_s(attempts)))


def parse_status(text: str, field: str = "status") -> DeliveryStatus:
    try:
        return DeliveryStatus(text)
    except ValueError:
        known = ", ".join(s.value for s in DeliveryStatus)
        raise InvalidInput.single(field, text, f"is not a delivery status ({known})") from None

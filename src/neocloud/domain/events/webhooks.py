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
import ipaddress
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
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - a bracketed host is checked only when asked
    except ValueError:  # "http://[not-v6]/", "http://[::1/": urlsplit's own refusal
        return "has a malformed host (an IPv6 address goes in [brackets], whole)"
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


# --- tenants' webhooks: public addresses only (SSRF) ----------------------------------------

LOOPBACK_NAMES = ("localhost", "localhost.")  # RFC 6761: always the loopback, never the DNS
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def check_public_url(url: str, field: str = "url") -> str:
    """``check_url``, and the host must not be an address literal that is not public:
    loopback, private (RFC 1918, unique local), link-local, shared (100.64/10),
    unspecified, multicast, reserved or documentation, nor ``localhost``. For webhooks a
    tenant adds: the worker POSTs from inside the operator's network, so such a URL would
    let a tenant reach what only the operator should (server-side request forgery).

    IPv4 is read as the resolver reads it (``127.1``, ``2130706433``, ``0x7f.0.0.1`` are
    all 127.0.0.1), and an IPv4 address inside IPv6 (mapped, 6to4, Teredo, NAT64) is judged
    as the IPv4 it carries. Host names are not resolved here: a name is the DNS's answer at
    delivery time (see docs/EVENTS.md)."""
    check_url(url, field)
    host = (urlsplit(url).hostname or "").lower()
    address = _address_literal(host)
    if host in LOOPBACK_NAMES or host.endswith(".localhost") or host.endswith(".localhost."):
        reason = "names the loopback (localhost)"
    elif address is not None and not _public(address):
        reason = f"names a non-public address ({address}): a tenant's webhook must be public"
    else:
        return url
    raise InvalidInput.single(field, url if len(url) <= 200 else url[:200] + "...", reason)


def _address_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host literal names, as a resolver would read it; None: a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id is the host's
    except ValueError:
        pass
    return _legacy_ipv4(host.removesuffix("."))


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton's forms: 1 to 4 parts, each decimal, octal (0...) or hex (0x...), the last
    part filling the bytes left (``127.1`` = 127.0.0.1, ``2130706433`` = 127.0.0.1)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:], 16) if part[2:] else 0)
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
        if not part.isascii() or values[-1] < 0:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    return ipaddress.IPv4Address(number * 256 ** (4 - len(head)) + last)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if address.teredo is not None:
            inner = address.teredo[1]  # the client's address
        if address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return _public(inner)
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_loopback
        or address.is_link_local or address.is_private or address.is_unspecified
    )  # fmt: skip

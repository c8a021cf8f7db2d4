"""What routes share: the caller and the one guard, pagination, periods, ETags.

Every data route declares ``Depends(guard(verb, area, ref=...))``. The guard takes the
caller the gate authenticated (401 without one), then calls
``services/authorization.check`` — the one object-level check — with the object the path
names. Routes never compare tenants themselves; listings narrow with ``caller.tenant``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from neocloud.api.gate import AUTH_ERROR, PRINCIPAL
from neocloud.bootstrap import App
from neocloud.domain.access.policy import Area, Principal, Verb
from neocloud.domain.kernel.errors import InvalidInput, PreconditionFailed, Unauthenticated
from neocloud.domain.kernel.instants import Moment, parse_moment, resolve
from neocloud.services import authorization
from neocloud.services.authorization import Kind, Ref
from neocloud.services.context import Context

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer nck_...`")


@dataclass(frozen=True)
class Caller:
    """Who calls, and the application to call the services with."""

    principal: Principal
    app: App

    @property
    def tenant(self) -> str | None:
        """The tenant every listing is narrowed to (None: all)."""
        return authorization.only_tenant(self.principal)

    def visible(self, tenant: str | None) -> bool:
        return authorization.visible(self.principal, tenant)

    def context(self) -> Context:
        """The services' context: the audit log names this caller."""
        return Context(actor=self.principal.actor, clock=self.app.clock, wall=self.app.wall)


def neocloud(request: Request) -> App:
    app: App = request.app.state.neocloud
    return app


def principal(
    request: Request, _: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    found: Principal | None = request.scope.get(PRINCIPAL)
    if found is not None:
        return found
    refused: Unauthenticated | None = request.scope.get(AUTH_ERROR)
    raise refused or Unauthenticated("this route needs an API key: Authorization: Bearer nck_...")


def guard(
    verb: Verb, area: Area, ref: tuple[Kind, str] | None = None, *, tenant_write: bool = False
) -> Callable[..., Caller]:
    """The dependency a route declares: ``ref`` = (kind, path parameter naming it)."""

    def check(request: Request, who: Principal = Depends(principal)) -> Caller:
        app = neocloud(request)
        named = None if ref is None else Ref(ref[0], str(request.path_params[ref[1]]))
        authorization.check(app.uow(), who, verb, area, named, tenant_write=tenant_write)
        return Caller(who, app)

    check.declared = (verb, area, ref, tenant_write)  # type: ignore[attr-defined]
    return check


def declared_guard(route: object) -> tuple[Verb, Area, tuple[Kind, str] | None, bool] | None:
    """What a route's guard declares (verb, area, object, tenant_write); None: no guard."""
    dependant = getattr(route, "dependant", None)
    for dep in getattr(dependant, "dependencies", ()):
        declared = getattr(dep.call, "declared", None)
        if declared is not None:
            return declared  # type: ignore[no-any-return]
    return None


# --- pagination: an opaque cursor naming the last item of the page before -------------------

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


def _cursor(last: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(last).encode()).decode().rstrip("=")


def _after(cursor: str) -> object:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput.single("cursor", cursor, "is not a cursor this API gave") from None


def page(
    request: Request,
    items: Sequence[T],
    sort_key: Callable[[T], Any],
    cursor: str | None,
    limit: int,
) -> dict[str, object]:
    """One page of ``items`` in ``sort_key`` order after ``cursor``, and the link to the next.
    The cursor names the last key seen, so a page never repeats or skips an item when
    others are added meanwhile."""
    ordered = sorted(items, key=sort_key)
    if cursor is not None:
        after = _after(cursor)
        try:
            ordered = [i for i in ordered if _comparable(sort_key(i)) > _comparable(after)]
        except TypeError:
            raise InvalidInput.single("cursor", cursor, "is not a cursor of this list") from None
    chosen = ordered[:limit]
    more = len(ordered) > limit
    next_cursor = _cursor(_comparable(sort_key(chosen[-1]))) if more and chosen else None
    link = None
    if next_cursor is not None:
        query = dict(request.query_params) | {"cursor": next_cursor, "limit": str(limit)}
        link = f"{request.url.path}?{urlencode(query)}"
    return {"items": chosen, "next_cursor": next_cursor, "next": link}


def _comparable(key: Any) -> Any:
    """Keys as JSON gives them back: tuples are lists."""
    return list(key) if isinstance(key, tuple) else key


# --- periods: from / to, half-open ----------------------------------------------------------


def moment(text: str | None, field: str) -> Moment | None:
    return None if text is None else parse_moment(text, field)


def instant(text: str | None, field: str, tz: str = "UTC") -> datetime | None:
    """A date (midnight in ``tz``) or an ISO 8601 instant with an offset."""
    given = moment(text, field)
    return None if given is None else resolve(given, tz, field)


@dataclass(frozen=True)
class Period:
    """``[start, end)``; either side open."""

    start: datetime | None
    end: datetime | None

    def holds(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def period(start: str | None, end: str | None) -> Period:
    first, last = instant(start, "from"), instant(end, "to")
    if first is not None and last is not None and last <= first:
        raise InvalidInput.single("to", end, f"must be after from ({start})")
    return Period(first, last)


# --- ETags ---------------------------------------------------------------------------------


def etag(state: object) -> str:
    """A strong ETag of a resource's whole state (its JSON)."""
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode())
    return f'"{digest.hexdigest()[:32]}"'


def check_if_match(request: Request, current: str) -> None:
    """If-Match, when given, must name the current ETag (or be ``*``): else 412."""
    given = request.headers.get("if-match")
    if given is None:
        return
    tags = [t.strip() for t in given.split(",")]
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(
        f"If-Match {given} is not the current version ({current}); read it again, nothing "
        "was changed"
    )


PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def number(text: str, field: str) -> Decimal:
    """Exact decimal text, 0 or more, at most 6 decimal places (what the store keeps), in
    plain digits: ``1E2`` would be kept, shown and audited as written (``-1E+2``)."""
    from neocloud.domain.kernel.money import MICRO_PLACES, decimal_places, to_decimal

    value = to_decimal(text, field)
    if not PLAIN_DECIMAL.fullmatch(text):
        raise InvalidInput.single(
            field, text, "must be plain decimal digits, e.g. 100.00 (no sign, no exponent)"
        )
    if value < 0:
        raise InvalidInput.single(field, text, "must be 0 or more")
    if decimal_places(value) > MICRO_PLACES:
        raise InvalidInput.single(field, text, f"has more than {MICRO_PLACES} decimal places")
    return value


def whole(text: str | None, field: str) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise InvalidInput.single(field, text, "must be a whole number in digits 0-9 (at most 12)")
    return int(text)


def after_cursor(cursor: str) -> object:
    """What a cursor names (the last key of the page before), for lists paged in the
    database rather than by ``page`` alone."""
    return _after(cursor)

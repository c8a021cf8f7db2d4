"""The one object-level check every API route and dashboard page goes through.

A route (or page) declares what it does: a verb, an area, and the object it concerns, if
any (``Ref``: an agreement, an invoice or a site named in its path). :func:`check` then

1. refuses a role the area is closed to (``Forbidden``), before anything is looked up, so
   a refusal says nothing about what exists;
2. for a tenant key, loads the object's owning tenant and asks ``domain/access/policy``'s
   ``authorize``: another tenant's object is ``NotFound``, in the very words of a missing
   one (``<kind> '<key>' does not exist``; events and webhooks, numbered:
   ``<kind> <id> does not exist``), so a key cannot probe what others have;
3. for a tenant's write, also requires the route to allow tenants to write there
   (``tenant_write``: giving notice on its own agreement), whatever the area allows.

What a tenant may write is narrower than what staff may: a tenant's notice is given by the
tenant (:func:`check_notice_party`) and dated when it is received, never backdated
(:func:`check_notice_date`); a notice received earlier is recorded by staff.

Listings are narrowed by :func:`only_tenant`: a tenant key sees its own objects only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from neocloud.domain.access.policy import Area, Principal, Role, Verb, authorize
from neocloud.domain.kernel.errors import Forbidden, InvalidInput, NotFound, Problem

if TYPE_CHECKING:
    from neocloud.services.ports import UnitOfWork

Kind = Literal["agreement", "invoice", "site", "event", "webhook"]
NUMBERED = ("event", "webhook")  # ids: whole numbers
MAX_ID = 2**31 - 1  # the columns are INTEGER


@dataclass(frozen=True, slots=True)
class Ref:
    """An object a request names: its kind and key."""

    kind: Kind
    key: str


def owner_of(uow: UnitOfWork, ref: Ref) -> str | None:
    """The tenant owning the object (None: the operator's alone). Raises NotFound."""
    with uow:
        if ref.kind == "agreement":
            return uow.agreements.get(ref.key).terms.tenant
        if ref.kind == "invoice":
            return uow.invoices.get(ref.key).tenant
        if ref.kind == "event":
            return uow.events.get(_number(ref)).event.tenant
        if ref.kind == "webhook":
            return uow.webhooks.get(_number(ref)).tenant
        uow.sites.header(ref.key)
        return None


def check(
    uow: UnitOfWork,
    principal: Principal,
    verb: Verb,
    area: Area,
    ref: Ref | None = None,
    *,
    tenant_write: bool = False,
) -> None:
    """Raise unless ``principal`` may ``verb`` in ``area`` (on ``ref``, if given)."""
    if not principal.may(verb, area):
        raise Forbidden(f"a {principal.role} key may not {verb} {area}")
    if principal.role is not Role.TENANT:
        return
    if verb is Verb.WRITE and not tenant_write:
        raise Forbidden(f"a tenant key may not make this change ({area})")
    if ref is not None:
        try:
            authorize(principal, verb, area, owner_of(uow, ref))
        except NotFound:  # the same words whether it is missing or another tenant's
            raise NotFound(missing(ref)) from None


def missing(ref: Ref) -> str:
    """The words of a missing object (the repositories' own)."""
    if ref.kind in NUMBERED:
        return f"{ref.kind} {int(ref.key)} does not exist"
    return f"{ref.kind} {ref.key!r} does not exist"


def _number(ref: Ref) -> int:
    """A numbered object's id from the path (the route's own check may not have run yet)."""
    key = ref.key
    if not (key.isascii() and key.isdigit() and len(key) <= 10 and 1 <= int(key) <= MAX_ID):
        message = f"must be a whole number from 1 to {MAX_ID}"
        raise InvalidInput([Problem(f"{ref.kind}_id", key, message, location="path")])
    return int(key)


def only_tenant(principal: Principal) -> str | None:
    """The tenant a listing must be narrowed to; None: every tenant's objects."""
    return principal.only_tenant


def visible(principal: Principal, tenant: str | None) -> bool:
    """Whether an object owned by ``tenant`` (None: the operator's) may appear in a listing."""
    return principal.role is not Role.TENANT or tenant == principal.tenant


def check_notice_party(principal: Principal, by: str) -> None:
    """A tenant key gives notice as the tenant, never in the operator's name."""
    if principal.role is Role.TENANT and by != "tenant":
        raise Forbidden("a tenant key gives notice by the tenant only (by: tenant)")


def check_notice_date(principal: Principal, at: str | None) -> None:
    """A tenant key's notice is dated by the business clock when it arrives: an ``at`` of
    its own (which would end the deal, credit what was billed and release the capacity
    retroactively) is refused. Staff keys may record a notice received earlier."""
    if principal.role is Role.TENANT and at is not None:
        raise Forbidden(f"at={at!r}: a tenant's notice is dated when it is received; omit at")

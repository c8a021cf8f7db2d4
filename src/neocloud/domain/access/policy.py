"""Roles and the one authorization rule every route and page goes through.

Five roles. ``admin`` does everything; ``operator`` runs the fleet, agreements, allocation
and metering; ``finance`` issues invoices and credit notes; ``auditor`` reads everything,
the audit log included, and changes nothing; ``tenant`` is bound to one tenant and sees
only its own agreements, holdings, usage, invoices, events and webhooks: never the fleet,
another tenant's objects, API keys or the audit log.

Object level (OWASP API1, broken object-level authorization): a tenant asking for another
tenant's object is told it does not exist (``NotFound``), the same answer as for an object
that does not exist, so a key cannot probe which agreements others have. Everything else a
role may not do is ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from neocloud.domain.kernel.errors import Forbidden, InvalidInput, NotFound


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    FINANCE = "finance"
    AUDITOR = "auditor"
    TENANT = "tenant"


class Area(StrEnum):
    """What a route reads or changes."""

    FLEET = "fleet"  # sites, halls, racks, nodes, capacity
    AGREEMENT = "agreement"
    ALLOCATION = "allocation"  # holdings, what-if, scheduler exports
    METERING = "metering"  # usage, availability, maintenance, telemetry
    BILLING = "billing"  # invoices, credit notes
    ECONOMICS = "economics"  # economics, backlog, planning, risk, quotes
    EVENTS = "events"  # lifecycle events and webhooks
    AUDIT = "audit"
    KEYS = "keys"  # API keys


class Verb(StrEnum):
    READ = "read"
    WRITE = "write"


R = frozenset({Verb.READ})
RW = frozenset({Verb.READ, Verb.WRITE})
NONE: frozenset[Verb] = frozenset()

PERMISSIONS: dict[Role, dict[Area, frozenset[Verb]]] = {
    Role.ADMIN: dict.fromkeys(Area, RW),
    Role.OPERATOR: {
        Area.FLEET: RW,
        Area.AGREEMENT: RW,
        Area.ALLOCATION: RW,
        Area.METERING: RW,
        Area.BILLING: R,
        Area.ECONOMICS: R,
        Area.EVENTS: RW,
        Area.AUDIT: NONE,
        Area.KEYS: NONE,
    },
    Role.FINANCE: {
        Area.FLEET: R,
        Area.AGREEMENT: R,
        Area.ALLOCATION: R,
        Area.METERING: R,
        Area.BILLING: RW,
        Area.ECONOMICS: R,
        Area.EVENTS: RW,
        Area.AUDIT: NONE,
        Area.KEYS: NONE,
    },
    Role.AUDITOR: {**dict.fromkeys(Area, R), Area.KEYS: NONE},
    Role.TENANT: {
        Area.FLEET: NONE,
        Area.AGREEMENT: R | {Verb.WRITE},  # its own: the notice it may give
        Area.ALLOCATION: R,
        Area.METERING: R,
        Area.BILLING: R,
        Area.ECONOMICS: NONE,
        Area.EVENTS: RW,
        Area.AUDIT: NONE,
        Area.KEYS: NONE,
    },
}
"""Role -> area -> verbs. A tenant's verbs apply to its own objects only (``authorize``)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key (or a dashboard session opened with one)."""

    key_id: str
    role: Role
    tenant: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if (self.role is Role.TENANT) != (self.tenant is not None):
            raise InvalidInput.single(
                "tenant", self.tenant, "a tenant key names one tenant; other roles name none"
            )

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        who = f"{self.label} " if self.label else ""
        return f"{who}(api key {self.key_id}, {self.role})"

    def may(self, verb: Verb, area: Area) -> bool:
        return verb in PERMISSIONS[self.role][area]

    @property
    def only_tenant(self) -> str | None:
        """The tenant every listing must be narrowed to; None: all tenants."""
        return self.tenant


def authorize(principal: Principal, verb: Verb, area: Area, owner: str | None = None) -> None:
    """Raise unless ``principal`` may ``verb`` in ``area``; ``owner``: the tenant owning the
    object concerned (None for an object of the operator's alone, such as a site).

    A tenant's request for an object not its own is ``NotFound``, as if it did not exist."""
    if not principal.may(verb, area):
        raise Forbidden(f"a {principal.role} key may not {verb} {area}")
    if principal.role is Role.TENANT and owner != principal.tenant:
        raise NotFound(f"no such {area} object")

"""The one place the dashboard decides who may see what.

Every page declares what it reads, ``Depends(page(Area.X))``: the dependency finds the
session behind the cookie (none, ended, or its key revoked: to the login page), then checks
the principal against the policy (``domain/access/policy.py``). A page about one object
then calls ``viewer.owns(tenant)``, the same ``authorize`` with the owning tenant: a tenant
asking for another tenant's agreement or invoice is told it does not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from neocloud.bootstrap import App
from neocloud.domain.access.policy import Area, Principal, Verb, authorize
from neocloud.domain.access.sessions import WebSession
from neocloud.services import sessions
from neocloud.web.security import SESSION_COOKIE


def neocloud_app(request: Request) -> App:
    """The bootstrap App the hosting FastAPI app keeps as ``state.neocloud``."""
    found: App = request.app.state.neocloud
    return found


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, through which session, at a page of ``area``."""

    principal: Principal
    session: WebSession
    area: Area
    verb: Verb = Verb.READ

    def owns(self, owner: str | None) -> None:
        """Raise unless the principal may see this page's object owned by ``owner``."""
        authorize(self.principal, self.verb, self.area, owner)

    def may_read(self, area: Area) -> bool:
        """Whether to show a link to pages of ``area`` at all."""
        return self.principal.may(Verb.READ, area)

    @property
    def tenant(self) -> str | None:
        """The tenant every listing is narrowed to; None: all tenants."""
        return self.principal.only_tenant


def current_session(request: Request) -> tuple[WebSession, Principal]:
    app = neocloud_app(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    return sessions.find_session(app.uow(), token, app.wall.now())


def page(area: Area, verb: Verb = Verb.READ) -> Callable[[Request], Viewer]:
    """The dependency of a page of ``area``: the viewer, once allowed to see such pages
    (a listing is the caller's own, so a tenant passes as the owner of what it lists)."""

    def viewer(request: Request) -> Viewer:
        session, principal = current_session(request)
        authorize(principal, verb, area, principal.only_tenant)
        return Viewer(principal, session, area, verb)

    return viewer

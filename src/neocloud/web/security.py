"""What every dashboard response carries and every form is checked for.

- Security headers on every response (``HEADERS``): a Content-Security-Policy naming no
  source but the app itself (no script at all; styles from /static only), no framing,
  no MIME sniffing, no referrer to other sites, and no caching of pages.
- Cookies: the session cookie is a random token, ``HttpOnly; Secure; SameSite=Strict;
  Path=/``; the database keeps only its SHA-256 (``services/sessions.py``).
- CSRF: every form carries a synchronizer token (the session's, or before login the login
  cookie's) that the POST must echo, and a POST whose Origin (or Referer, or
  Sec-Fetch-Site) says another site sent it is refused whatever its token.
- Errors come out as HTML pages here, not as the API's problem+json: an anonymous visitor
  is sent to the login page, Forbidden is 403, NotFound 404 (the same words whether the
  object does not exist or belongs to another tenant).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from neocloud.domain.kernel.errors import (
    Forbidden,
    InvalidInput,
    NeocloudError,
    NotFound,
    Unauthenticated,
)

_log = logging.getLogger("neocloud.web")

SESSION_COOKIE = "neocloud_session"
LOGIN_COOKIE = "neocloud_login"  # the login form's CSRF token, before there is a session
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CsrfRefused(Forbidden):
    """A POST without the form's token, or sent from another site."""


def set_cookie(response: Response, name: str, value: str, *, max_age_s: int, path: str) -> None:
    response.set_cookie(
        name, value, max_age=max_age_s, path=path, secure=True, httponly=True, samesite="strict"
    )


def check_same_origin(request: Request) -> None:
    """Refuse a POST another site made the browser send (Sec-Fetch-Site, then Origin, then
    Referer: whichever the browser gave; a browser always gives one of them for a form)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise CsrfRefused(f"a form sent from another site ({fetch_site}) is refused")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    if origin is not None and origin != own:
        raise CsrfRefused("a form sent from another origin is refused")
    referer = request.headers.get("referer")
    if origin is None and referer is not None:
        parts = urlsplit(referer)
        if f"{parts.scheme}://{parts.netloc}" != own:
            raise CsrfRefused("a form sent from another origin is refused")


def check_token(expected: str, given: str) -> None:
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfRefused("the form's CSRF token is missing or wrong: reload the page")


ErrorPage = Callable[[Request, int, str], Response]
_error_page: list[ErrorPage] = []


def on_error(render: ErrorPage) -> None:
    """How an error page is drawn (``pages.py`` registers its template)."""
    _error_page[:] = [render]


def error_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Unauthenticated):
        return RedirectResponse("/login", status_code=303)
    if isinstance(exc, NotFound):
        return _page(request, 404, "Not found: there is no such page or object.")
    if isinstance(exc, Forbidden):
        return _page(request, 403, f"Forbidden: {exc.message}")
    if isinstance(exc, InvalidInput):
        return _page(request, 400, f"Bad request: {exc.message}")
    if isinstance(exc, RequestValidationError):
        return _page(request, 400, "Bad request: a field is missing or malformed.")
    if isinstance(exc, NeocloudError):
        return _page(request, 409, exc.message)
    raise exc


def _page(request: Request, status: int, message: str) -> Response:
    if _error_page:
        return _error_page[0](request, status, message)
    return HTMLResponse(message, status_code=status)  # pragma: no cover - before pages load


class DashboardRoute(APIRoute):
    """A dashboard route: its errors as HTML pages and ``HEADERS`` on every response,
    whatever app includes the router (the API's error handlers never see these)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            try:
                response = await handler(request)
            except (NeocloudError, RequestValidationError) as exc:
                _log.info("dashboard %s %s: %s", request.method, request.url.path, exc)
                response = error_response(request, exc)
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return secured

"""The dashboard's pages: one route each, thin, over the same services as the CLI.

URLs (GET unless said): /login (GET form, POST key) and POST /logout; / (to the first page
the viewer may see); /fleet (sites, utilization over time); /agreements and
/agreements/{key} (timeline); /agreements/{key}/usage (usage and SLA); /invoices and
/invoices/{number} (and /print, the printable page); /economics/{site} (the report's
charts); /risk/{site} (walk-away risk); /static/{name}. Who may see what is decided in
``auth.py`` alone.

The fleet's use by month and a site's economics read every node's telemetry (seconds a
month on the reference site): they are kept in the application's ``figures_memo``
(``services/dashboard.FiguresMemo``) until the database or the site's telemetry changes,
and the usage page uses the API's ``usage_memo``. An application without them (a bare
router) computes every view.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from importlib import resources
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader

from neocloud import bootstrap
from neocloud.domain.access.policy import Area, Principal, Verb
from neocloud.domain.access.sessions import SESSION_LIFETIME
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.economics.assumptions import DEFAULTS
from neocloud.domain.economics.risk import Hazards
from neocloud.domain.kernel.errors import InvalidInput, NotFound, Unauthenticated
from neocloud.render import economics as economics_render
from neocloud.render.invoices import invoice_data, invoice_html
from neocloud.services import (
    agreement_views,
    billing,
    dashboard,
    economics,
    fleet,
    planning,
    risk,
    sessions,
)
from neocloud.services.context import Context
from neocloud.web import charts, formats
from neocloud.web.auth import Viewer, current_session, neocloud_app, page
from neocloud.web.security import (
    CSP,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    DashboardRoute,
    check_same_origin,
    check_token,
    on_error,
    set_cookie,
)

T = TypeVar("T")
router = APIRouter(include_in_schema=False, route_class=DashboardRoute)
HERE = resources.files("neocloud.web")
templates = Environment(
    loader=FileSystemLoader(str(HERE / "templates")), autoescape=True, auto_reload=False
)
formats.install(templates)
STATIC = {"dashboard.css": "text/css; charset=utf-8"}
MONTHS_SHOWN = 3  # the months a page shows unless ?from= and ?to= say otherwise
MAX_MONTHS = 24


def render(name: str, status: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**values), status_code=status)


def _error(request: Request, status: int, message: str) -> Response:
    return render("error.html", status, message=message, viewer=None, code=status)


on_error(_error)


def _context(request: Request, principal: Principal) -> Context:
    app = neocloud_app(request)
    return Context(actor=principal.actor, clock=app.clock, wall=app.wall)


# -- login and logout -------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


def _login_page(request: Request, status: int = 200, message: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render("login.html", status, csrf_token=token, message=message, viewer=None)
    set_cookie(response, LOGIN_COOKIE, token, max_age_s=3600, path="/login")
    return response


@router.post("/login")
def login(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_same_origin(request)
    check_token(request.cookies.get(LOGIN_COOKIE, ""), csrf_token)
    app = neocloud_app(request)
    ctx = Context(actor="dashboard login", clock=app.clock, wall=app.wall)
    try:
        token, _, _ = sessions.open_session(app.uow(), ctx, api_key.strip())
    except Unauthenticated:
        return _login_page(request, 401, "That API key is not valid (unknown, revoked or "
                           "expired).")  # fmt: skip
    response = RedirectResponse("/", status_code=303)
    set_cookie(response, SESSION_COOKIE, token,
               max_age_s=int(SESSION_LIFETIME.total_seconds()), path="/")  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/login", secure=True, httponly=True,
                           samesite="strict")  # fmt: skip
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    session, principal = current_session(request)
    check_same_origin(request)
    check_token(session.csrf_token, csrf_token)
    sessions.close_session(neocloud_app(request).uow(), _context(request, principal), session,
                           principal)  # fmt: skip
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True,
                           samesite="strict")  # fmt: skip
    return response


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound(f"no static file {name!r}")
    body = (HERE / "static" / name).read_bytes()
    return Response(body, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)  # none: browsers ask for one on every page


@router.get("/")
def home(request: Request) -> Response:
    _, principal = current_session(request)
    first = "/fleet" if principal.may(Verb.READ, Area.FLEET) else "/agreements"
    return RedirectResponse(first, status_code=303)


# -- pages ------------------------------------------------------------------------------


def _figures(request: Request, site: str, key: tuple[object, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave before for ``key`` if nothing it reads has changed
    since: the version (telemetry first, then the audit log) is read before computing."""
    memo: dashboard.FiguresMemo | None = getattr(request.app.state, "figures_memo", None)
    if memo is None:
        return compute()
    app = neocloud_app(request)
    version = dashboard.data_version(app.uow(), app.telemetry_version(site))
    return memo.get((site, *key), version, compute)


def _months(request: Request, timezone: str, start: str | None, end: str | None) -> tuple[str, str]:
    """The months a page covers: ?from= and ?to= (YYYY-MM), else the last ``MONTHS_SHOWN``
    up to the business clock's month."""
    now = BillingPeriod.containing(neocloud_app(request).clock.now(), timezone)
    last = BillingPeriod.parse(end, timezone, "to") if end else now
    if start:
        first = BillingPeriod.parse(start, timezone, "from")
    else:
        index = last.year * 12 + last.month - 1 - (MONTHS_SHOWN - 1)
        first = BillingPeriod(index // 12, index % 12 + 1, timezone)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if not 1 <= count <= MAX_MONTHS:
        raise InvalidInput.single("to", last.label, f"must be 0 to {MAX_MONTHS - 1} months "
                                  f"after from {first.label}")  # fmt: skip
    return first.label, last.label


@router.get("/fleet")
def fleet_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(page(Area.FLEET))],
    start: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    app = neocloud_app(request)
    summaries = fleet.fleet_summaries(app.uow())
    sites = []
    for summary in summaries:
        first, last = _months(request, summary.site.timezone, start, end)
        rules, name = app.rules(), summary.site.name
        compute = partial(dashboard.site_use_by_month, app.uow(), app.meter(), name,
                          first=first, last=last, rules=rules)  # fmt: skip
        months = _figures(request, name, ("site_use", first, last, rules), compute)
        chart = charts.use_chart(summary.site.name, months, summary.site.timezone)
        sites.append((summary, months, chart))
    return render("fleet.html", viewer=viewer, sites=sites)


@router.get("/agreements")
def agreements_page(
    request: Request, viewer: Annotated[Viewer, Depends(page(Area.AGREEMENT))]
) -> Response:
    found = agreement_views.list_agreements(neocloud_app(request).uow(), tenant=viewer.tenant)
    return render("agreements.html", viewer=viewer, agreements=found)


@router.get("/agreements/{key}")
def agreement_page(
    request: Request, key: str, viewer: Annotated[Viewer, Depends(page(Area.AGREEMENT))]
) -> Response:
    app = neocloud_app(request)
    details = agreement_views.agreement_details(app.uow(), key)
    viewer.owns(details.agreement.terms.tenant)
    now = app.clock.now()
    return render("agreement.html", viewer=viewer, details=details, a=details.agreement,
                  timeline=charts.timeline(details.agreement, now), now=now)  # fmt: skip


@router.get("/agreements/{key}/usage")
def usage_page(
    request: Request, key: str, viewer: Annotated[Viewer, Depends(page(Area.METERING))]
) -> Response:
    app = neocloud_app(request)
    viewer.owns(agreement_views.get_agreement(app.uow(), key).terms.tenant)
    memo: dashboard.UsageMemo | None = getattr(request.app.state, "usage_memo", None)
    usage = dashboard.agreement_usage(app.uow(), key, app.clock.now(), memo)
    sla = usage.agreement.terms.sla
    chart = charts.sla_chart(key, sla.availability_target if sla else None, usage.months)
    return render("usage.html", viewer=viewer, usage=usage, a=usage.agreement, sla=sla,
                  chart=chart)  # fmt: skip


@router.get("/invoices")
def invoices_page(
    request: Request, viewer: Annotated[Viewer, Depends(page(Area.BILLING))]
) -> Response:
    app = neocloud_app(request)
    found = billing.list_invoices(app.uow())
    mine = [i for i in found if viewer.tenant is None or i.tenant == viewer.tenant]
    zones = {a.key: a.terms.billing_timezone
             for a in agreement_views.list_agreements(app.uow(), tenant=viewer.tenant)}  # fmt: skip
    return render("invoices.html", viewer=viewer, invoices=mine, zones=zones)


@router.get("/invoices/{number}")
def invoice_page(
    request: Request, number: str, viewer: Annotated[Viewer, Depends(page(Area.BILLING))]
) -> Response:
    app = neocloud_app(request)
    invoice = billing.get_invoice(app.uow(), number)
    viewer.owns(invoice.tenant)
    agreement = agreement_views.get_agreement(app.uow(), invoice.agreement_key)
    return render("invoice.html", viewer=viewer, invoice=invoice, data=invoice_data(invoice),
                  zone=agreement.terms.billing_timezone)  # fmt: skip


STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@router.get("/invoices/{number}/print")
def invoice_print(
    request: Request, number: str, viewer: Annotated[Viewer, Depends(page(Area.BILLING))]
) -> Response:
    """The printable invoice (``render/invoices.py``), its one style block allowed by hash."""
    invoice = billing.get_invoice(neocloud_app(request).uow(), number)
    viewer.owns(invoice.tenant)
    text = invoice_html(invoice)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in STYLE.findall(text)
    )
    policy = CSP.replace("style-src 'self'", f"style-src {hashes}")
    return HTMLResponse(text, headers={"Content-Security-Policy": policy})


@router.get("/economics/{site}")
def economics_page(
    request: Request,
    site: str,
    viewer: Annotated[Viewer, Depends(page(Area.ECONOMICS))],
    start: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    app = neocloud_app(request)
    with app.uow() as uow:
        timezone = uow.sites.header(site).timezone  # NotFound: no such site
    first, last = _months(request, timezone, start, end)
    rules = app.rules()  # DEFAULTS: the module's constant assumptions

    def compute() -> tuple[economics.SiteEconomics, dict[str, str]]:
        report = economics.site_report(app.uow(), app.meter(), site, first=first, last=last,
                                       assumptions=DEFAULTS, rules=rules)  # fmt: skip
        svgs = bootstrap.economics_chart_svgs(report.months, DEFAULTS.currency, site)
        return report, {
            title: "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
            for title, svg in svgs.items()
        }

    report, images = _figures(request, site, ("economics", first, last, rules), compute)
    rows = [economics_render.month_row(m) for m in report.months]
    return render("economics.html", viewer=viewer, site=site, report=report,
                  periods=[r["period"] for r in rows], groups=_statement(rows, DEFAULTS.currency),
                  images=images, currency=DEFAULTS.currency, first=first,
                  last=last)  # fmt: skip


STATEMENT = (
    ("Revenue", (("billed", "billed"), ("recognized", "recognized (straight-line)"),
                 ("balance", "balance (+ asset, − deferred)"))),
    ("Backlog at the month's end", (("headline_backlog", "headline"),
                                    ("enforceable_backlog", "enforceable (notice clause)"))),
    ("Costs", (("energy_cost", "energy"), ("opex", "opex"), ("depreciation", "depreciation"))),
    ("Margin", (("margin", "margin"),
                ("internal_value", "internal value (shadow price, not in margin)"))),
    ("GPU-hours", (("installed_gpu_hours", "installed"), ("leased_gpu_hours", "leased"),
                   ("internal_gpu_hours", "internal"), ("idle_gpu_hours", "idle"))),
)  # fmt: skip


def _statement(rows: list[dict[str, str]], currency: str) -> list[tuple[str, list[object]]]:
    """The report as a statement: one row per figure, one column per month; each cell
    (period, column, exact text, text for people). Exact text is the report's own."""
    out = []
    for group, columns in STATEMENT:
        shown = formats.gpu_hours if group == "GPU-hours" else (
            lambda v: formats.money(v, currency))  # fmt: skip
        lines: list[object] = [
            (column, label, [(r["period"], r[column], shown(Decimal(r[column]))) for r in rows])
            for column, label in columns
        ]
        out.append((group, lines))
    return out


RISK_PATHS, RISK_SEED = 2_000, 0  # a modest, repeatable run: the same figures on every view
RISK_HISTORY_MONTHS = 48  # as `neocloud risk simulate` without --demand


@router.get("/risk/{site}")
def risk_page(
    request: Request,
    site: str,
    viewer: Annotated[Viewer, Depends(page(Area.ECONOMICS))],
    months: Annotated[int, Query(ge=1, le=36)] = 12,
) -> Response:
    """Walk-away risk of ``site`` with the inputs `neocloud risk simulate --site S` takes
    by default: the documented hazard defaults, own demand forecast from the site's metered
    internal pool, the default assumptions; 2,000 paths, seed 0, from the business month."""
    app = neocloud_app(request)
    with app.uow() as uow:
        timezone = uow.sites.header(site).timezone  # NotFound: no such site
    now = app.clock.now()
    start = date(now.year, now.month, 1)  # as the CLI's --from default
    hazards = Hazards()
    try:
        points = planning.metered_history(
            app.uow(), app.meter(), app.clock, site, months=RISK_HISTORY_MONTHS, rules=app.rules()
        )
        forecasts = risk.forecast_demand(app.uow(), app.forecaster(), site, points,
                                         start=start, months=months)  # fmt: skip
    except InvalidInput as missing:
        return render("risk.html", viewer=viewer, site=site, timezone=timezone, result=None,
                      missing=str(missing), hazards=hazards, months=months)  # fmt: skip
    inputs, result = risk.simulate(
        app.uow(), app.risk_simulator(), site, start=start, months=months, paths=RISK_PATHS,
        seed=RISK_SEED, hazards=hazards, assumptions=DEFAULTS, forecasts=forecasts,
    )  # fmt: skip
    return render("risk.html", viewer=viewer, site=site, timezone=timezone, result=result,
                  inputs=inputs, hazards=hazards, months=months, forecasts=forecasts,
                  chart=charts.risk_chart(site, result), missing=None)  # fmt: skip

"""``/v1/sites``: the fleet (summaries, capacity), who holds each site's nodes, what-if,
the scheduler exports, and the site's economics and backlog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse

from neocloud.api import schemas as s
from neocloud.api.deps import Caller, guard, instant, number, page, whole
from neocloud.api.routers.common import LIST, READ, Cursor, Limit
from neocloud.domain.access.policy import Area, Verb
from neocloud.domain.kernel.errors import InvalidInput, NotFound
from neocloud.services.authorization import Kind

router = APIRouter(prefix="/v1/sites", tags=["fleet"])
ONE: tuple[Kind, str] = ("site", "site")
Site = Path(max_length=63)


@router.get("", response_model=s.SitePage, responses=LIST)
def list_sites(
    request: Request,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.FLEET)),
) -> dict[str, object]:
    """Every site: racks, nodes, GPUs by model, IT and facility MW, headroom, per hall."""
    from neocloud.services import fleet

    rows = [s.site_out(x) for x in fleet.fleet_summaries(caller.app.uow())]
    return page(request, rows, lambda r: r["site"], cursor, limit)


@router.get("/{site}", response_model=s.SiteOut, responses=READ)
def get_site(
    site: str = Site, caller: Caller = Depends(guard(Verb.READ, Area.FLEET, ONE))
) -> dict[str, Any]:
    """One site's summary and capacity (IT = typical draw; facility = IT x PUE)."""
    from neocloud.services import fleet

    return s.site_out(fleet.fleet_summaries(caller.app.uow(), [site])[0])


@router.get("/{site}/holdings", response_model=s.HoldingPage, responses=LIST)
def site_holdings(
    request: Request,
    site: str = Site,
    at: str | None = Query(None, max_length=64, description="An instant; now if omitted"),
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.ALLOCATION)),
) -> dict[str, object]:
    """Who holds the site's nodes at an instant (nodes not listed: the operator's pool). A
    tenant key sees the holdings of its own agreements only, and no site it has none on."""
    from neocloud.services import agreement_views as views
    from neocloud.services import allocation

    when = instant(at, "at") or caller.app.clock.now()
    found = allocation.holdings(caller.app.uow(), site, when) if caller.tenant is None else []
    if caller.tenant is not None:
        own = {a.key for a in views.list_agreements(caller.app.uow(), site=site,
                                                    tenant=caller.tenant)}  # fmt: skip
        if not own:
            raise NotFound(f"site {site!r} does not exist")
        found = [h for h in allocation.holdings(caller.app.uow(), site, when) if h.holder in own]
    rows = [s.holding_out(h) for h in found]
    out = page(request, rows, lambda r: (r["hall"], r["rack"], r["node"]), cursor, limit)
    return {**out, "at": when.isoformat()}


MAX_MONTHS = 240


@router.get("/{site}/whatif", response_model=s.WhatIfOut, responses=READ)
def what_if(
    site: str = Site,
    mw: str | None = Query(None, max_length=20, description="Facility MW (a share of the site)"),
    gpus: str | None = Query(None, max_length=12),
    model: str | None = Query(None, max_length=40),
    start: str = Query(
        alias="from",
        max_length=64,
        description="Start: a date (midnight in the site's time zone) or ISO 8601 with offset",
    ),
    months: str = Query("12", max_length=3, description="1 to 240"),
    caller: Caller = Depends(guard(Verb.READ, Area.ALLOCATION, ONE)),
) -> dict[str, Any]:
    """Could the site sell X MW (or N GPUs of a model) from a date for some months?
    Nothing is written."""
    from neocloud.domain.kernel.instants import add_months, parse_moment, resolve
    from neocloud.services import allocation, fleet

    given = parse_moment(start, "from")
    tz = fleet.fleet_summaries(caller.app.uow(), [site])[0].site.timezone
    begin = resolve(given, tz, "from")
    count = whole(months, "months") or 0
    if not 1 <= count <= MAX_MONTHS:
        raise InvalidInput.single("months", months, f"must be 1 to {MAX_MONTHS}")
    answer = allocation.what_if(
        caller.app.uow(), site, start=begin, end=add_months(begin, count, tz),
        facility_kw=None if mw is None else number(mw, "mw") * 1000,
        gpus=whole(gpus, "gpus"), gpu_model=model,
    )  # fmt: skip
    plan = s.plan_out(answer.plan) if answer.plan else None
    return {"fits": answer.fits, "reason": answer.reason, "plan": plan}


FORMATS = ("slurm", "slurm-conf", "k8s")


@router.get(
    "/{site}/exports/{kind}",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **READ},
)
def export(
    site: str = Site,
    kind: str = Path(max_length=20, description="slurm, slurm-conf or k8s"),
    at: str | None = Query(None, max_length=64, description="An instant; now if omitted"),
    nodes: bool = Query(False, description="slurm-conf: the node definitions too"),
    caller: Caller = Depends(guard(Verb.READ, Area.ALLOCATION, ONE)),
) -> PlainTextResponse:
    """What the schedulers must hold at an instant: Slurm reservations (scontrol lines),
    slurm.conf partitions, or Kubernetes node labels and taints (JSON lines)."""
    from neocloud.domain.allocation.reservations import reconcile, reservations_at
    from neocloud.render import schedulers as r
    from neocloud.services import allocation

    if kind not in FORMATS:
        raise InvalidInput.single("kind", kind, "must be " + ", ".join(FORMATS))
    now = caller.app.clock.now()
    when = instant(at, "at") or now
    uow = caller.app.uow()
    if kind == "k8s":
        view = allocation.scheduler_view(uow, site, when)
        return PlainTextResponse(r.json_lines(r.kubernetes_nodes(view.holdings, view.tenants)))
    view = allocation.scheduler_view(uow, site)
    if kind == "slurm":
        wanted = reservations_at(view.holdings, view.tenants, view.steps, when)
        return PlainTextResponse(r.slurm_script(site, reconcile(wanted, [], when), when, now))
    return PlainTextResponse(
        r.slurm_conf(site, view.holdings, view.tenants, when, view.nodes if nodes else None)
    )


@router.get("/{site}/economics", responses=READ)
def economics(
    site: str = Site,
    start: str = Query(alias="from", max_length=7, description="First month, YYYY-MM"),
    end: str = Query(alias="to", max_length=7, description="Last month, YYYY-MM"),
    telemetry: bool = Query(False, description="GPU-hours by use and energy from telemetry"),
    caller: Caller = Depends(guard(Verb.READ, Area.ECONOMICS, ONE)),
) -> dict[str, Any]:
    """The site's economics per calendar month (docs/ECONOMICS.md): revenue both ways,
    backlog, energy, opex, depreciation, margin, own use, carbon, GPU-hours by use."""
    from neocloud.domain.economics.assumptions import DEFAULTS
    from neocloud.render import economics as render
    from neocloud.services import economics as service

    app = caller.app
    result = service.site_report(app.uow(), app.meter() if telemetry else None, site,
                                 first=start, last=end, assumptions=DEFAULTS,
                                 rules=app.rules())  # fmt: skip
    data: dict[str, Any] = render.report_data(
        result.site, result.agreements, result.months, DEFAULTS.currency, DEFAULTS.sources
    )
    return data


class BacklogOut(s.Out):
    site: str
    timezone: str
    rows: list[dict[str, str]]


@router.get("/{site}/backlog", response_model=BacklogOut, responses=READ)
def backlog(
    site: str = Site,
    at: str | None = Query(None, max_length=64, description="A date or an instant"),
    start: str | None = Query(None, alias="from", max_length=7, description="YYYY-MM"),
    end: str | None = Query(None, alias="to", max_length=7, description="YYYY-MM"),
    caller: Caller = Depends(guard(Verb.READ, Area.ECONOMICS, ONE)),
) -> dict[str, Any]:
    """Backlog both ways (headline, enforceable) at a moment per agreement, or at each
    month's end from ``from`` to ``to``."""
    from neocloud.domain.kernel.instants import parse_moment, resolve
    from neocloud.render import economics as render
    from neocloud.services import economics as service
    from neocloud.services import fleet

    if at is not None and (start or end):
        raise InvalidInput.single("at", at, "give either at or from and to, not both")
    if at is None and not (start and end):
        raise InvalidInput.single("from" if not start else "to", start or end,
                                  "give at, or both from and to")  # fmt: skip
    uow = caller.app.uow()
    if at is not None:
        tz = fleet.fleet_summaries(uow, [site])[0].site.timezone
        facts, rows = service.backlog(uow, site, at=resolve(parse_moment(at, "at"), tz, "at"))
    else:
        facts, rows = service.backlog(uow, site, first=start, last=end)
    out = [render.backlog_row(b, facts.timezone, monthly=at is None) for b in rows]
    return {"site": facts.name, "timezone": facts.timezone, "rows": out}

"""``/v1/agreements/{key}/usage`` and ``/metering``: what an agreement's capacity was used
for, month by month (the dashboard's usage page, ``services/dashboard.agreement_usage``),
and one month metered from telemetry (``neocloud metering show``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from neocloud.api import schemas as s
from neocloud.api.deps import Caller, guard
from neocloud.api.routers.common import READ
from neocloud.domain.access.policy import Area, Verb
from neocloud.domain.kernel.errors import InvalidInput, NotFound
from neocloud.services.authorization import Kind

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])
ONE: tuple[Kind, str] = ("agreement", "key")
MONTH = r"^\d{4}-\d{2}$"


def _month(text: str | None, field: str, tz: str) -> str | None:
    from neocloud.domain.billing.periods import BillingPeriod

    return None if text is None else BillingPeriod.parse(text, tz, field).label


@router.get("/{key}/usage", response_model=s.UsageOut, responses=READ)
def usage(
    key: str,
    request: Request,
    start: str | None = Query(None, alias="from", max_length=7, description="YYYY-MM, inclusive"),
    end: str | None = Query(None, alias="to", max_length=7, description="YYYY-MM, inclusive"),
    period: str | None = Query(None, max_length=7, description="YYYY-MM: one month"),
    caller: Caller = Depends(guard(Verb.READ, Area.METERING, ONE)),
) -> dict[str, Any]:
    """The agreement's billing months from its term's start to this month (at most its
    service end), within ``from``..``to`` (or the one ``period``): GPU-hours its holdings
    held, the availability recorded, the SLA's credit share at it, the SLA credits its
    invoices carried; and the GPUs it holds now."""
    from neocloud.services import dashboard

    if period is not None and (start is not None or end is not None):
        raise InvalidInput.single("period", period, "is one month: give it or from/to, not both")
    memo: dashboard.UsageMemo = request.app.state.usage_memo
    found = dashboard.agreement_usage(caller.app.uow(), key, caller.app.clock.now(), memo)
    tz = found.agreement.terms.billing_timezone
    first = _month(period or start, "period" if period else "from", tz)
    last = _month(period or end, "period" if period else "to", tz)
    if first is not None and last is not None and last < first:
        raise InvalidInput.single("to", end, f"must not be before from ({start})")
    months = [
        m
        for m in found.months
        if (first is None or m.period >= first) and (last is None or m.period <= last)
    ]
    return s.usage_out(found, months)


@router.get("/{key}/metering", response_model=s.MeteringOut, responses=READ)
def metering(
    key: str,
    period: str = Query(max_length=7, description="YYYY-MM, a billing month that has ended"),
    caller: Caller = Depends(guard(Verb.READ, Area.METERING, ONE)),
) -> dict[str, Any]:
    """One month from telemetry, as ``neocloud metering show``: availability per the SLA's
    unit, coverage, held GPU-hours, GPU / IT / facility energy, its cost and carbon, mean
    utilisation. 422: the month has not ended; 404: no telemetry of the month."""
    from neocloud.domain.billing.periods import BillingPeriod
    from neocloud.services import agreement_views, metering

    app = caller.app
    agreement = agreement_views.get_agreement(app.uow(), key)
    month = BillingPeriod.parse(period, agreement.terms.billing_timezone, "period")
    if month.interval.end > app.clock.now():
        raise InvalidInput.single(
            "period", period, f"has not ended yet (ends {month.interval.end.isoformat()})"
        )
    found = metering.meter_agreement(app.uow(), app.meter(), key, month.label, app.rules())
    if found.availability.coverage_ratio == 0 and found.usage.rows_read == 0:
        raise NotFound(f"no telemetry of {key}'s site {found.site} in {month.label}")
    return s.metering_out(found)

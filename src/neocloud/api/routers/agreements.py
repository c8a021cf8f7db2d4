"""``/v1/agreements``: create from the agreement format (JSON), amend, sign, give notice,
value, list, get; availability and holdings per agreement. Changes honour If-Match: the
service checks it on the agreement it has locked for the change (``_expecting``), so two
writers holding the same ETag cannot both win, whatever process each runs in."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from neocloud.api import schemas as s
from neocloud.api.deps import Caller, check_if_match, etag, guard, instant, moment, page, period
from neocloud.api.routers.common import (
    CHANGE,
    LIST,
    READ,
    WRITE,
    Cursor,
    From,
    Limit,
    To,
    document,
    json_body,
    json_body_schema,
    validated,
)
from neocloud.domain.access.policy import Area, Verb
from neocloud.domain.agreements.model import CapacityAgreement
from neocloud.render.agreements import corrections_data
from neocloud.services import authorization
from neocloud.services.authorization import Kind

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])
ONE: tuple[Kind, str] = ("agreement", "key")
Key = str


def tagged(a: CapacityAgreement) -> dict[str, Any]:
    """The agreement's JSON with its ETag (of everything else it says)."""
    data = s.agreement_out(a, "")
    data["etag"] = etag({k: v for k, v in data.items() if k != "etag"})
    return data


def _expecting(request: Request) -> Callable[[CapacityAgreement], None]:
    """The service's precondition: 412 unless If-Match (when given) names the agreement as
    it is stored, read under the change's own lock."""

    def expect(current: CapacityAgreement) -> None:
        check_if_match(request, tagged(current)["etag"])

    return expect


@router.get("", response_model=s.AgreementPage, responses=LIST)
def list_agreements(
    request: Request,
    site: str | None = Query(None, max_length=63),
    tenant: str | None = Query(None, max_length=63),
    start: str | None = From,
    end: str | None = To,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.AGREEMENT)),
) -> dict[str, object]:
    """Agreements (a tenant key: its own), by key; ``from``/``to``: those whose term
    overlaps ``[from, to)``."""
    from neocloud.services import agreement_views as views

    window = period(start, end)
    own = caller.tenant
    if own is not None and tenant not in (None, own):
        found: list[CapacityAgreement] = []
    else:
        found = views.list_agreements(caller.app.uow(), site=site, tenant=own or tenant)
    chosen = [
        a
        for a in found
        if caller.visible(a.terms.tenant)
        and (window.start is None or a.terms.term.end > window.start)
        and (window.end is None or a.terms.term.start < window.end)
    ]
    out = page(request, chosen, lambda a: a.key, cursor, limit)
    out["items"] = [tagged(a) for a in out["items"]]  # type: ignore[attr-defined]
    return out


@router.post(
    "",
    status_code=201,
    response_model=s.AgreementOut,
    responses=WRITE,
    openapi_extra=json_body_schema(s.AGREEMENT_DOCUMENT),
)
def create_agreement(
    response: Response,
    caller: Caller = Depends(guard(Verb.WRITE, Area.AGREEMENT)),
    body: object = Depends(json_body),
) -> dict[str, Any]:
    """A draft from the agreement format (docs/AGREEMENT_FORMAT.md) sent as JSON; every
    problem is named with its field and value."""
    from neocloud.services import agreements as service

    created = service.create_agreement(caller.app.uow(), caller.context(), document(body))
    data = tagged(created)
    response.headers["ETag"] = data["etag"]
    response.headers["Location"] = f"/v1/agreements/{created.key}"
    return data


@router.get("/{key}", response_model=s.AgreementDetailsOut, responses=READ)
def get_agreement(
    key: Key, response: Response, caller: Caller = Depends(guard(Verb.READ, Area.AGREEMENT, ONE))
) -> dict[str, Any]:
    """Terms, status, versions, notice, recorded availability, the capacity release; the
    ETag to send back as If-Match with a change."""
    from neocloud.services import agreement_views as views

    details = views.agreement_details(caller.app.uow(), key)
    data = tagged(details.agreement)
    data["availability"] = [
        {"period": p, "availability_ratio": s.text(r), "recorded_at": at.isoformat()}
        for p, r, at in details.availability
    ]
    release = details.release
    data["capacity_released"] = (
        None if release is None else {"at": release[0].isoformat(), "reason": release[1]}
    )
    response.headers["ETag"] = data["etag"]
    return data


@router.post("/{key}/sign", response_model=s.AgreementOut, responses=CHANGE)
def sign(
    key: Key,
    request: Request,
    response: Response,
    body: s.SignRequest | None = None,
    caller: Caller = Depends(guard(Verb.WRITE, Area.AGREEMENT, ONE)),
) -> dict[str, Any]:
    """draft -> signed (If-Match: the ETag read)."""
    from neocloud.services import agreements as service

    at = moment(body.at if body else None, "at")
    signed = service.sign_agreement(
        caller.app.uow(), caller.context(), key, at, expect=_expecting(request)
    )
    data = tagged(signed)
    response.headers["ETag"] = data["etag"]
    return data


@router.post(
    "/{key}/amend",
    response_model=s.ChangedOut,
    responses=CHANGE,
    openapi_extra=json_body_schema(s.AMEND_REQUEST),
)
def amend(
    key: Key,
    request: Request,
    response: Response,
    caller: Caller = Depends(guard(Verb.WRITE, Area.AGREEMENT, ONE)),
    body: object = Depends(json_body),
) -> dict[str, Any]:
    """A new version of the terms from ``effective_from``; invoiced months it reaches are
    re-billed by credit or debit notes (listed)."""
    from neocloud.services import agreements as service

    wanted = validated(s.AmendRequest, body)
    start = moment(wanted.effective_from, "effective_from")
    assert start is not None
    changed = service.amend_agreement(
        caller.app.uow(), caller.context(), key, document(wanted.terms, "terms"),
        effective_from=start, note=wanted.note, expect=_expecting(request),
    )  # fmt: skip
    data = tagged(changed.agreement)
    response.headers["ETag"] = data["etag"]
    return {"agreement": data, "corrections": corrections_data(changed.corrections)}


@router.post("/{key}/notice", response_model=s.NoticeGivenOut, responses=CHANGE)
def notice(
    key: Key,
    body: s.NoticeRequest,
    request: Request,
    response: Response,
    caller: Caller = Depends(guard(Verb.WRITE, Area.AGREEMENT, ONE, tenant_write=True)),
) -> dict[str, Any]:
    """Notice by either party (a tenant key: by the tenant, on its own agreement, dated
    when it is received: no ``at``); service, billing and capacity end notice_days calendar
    days later. Staff keys may record, with ``at``, a notice received earlier."""
    from neocloud.domain.agreements.model import Party
    from neocloud.services import agreement_views as views
    from neocloud.services import agreements as service

    authorization.check_notice_party(caller.principal, body.by)
    authorization.check_notice_date(caller.principal, body.at)
    at = moment(body.at, "at")
    given = service.give_notice(
        caller.app.uow(), caller.context(), key, by=Party(body.by), at=at,
        expect=_expecting(request),
    )  # fmt: skip
    data = tagged(views.get_agreement(caller.app.uow(), key))
    response.headers["ETag"] = data["etag"]
    n = given.notice
    return {
        "agreement": data,
        "notice": {"given_by": n.given_by.value, "given_at": n.given_at.isoformat(),
                   "effective_at": n.effective_at.isoformat()},
        "corrections": corrections_data(given.corrections),
    }  # fmt: skip


@router.get("/{key}/value", response_model=s.ValueOut, responses=READ)
def value(
    key: Key,
    as_of: str | None = Query(None, max_length=64, description=s.MOMENT),
    caller: Caller = Depends(guard(Verb.READ, Area.AGREEMENT, ONE)),
) -> dict[str, Any]:
    """Headline value, billed to date, remaining, and what the notice clause makes
    enforceable, as of a moment (now if omitted)."""
    from neocloud.services import agreement_views as views

    v = views.value_agreement(caller.app.uow(), caller.context(), key, moment(as_of, "as_of"))
    return s.value_out(key, v)


@router.get("/{key}/availability", response_model=s.AvailabilityPage, responses=LIST)
def availability(
    key: Key,
    request: Request,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.METERING, ONE)),
) -> dict[str, object]:
    """The availability recorded per month (the SLA credit's input), by period."""
    from neocloud.services import agreement_views as views

    found = views.agreement_details(caller.app.uow(), key).availability
    rows = [
        {"period": p, "availability_ratio": s.text(r), "recorded_at": at.isoformat()}
        for p, r, at in found
    ]
    return page(request, rows, lambda r: r["period"], cursor, limit)


@router.post("/{key}/availability", status_code=201, response_model=s.ChangedOut, responses=WRITE)
def record_availability(
    key: Key,
    body: s.AvailabilityRequest,
    caller: Caller = Depends(guard(Verb.WRITE, Area.METERING, ONE)),
) -> dict[str, Any]:
    """Record a month's measured availability; an invoiced month is re-billed."""
    from neocloud.api.deps import number
    from neocloud.services import agreement_views as views
    from neocloud.services import agreements as service

    ratio: Decimal = number(body.availability_ratio, "availability_ratio")
    notes = service.record_availability(caller.app.uow(), caller.context(), key, body.period, ratio)
    data = tagged(views.get_agreement(caller.app.uow(), key))
    return {"agreement": data, "corrections": corrections_data(notes)}


@router.get("/{key}/holdings", response_model=s.HoldingPage, responses=LIST)
def holdings(
    key: Key,
    request: Request,
    at: str | None = Query(None, max_length=64, description="An instant; now if omitted"),
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.ALLOCATION, ONE)),
) -> dict[str, object]:
    """The nodes the agreement holds at an instant (its spares included)."""
    from neocloud.services import agreement_views as views
    from neocloud.services import allocation

    when = instant(at, "at") or caller.app.clock.now()
    site = views.get_agreement(caller.app.uow(), key).terms.site
    found = [h for h in allocation.holdings(caller.app.uow(), site, when) if h.holder == key]
    rows = [s.holding_out(h) for h in found]
    out = page(request, rows, lambda r: (r["hall"], r["rack"], r["node"]), cursor, limit)
    return {**out, "at": when.isoformat()}

"""Agreement use cases that change something: create, sign, amend, give notice, record
availability (reading them: ``agreement_views``).

Every change that alters what invoiced months should have billed (a backdated notice, an
amendment effective in an invoiced month, availability recorded after the close) re-bills
them in the same transaction: credit or debit notes that say why.

A change may carry an ``expect``: the caller's precondition on the agreement as stored (the
API's If-Match), called after the agreement's row is locked and before anything is
written, so no other writer, in this process or another, can change it in between. What
``expect`` raises ends the use case with nothing written.

Audit entries of changes say what was before and after: an amendment the values of every
field of the terms it changed (exact text for decimals), sign and notice the status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.agreements.file import parse_terms, terms_document
from neocloud.domain.agreements.model import CapacityAgreement, Notice, Party, Status
from neocloud.domain.allocation.planner import check_fits_site
from neocloud.domain.billing.drafts import check_storable, headline_total
from neocloud.domain.billing.invoices import IssuedInvoice
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.events import model as events
from neocloud.domain.kernel.documents import SourceDocument, located
from neocloud.domain.kernel.errors import Conflict, InvalidInput
from neocloud.domain.kernel.instants import Moment, resolve
from neocloud.domain.kernel.text import check_text
from neocloud.services.billing import rebill, record_breach
from neocloud.services.context import Context
from neocloud.services.events import record, record_due
from neocloud.services.observability import use_case

if TYPE_CHECKING:  # protocols for type checking only: importing them costs start-up time
    from neocloud.services.ports import UnitOfWork

RATIO_STEP = Decimal("0.000001")
"""Availability is stored to six decimal places (a millionth of a month is 2.7 seconds)."""

Expectation = Callable[[CapacityAgreement], None]
"""A precondition on the stored agreement (see the module docstring); raises if unmet."""


@dataclass(frozen=True)
class Changed:
    """An agreement after a change, with the notes that re-billed its invoiced months."""

    agreement: CapacityAgreement
    corrections: list[IssuedInvoice] = field(default_factory=list)


def _audit(
    uow: UnitOfWork, ctx: Context, action: str, key: str, details: dict[str, object]
) -> None:
    uow.audit.record(ctx.audit(action, "agreement", key, details))


def _numbers(notes: list[IssuedInvoice]) -> list[str]:
    return [n.number for n in notes]


def _locked(uow: UnitOfWork, key: str, expect: Expectation | None) -> CapacityAgreement:
    """The agreement, its row locked until the transaction ends, checked by ``expect``."""
    agreement = uow.agreements.get(key, for_update=True)
    if expect is not None:
        expect(agreement)
    return agreement


def _plain(value: object) -> object:
    """A terms document's value as the audit log's JSON keeps it: decimals as exact text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _differences(
    before: dict[str, object], after: dict[str, object]
) -> tuple[list[str], dict[str, object], dict[str, object]]:
    """(the fields of the terms that differ, their values before, after); a field absent on
    one side (an SLA added) is None there."""
    changed = sorted(k for k in after.keys() | before.keys() if after.get(k) != before.get(k))
    return (
        changed,
        {k: _plain(before.get(k)) for k in changed},
        {k: _plain(after.get(k)) for k in changed},
    )


def _status_changes(
    uow: UnitOfWork, ctx: Context, key: str, before: Status, entered: list[Status]
) -> None:
    """One audit entry per state the agreement entered on its dates, with the one it left."""
    for status in entered:
        details = {"status": status.value, "before": {"status": before.value},
                   "after": {"status": status.value}}  # fmt: skip
        uow.audit.record(ctx.audit("agreement.status", "agreement", key, details))
        before = status


def _check_terms(uow: UnitOfWork, agreement: CapacityAgreement, doc: SourceDocument) -> None:
    """What the file alone cannot say: the capacity fits the site (NotFound if there is no
    such site), and every invoice the terms can produce can be stored."""
    terms = agreement.terms
    summary = uow.sites.summary(terms.site)
    try:
        check_fits_site(terms.capacity, summary)
        check_storable(agreement)
    except InvalidInput as exc:
        raise located(exc, doc) from None


@use_case("agreement.create")
def create_agreement(uow: UnitOfWork, ctx: Context, doc: SourceDocument) -> CapacityAgreement:
    """A draft agreement from a validated document; the site must exist."""
    terms = parse_terms(doc)
    with uow.write():
        if uow.agreements.exists(terms.key):
            raise Conflict(f"agreement {terms.key} already exists; amend it instead")
        agreement = CapacityAgreement.draft(terms, at=ctx.clock.now(), actor=ctx.actor)
        _check_terms(uow, agreement, doc)
        uow.agreements.add(agreement)
        _audit(
            uow,
            ctx,
            "agreement.create",
            terms.key,
            {
                "source": doc.name,
                "monthly_fee": str(terms.monthly_fee.amount),
                "currency": terms.currency,
                "headline_total": str(headline_total(agreement).amount),
            },
        )
        uow.commit()
    return agreement


@use_case("agreement.sign")
def sign_agreement(
    uow: UnitOfWork,
    ctx: Context,
    key: str,
    at: Moment | None = None,
    *,
    expect: Expectation | None = None,
) -> CapacityAgreement:
    with uow.write():
        agreement = _locked(uow, key, expect)
        when = ctx.when(at, agreement.terms.billing_timezone, "at")
        was = agreement.status
        agreement.sign(when)
        uow.agreements.save(agreement)
        details: dict[str, object] = {
            "signed_at": when.isoformat(),
            "before": {"status": was.value},
            "after": {"status": agreement.status.value},
        }
        _audit(uow, ctx, "agreement.sign", key, details)
        record(uow, ctx, events.signed(agreement, when))
        record_due(uow, ctx, agreement)
        uow.commit()
    return agreement


@use_case("agreement.amend")
def amend_agreement(
    uow: UnitOfWork,
    ctx: Context,
    key: str,
    doc: SourceDocument,
    *,
    effective_from: Moment,
    note: str = "",
    expect: Expectation | None = None,
) -> Changed:
    """A new version of the terms from ``effective_from``; invoiced months it reaches are
    re-billed."""
    terms = parse_terms(doc)
    if terms.key != key:
        raise InvalidInput.single(
            "agreement.key", terms.key, f"the file amends another agreement than {key}"
        )
    if note:
        check_text(note, "note", max_length=500)
    with uow.write():
        agreement = _locked(uow, key, expect)
        start = resolve(effective_from, agreement.terms.billing_timezone, "effective_from")
        before = terms_document(agreement.terms)["agreement"]
        version = agreement.amend(
            terms, effective_from=start, at=ctx.clock.now(), actor=ctx.actor, note=note
        )
        _check_terms(uow, agreement, doc)
        after = terms_document(terms)["agreement"]
        assert isinstance(before, dict) and isinstance(after, dict)
        changed, was, now = _differences(before, after)
        uow.agreements.save(agreement)
        notes = rebill(uow, ctx, agreement, f"amendment v{version.number} from {start.isoformat()}")
        _audit(
            uow,
            ctx,
            "agreement.amend",
            key,
            {
                "version": version.number,
                "effective_from": start.isoformat(),
                "changed": changed,
                "before": was,
                "after": now,
                "note": note,
                "corrections": _numbers(notes),
            },
        )
        record_due(uow, ctx, agreement)
        uow.commit()
    return Changed(agreement, notes)


def end_service(uow: UnitOfWork, agreement: CapacityAgreement, at: datetime, reason: str) -> int:
    """Record that the agreement's capacity is released at ``at`` and end its holdings
    (spares included) then; returns the holdings changed. Inside the caller's transaction."""
    uow.sites.lock(agreement.terms.site)  # after the agreement's lock: the one order taken
    uow.agreements.record_release(agreement.key, agreement.terms.site, at, reason)
    return uow.allocations.release_agreement(agreement.key, at)


@dataclass(frozen=True)
class NoticeGiven:
    notice: Notice
    corrections: list[IssuedInvoice]
    billing_timezone: str  # where the contract's wall-clock times are read


@use_case("agreement.notice")
def give_notice(
    uow: UnitOfWork,
    ctx: Context,
    key: str,
    *,
    by: Party,
    at: Moment | None = None,
    expect: Expectation | None = None,
) -> NoticeGiven:
    """Notice by either party, effective ``notice_days`` calendar days later (or at the end
    of that day or month, as the terms say). The capacity's release at that instant is
    recorded for allocation. A backdated notice whose effective instant falls in invoiced
    months re-bills them: what was billed for service after it is credited."""
    with uow.write():
        agreement = _locked(uow, key, expect)
        when = ctx.when(at, agreement.terms.billing_timezone, "at")
        was = agreement.status
        first = agreement.advance_to(when)  # commissioning, active: what happened first
        notice = agreement.give_notice(by=by, at=when)
        then = agreement.advance_to(ctx.clock.now())  # terminated, if it took effect already
        _status_changes(uow, ctx, key, was, first)
        _status_changes(uow, ctx, key, Status.NOTICE_GIVEN, then)
        uow.agreements.save(agreement)
        reason = (
            f"notice by the {by} on {when.isoformat()}, effective {notice.effective_at.isoformat()}"
        )
        end_service(uow, agreement, notice.effective_at, reason)
        notes = rebill(uow, ctx, agreement, reason)
        _audit(
            uow,
            ctx,
            "agreement.notice",
            key,
            {
                "by": by.value,
                "given_at": when.isoformat(),
                "effective_at": notice.effective_at.isoformat(),
                "before": {"status": was.value},
                "after": {"status": agreement.status.value},
                "corrections": _numbers(notes),
            },
        )
        record(uow, ctx, events.notice_given(agreement, notice))
        record_due(uow, ctx, agreement)
        uow.commit()
    return NoticeGiven(notice, notes, agreement.terms.billing_timezone)


@use_case("agreement.availability")
def record_availability(
    uow: UnitOfWork, ctx: Context, key: str, period: str, availability_ratio: Decimal
) -> list[IssuedInvoice]:
    """Availability of the agreement's capacity over a period (0..1), the SLA's input. For
    a month invoiced already, the SLA credit is re-billed by a credit or debit note."""
    if not Decimal(0) <= availability_ratio <= Decimal(1):
        raise InvalidInput.single("availability", str(availability_ratio), "must be 0 to 1")
    if availability_ratio != availability_ratio.quantize(RATIO_STEP):
        raise InvalidInput.single(
            "availability", str(availability_ratio), "has more than 6 decimal places"
        )
    with uow.write():
        agreement = uow.agreements.get(key, for_update=True)
        month = BillingPeriod.parse(period, agreement.terms.billing_timezone)
        label, term = month.label, agreement.terms.term
        if month.start > ctx.clock.now():
            raise InvalidInput.single(
                "period", label, "has not started: availability is measured, not forecast"
            )
        if not month.interval.overlaps(term):
            raise InvalidInput.single(
                "period",
                label,
                f"lies outside the agreement's term ({term.start.isoformat()} to "
                f"{term.end.isoformat()})",
            )
        uow.agreements.record_availability(key, label, availability_ratio, ctx.clock.now())
        record_breach(uow, ctx, agreement, month, ratio=availability_ratio, source="manual")
        notes = rebill(
            uow, ctx, agreement, f"availability {label} recorded as {availability_ratio}"
        )
        _audit(
            uow,
            ctx,
            "agreement.availability",
            key,
            {
                "period": label,
                "availability_ratio": str(availability_ratio),
                "corrections": _numbers(notes),
            },
        )
        uow.commit()
    return notes

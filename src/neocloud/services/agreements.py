"""Agreement use cases: create, sign, amend, give notice, record availability, value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.domain.agreements.file import parse_terms, terms_document
from neocloud.domain.agreements.model import CapacityAgreement, Notice, Party
from neocloud.domain.billing.drafts import headline_total
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.billing.value import DealValue, deal_value
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import Conflict, InvalidInput
from neocloud.domain.kernel.instants import Clock, require_utc
from neocloud.services.ports import UnitOfWork


@dataclass(frozen=True)
class Context:
    """Who acts and what time it is, for every use case that changes something."""

    actor: str
    clock: Clock


def _when(ctx: Context, at: datetime | None, field: str) -> datetime:
    """``at`` (default: now); what happened cannot be recorded as happening later."""
    now = ctx.clock.now()
    when = require_utc(at, field) if at else now
    if when > now:
        raise InvalidInput.single(
            field, when.isoformat(), f"is in the future (now is {now.isoformat()})"
        )
    return when


def _audit(
    uow: UnitOfWork, ctx: Context, action: str, key: str, details: dict[str, object]
) -> None:
    uow.audit.record(AuditEntry(ctx.clock.now(), ctx.actor, action, "agreement", key, details))


def create_agreement(uow: UnitOfWork, ctx: Context, doc: SourceDocument) -> CapacityAgreement:
    """A draft agreement from a validated document; the site must exist."""
    terms = parse_terms(doc)
    with uow:
        if uow.agreements.exists(terms.key):
            raise Conflict(
                f"agreement {terms.key} already exists; change it with `neocloud agreement amend`"
            )
        uow.sites.header(terms.site)  # NotFound if the site is unknown
        agreement = CapacityAgreement.draft(terms, at=ctx.clock.now(), actor=ctx.actor)
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


def sign_agreement(
    uow: UnitOfWork, ctx: Context, key: str, at: datetime | None = None
) -> CapacityAgreement:
    at = _when(ctx, at, "at")
    with uow:
        agreement = uow.agreements.get(key)
        agreement.sign(at)
        uow.agreements.save(agreement)
        _audit(uow, ctx, "agreement.sign", key, {"signed_at": at.isoformat()})
        uow.commit()
    return agreement


def amend_agreement(
    uow: UnitOfWork,
    ctx: Context,
    key: str,
    doc: SourceDocument,
    *,
    effective_from: datetime,
    note: str = "",
) -> CapacityAgreement:
    terms = parse_terms(doc)
    if terms.key != key:
        raise InvalidInput.single(
            "agreement.key", terms.key, f"the file amends another agreement than {key}"
        )
    with uow:
        agreement = uow.agreements.get(key)
        before = terms_document(agreement.terms)["agreement"]
        version = agreement.amend(
            terms, effective_from=effective_from, at=ctx.clock.now(), actor=ctx.actor, note=note
        )
        after = terms_document(terms)["agreement"]
        assert isinstance(before, dict) and isinstance(after, dict)
        changed = sorted(k for k in after.keys() | before.keys() if after.get(k) != before.get(k))
        uow.agreements.save(agreement)
        _audit(
            uow,
            ctx,
            "agreement.amend",
            key,
            {
                "version": version.number,
                "effective_from": effective_from.isoformat(),
                "changed": changed,
                "note": note,
            },
        )
        uow.commit()
    return agreement


def end_service(uow: UnitOfWork, agreement: CapacityAgreement, at: datetime, reason: str) -> int:
    """Record that the agreement's capacity is released at ``at`` and end its holdings
    (spares included) then; returns the holdings changed. Inside the caller's transaction."""
    uow.agreements.record_release(agreement.key, agreement.terms.site, at, reason)
    return uow.allocations.release_agreement(agreement.key, at)


def give_notice(
    uow: UnitOfWork, ctx: Context, key: str, *, by: Party, at: datetime | None = None
) -> Notice:
    """Notice by either party: effective ``notice_days`` x 24 h later; the capacity's
    release at that instant is recorded for allocation."""
    at = _when(ctx, at, "at")
    with uow:
        agreement = uow.agreements.get(key)
        notice = agreement.give_notice(by=by, at=at)
        uow.agreements.save(agreement)
        end_service(uow, agreement, notice.effective_at, f"notice by the {by} on {at.isoformat()}")
        _audit(
            uow,
            ctx,
            "agreement.notice",
            key,
            {
                "by": by.value,
                "given_at": at.isoformat(),
                "effective_at": notice.effective_at.isoformat(),
            },
        )
        uow.commit()
    return notice


def record_availability(
    uow: UnitOfWork, ctx: Context, key: str, period: str, availability_ratio: Decimal
) -> None:
    """Availability of the agreement's capacity over a period (0..1), the SLA's input."""
    if not Decimal(0) <= availability_ratio <= Decimal(1):
        raise InvalidInput.single("availability", str(availability_ratio), "must be 0 to 1")
    with uow:
        agreement = uow.agreements.get(key)
        label = BillingPeriod.parse(period, agreement.terms.billing_timezone).label
        if uow.invoices.exists(key, label):
            raise Conflict(f"{key} {label} is invoiced already; correct it with a credit note")
        uow.agreements.record_availability(key, label, availability_ratio, ctx.clock.now())
        _audit(
            uow,
            ctx,
            "agreement.availability",
            key,
            {"period": label, "availability_ratio": str(availability_ratio)},
        )
        uow.commit()


def get_agreement(uow: UnitOfWork, key: str) -> CapacityAgreement:
    with uow:
        return uow.agreements.get(key)


def list_agreements(uow: UnitOfWork) -> list[CapacityAgreement]:
    with uow:
        return [uow.agreements.get(k) for k in uow.agreements.all_keys()]


def value_agreement(uow: UnitOfWork, key: str, as_of: datetime) -> DealValue:
    with uow:
        agreement = uow.agreements.get(key)
        billed = [i.total for i in uow.invoices.list(key)]
    return deal_value(agreement, require_utc(as_of, "as_of"), billed)

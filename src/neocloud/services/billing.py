"""Billing use cases: close a month, read invoices, credit notes, and re-billing what was
already invoiced when an agreement changes under it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.agreements.model import BILLABLE, CapacityAgreement, Status
from neocloud.domain.billing.drafts import InvoiceLine, draft_invoice
from neocloud.domain.billing.invoices import (
    DocumentKind,
    IssuedInvoice,
    correction,
    credit_note_lines,
    prepayment_drawn,
)
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.events import model as events
from neocloud.domain.kernel.errors import InvalidInput, NeocloudError
from neocloud.domain.kernel.money import Money
from neocloud.domain.kernel.text import check_text
from neocloud.services.context import Context
from neocloud.services.events import record, record_due
from neocloud.services.metering import RULES, metered_availability
from neocloud.services.observability import use_case

if TYPE_CHECKING:  # protocols for type checking only: importing them costs start-up time
    from neocloud.domain.metering.availability import Availability, AvailabilityRules
    from neocloud.services.ports import Meter, UnitOfWork

AUDIT_ACTION = {
    DocumentKind.INVOICE: "invoice.issue",
    DocumentKind.CREDIT_NOTE: "invoice.credit_note",
    DocumentKind.DEBIT_NOTE: "invoice.debit_note",
}


@dataclass
class CloseReport:
    period: str
    issued: list[IssuedInvoice] = field(default_factory=list)  # in the order numbered
    already_issued: list[str] = field(default_factory=list)  # agreement keys
    nothing_to_bill: list[str] = field(default_factory=list)
    failed: dict[str, NeocloudError] = field(default_factory=dict)  # key -> why not invoiced


def _issue(
    uow: UnitOfWork,
    ctx: Context,
    *,
    kind: DocumentKind,
    agreement: CapacityAgreement,
    lines: tuple[InvoiceLine, ...],
    period: str | None = None,
    refers_to: str | None = None,
    final: bool = False,
    why: dict[str, object] | None = None,
) -> IssuedInvoice:
    """Number, store and audit one document, inside the caller's transaction."""
    terms = agreement.terms
    number = uow.invoices.next_number(terms.operator, kind)
    doc = IssuedInvoice(
        number,
        kind,
        terms.operator,
        terms.tenant,
        agreement.key,
        period,
        refers_to,
        terms.currency,
        lines,
        final,
        ctx.clock.now(),
    )
    uow.invoices.add(doc)
    details: dict[str, object] = {"agreement": agreement.key, "total": str(doc.total.amount)}
    details |= {"period": period} if period else {"refers_to": refers_to}
    uow.audit.record(ctx.audit(AUDIT_ACTION[kind], "invoice", number, details | (why or {})))
    record(uow, ctx, events.issued(doc))
    return doc


def record_breach(
    uow: UnitOfWork,
    ctx: Context,
    agreement: CapacityAgreement,
    month: BillingPeriod,
    *,
    ratio: Decimal,
    source: str,
) -> None:
    """An SLA breach event when ``ratio``, recorded for ``month``, is below the SLA's
    target; inside the caller's transaction."""
    breach = events.sla_breached(
        agreement,
        period=month.label,
        period_start=month.start,
        availability_ratio=ratio,
        source=source,
        at=ctx.clock.now(),
    )
    if breach is not None:
        record(uow, ctx, breach)


def _open_periods(agreement: CapacityAgreement, through: str, issued: set[str]) -> list[str]:
    """Months from the term's start through ``through`` not invoiced yet, in order."""
    tz = agreement.terms.billing_timezone
    period = BillingPeriod.containing(agreement.terms.term.start, tz)
    out = []
    while period.label <= through and period.start < agreement.service_end:
        if period.label not in issued:
            out.append(period.label)
        period = period.next()
    return out


class AvailabilitySource(enum.StrEnum):
    """Where a close takes an SLA's availability from: ``auto`` a figure recorded by hand,
    else telemetry (refused when it covers too little); ``metered`` telemetry only (a
    figure recorded by hand still wins: it is an audited override); ``manual`` only what
    was recorded by hand (none: no credit)."""

    AUTO = "auto"
    METERED = "metered"
    MANUAL = "manual"


Metered = dict[tuple[str, str], "Availability | NeocloudError"]


def _meter_months(uow: UnitOfWork, meter: Meter, period: str, rules: AvailabilityRules) -> Metered:
    """Metered availability of every (agreement with an SLA, month through ``period`` not
    invoiced yet) without a figure recorded by hand; a month that cannot be metered keeps
    the reason, for the close to report."""
    with uow:
        wanted = []
        for key in uow.agreements.all_keys():
            agreement = uow.agreements.get(key)
            if agreement.status not in BILLABLE or agreement.terms.sla is None:
                continue
            issued = {i.period for i in uow.invoices.list(key) if i.period}
            for label in _open_periods(agreement, period, issued):
                recorded = uow.agreements.recorded_availability(key, label)
                if recorded is None or recorded[1] != "manual":
                    wanted.append((key, label))
    found: Metered = {}
    for key, label in wanted:
        try:
            found[key, label] = metered_availability(uow, meter, key, label, rules)
        except NeocloudError as exc:
            found[key, label] = exc
    return found


@use_case("billing.close_month")
def close_month(
    uow: UnitOfWork,
    ctx: Context,
    period: str,
    *,
    meter: Meter | None = None,
    source: AvailabilitySource = AvailabilitySource.AUTO,
    rules: AvailabilityRules = RULES,
) -> CloseReport:
    """Invoice every billable agreement through ``period`` (YYYY-MM), in one transaction.

    Months are invoiced in order: an earlier month still open for an agreement is invoiced
    first, so numbers follow time and none is skipped. Each agreement is locked while it is
    billed. A month already invoiced is left as it is, so closing twice changes nothing; a
    close interrupted (nothing is committed) and run again issues exactly the same
    invoices. A month is closed only once it has ended in the agreement's time zone.

    Agreements are isolated: one that cannot be invoiced (its month has not ended in its
    zone, a document it would issue is refused) is reported in ``failed`` with why, its
    part undone (a savepoint: its numbers go to the next invoices, so none is skipped), and
    the others are invoiced.

    SLA availability (``source``): without a ``meter``, only figures recorded by hand.
    """
    BillingPeriod.parse(period, "UTC")  # the field's own check, before anything is read
    report = CloseReport(period)
    due: list[tuple[str, str, CapacityAgreement]] = []
    metered: Metered = {}
    if meter is not None and source is not AvailabilitySource.MANUAL:
        metered = _meter_months(uow, meter, period, rules)
    with uow.write():
        for key in uow.agreements.all_keys():
            try:
                with uow.savepoint():
                    due += _months_due(uow, ctx, key, period, report)
            except NeocloudError as exc:
                report.failed[key] = exc
        for label, key, agreement in sorted(due, key=lambda d: (d[0], d[1])):
            if key in report.failed:
                continue  # its later months wait for the one that failed
            try:
                with uow.savepoint():
                    _take_metered(uow, ctx, agreement, label, metered.get((key, label)))
                    report.issued.append(_invoice(uow, ctx, agreement, label))
            except NeocloudError as exc:
                report.failed[key] = exc
        uow.commit()
    return report


def _take_metered(
    uow: UnitOfWork,
    ctx: Context,
    agreement: CapacityAgreement,
    label: str,
    found: Availability | NeocloudError | None,
) -> None:
    """Record the month's metered availability (unless a figure was recorded by hand since
    it was metered), or refuse the month with why it could not be metered."""
    if found is None:
        return
    key = agreement.key
    recorded = uow.agreements.recorded_availability(key, label)
    if recorded is not None and recorded[1] == "manual":
        return
    if isinstance(found, NeocloudError):
        raise found
    ratio = found.ratio
    assert ratio is not None  # metered_availability refuses a month with nothing required
    uow.agreements.record_availability(key, label, ratio, ctx.clock.now(), "metered")
    month = BillingPeriod.parse(label, agreement.terms.billing_timezone)
    record_breach(uow, ctx, agreement, month, ratio=ratio, source="metered")
    uow.audit.record(
        ctx.audit(
            "agreement.availability",
            "agreement",
            key,
            {
                "period": label,
                "availability_ratio": str(ratio),
                "source": "metered",
                "coverage_ratio": str(found.coverage_ratio),
            },
        )
    )


def _months_due(
    uow: UnitOfWork, ctx: Context, key: str, period: str, report: CloseReport
) -> list[tuple[str, str, CapacityAgreement]]:
    """The agreement's months through ``period`` still to invoice, its dated lifecycle
    steps taken (and audited) on the way."""
    agreement = uow.agreements.get(key, for_update=True)
    if agreement.status not in BILLABLE:
        return []
    end = BillingPeriod.parse(period, agreement.terms.billing_timezone).interval.end
    if end > ctx.clock.now():
        raise InvalidInput.single(
            "period", period, f"has not ended yet for {key} (ends {end.isoformat()})"
        )
    issued = {i.period for i in uow.invoices.list(key) if i.period}
    opened = _open_periods(agreement, period, issued)
    record_status_changes(uow, ctx, key, agreement.advance_to(end))
    uow.agreements.save(agreement)
    record_due(uow, ctx, agreement)
    if period in issued:
        report.already_issued.append(key)
    elif period not in opened:
        report.nothing_to_bill.append(key)
    return [(label, key, agreement) for label in opened]


def record_status_changes(uow: UnitOfWork, ctx: Context, key: str, entered: list[Status]) -> None:
    """One audit entry per state the agreement entered on its dates."""
    for status in entered:
        uow.audit.record(ctx.audit("agreement.status", "agreement", key, {"status": status.value}))


def _invoice(
    uow: UnitOfWork, ctx: Context, agreement: CapacityAgreement, label: str
) -> IssuedInvoice:
    billing_period = BillingPeriod.parse(label, agreement.terms.billing_timezone)
    ratio, source = _availability(uow, agreement.key, label)
    draft = draft_invoice(
        agreement,
        billing_period,
        availability_ratio=ratio,
        availability_source=source,
        prepaid_drawn=prepayment_drawn(uow.invoices.list(agreement.key), before=label),
    )
    assert draft is not None  # an open period lies inside the service window
    return _issue(
        uow,
        ctx,
        kind=DocumentKind.INVOICE,
        agreement=agreement,
        lines=draft.lines,
        period=label,
        final=draft.final,
    )


def _availability(uow: UnitOfWork, key: str, label: str) -> tuple[Decimal | None, str | None]:
    recorded = uow.agreements.recorded_availability(key, label)
    return (None, None) if recorded is None else recorded


def rebill(
    uow: UnitOfWork, ctx: Context, agreement: CapacityAgreement, reason: str
) -> list[IssuedInvoice]:
    """Draft every invoiced month of ``agreement`` again as it now stands and issue a credit
    or debit note for each that now bills differently; inside the caller's transaction."""
    documents = uow.invoices.list(agreement.key)
    invoices = sorted(
        (d for d in documents if d.kind is DocumentKind.INVOICE), key=lambda d: d.period or ""
    )
    issued = []
    for invoice in invoices:
        label = str(invoice.period)
        ratio, source = _availability(uow, agreement.key, label)
        redrafted = draft_invoice(
            agreement,
            BillingPeriod.parse(label, agreement.terms.billing_timezone),
            availability_ratio=ratio,
            availability_source=source,
            prepaid_drawn=prepayment_drawn(documents, before=label),
        )
        change = correction(invoice, documents, redrafted, reason)
        if change is None:
            continue
        kind, lines = change
        note = _issue(
            uow, ctx, kind=kind, agreement=agreement, lines=lines, refers_to=invoice.number,
            why={"reason": reason},
        )  # fmt: skip
        documents.append(note)
        issued.append(note)
    return issued


@dataclass(frozen=True)
class Proposal:
    """The note that metering the month again would issue (nothing is issued)."""

    invoice: str
    kind: DocumentKind
    total: Money


@use_case("billing.propose")
def propose_correction(uow: UnitOfWork, key: str, period: str, ratio: Decimal) -> Proposal | None:
    """What a credit or debit note would change on ``key``'s invoice for ``period`` if the
    month were billed at availability ``ratio`` (metered now); None when not invoiced or
    nothing would change."""
    with uow:
        agreement = uow.agreements.get(key)
        documents = uow.invoices.list(key)
    invoice = next(
        (d for d in documents if d.kind is DocumentKind.INVOICE and d.period == period), None
    )
    if invoice is None:
        return None
    redrafted = draft_invoice(
        agreement,
        BillingPeriod.parse(period, agreement.terms.billing_timezone),
        availability_ratio=ratio,
        availability_source="metered",
        prepaid_drawn=prepayment_drawn(documents, before=period),
    )
    change = correction(invoice, documents, redrafted, "metered again")
    if change is None:
        return None
    kind, lines = change
    return Proposal(
        invoice.number, kind, Money(sum((x.amount for x in lines), Decimal(0)), invoice.currency)
    )


@use_case("invoice.list")
def list_invoices(uow: UnitOfWork, agreement_key: str | None = None) -> list[IssuedInvoice]:
    with uow:
        return uow.invoices.list(agreement_key)


@use_case("invoice.get")
def get_invoice(uow: UnitOfWork, number: str) -> IssuedInvoice:
    with uow:
        return uow.invoices.get(number)


MAX_REASON = 400
"""A credit note's reason; its line reads ``Credit against <number>: <reason>`` (500 at most)."""


@use_case("invoice.credit_note")
def issue_credit_note(
    uow: UnitOfWork, ctx: Context, number: str, amount: Money, reason: str
) -> IssuedInvoice:
    """Correct an issued invoice: invoices never change; a credit note refers to one. The
    invoice is locked, so concurrent credit notes are checked one after the other."""
    if not reason.strip():
        raise InvalidInput.single("reason", reason, "say why the invoice is corrected")
    check_text(reason, "reason", max_length=MAX_REASON)
    with uow.write():
        invoice = uow.invoices.get(number, for_update=True)
        documents = uow.invoices.list(invoice.agreement_key)
        lines = credit_note_lines(invoice, amount, reason, documents)
        agreement = uow.agreements.get(invoice.agreement_key)
        note = _issue(
            uow, ctx, kind=DocumentKind.CREDIT_NOTE, agreement=agreement, lines=lines,
            refers_to=number, why={"amount": str(amount.amount), "reason": reason},
        )  # fmt: skip
        uow.commit()
    return note

"""Billing use cases: close a month, read invoices, issue credit notes."""

from __future__ import annotations

from dataclasses import dataclass, field

from neocloud.domain.agreements.model import BILLABLE
from neocloud.domain.billing.drafts import draft_invoice
from neocloud.domain.billing.invoices import IssuedInvoice, credit_note_lines
from neocloud.domain.billing.periods import PERIOD_PATTERN, BillingPeriod
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money
from neocloud.services.agreements import Context
from neocloud.services.ports import UnitOfWork


@dataclass
class CloseReport:
    period: str
    issued: list[IssuedInvoice] = field(default_factory=list)
    already_issued: list[str] = field(default_factory=list)  # agreement keys
    nothing_to_bill: list[str] = field(default_factory=list)


def close_month(uow: UnitOfWork, ctx: Context, period: str) -> CloseReport:
    """One invoice per billable agreement for ``period`` (YYYY-MM), in one transaction.

    Agreements are taken in key order and numbers drawn in that order, so a close that is
    interrupted (nothing is committed) and run again issues exactly the same invoices; a
    period already invoiced for an agreement is left as it is, so closing twice changes
    nothing. A period is closed only once it has ended in the agreement's time zone.
    """
    if not PERIOD_PATTERN.match(period):
        raise InvalidInput.single("period", period, "must be a month written YYYY-MM")
    report = CloseReport(period)
    now = ctx.clock.now()
    with uow:
        for key in uow.agreements.all_keys():
            agreement = uow.agreements.get(key)
            if agreement.status not in BILLABLE:
                continue
            billing_period = BillingPeriod.parse(period, agreement.terms.billing_timezone)
            if billing_period.interval.end > now:
                raise InvalidInput.single(
                    "period",
                    period,
                    f"has not ended yet for {key} (ends {billing_period.interval.end.isoformat()})",
                )
            if uow.invoices.exists(key, period):
                report.already_issued.append(key)
                continue
            for status in agreement.advance_to(billing_period.interval.end):
                uow.audit.record(
                    AuditEntry(
                        now,
                        ctx.actor,
                        "agreement.status",
                        "agreement",
                        key,
                        {"status": status.value},
                    )
                )
            uow.agreements.save(agreement)
            draft = draft_invoice(
                agreement,
                billing_period,
                availability_ratio=uow.agreements.availability(key, period),
                prepaid_drawn=uow.invoices.prepaid_drawn(key),
            )
            if draft is None:
                report.nothing_to_bill.append(key)
                continue
            number = uow.invoices.next_number(draft.operator, "invoice")
            invoice = IssuedInvoice(
                number,
                "invoice",
                draft.operator,
                draft.tenant,
                key,
                period,
                None,
                draft.currency,
                draft.lines,
                draft.final,
                now,
            )
            uow.invoices.add(invoice)
            uow.audit.record(
                AuditEntry(
                    now,
                    ctx.actor,
                    "invoice.issue",
                    "invoice",
                    number,
                    {"agreement": key, "period": period, "total": str(invoice.total.amount)},
                )
            )
            report.issued.append(invoice)
        uow.commit()
    return report


def list_invoices(uow: UnitOfWork, agreement_key: str | None = None) -> list[IssuedInvoice]:
    with uow:
        return uow.invoices.list(agreement_key)


def get_invoice(uow: UnitOfWork, number: str) -> IssuedInvoice:
    with uow:
        return uow.invoices.get(number)


def issue_credit_note(
    uow: UnitOfWork, ctx: Context, number: str, amount: Money, reason: str
) -> IssuedInvoice:
    """Correct an issued invoice: invoices never change; a credit note refers to one."""
    if not reason.strip():
        raise InvalidInput.single("reason", reason, "say why the invoice is corrected")
    with uow:
        invoice = uow.invoices.get(number)
        lines = credit_note_lines(invoice, amount, reason)
        note_number = uow.invoices.next_number(invoice.operator, "credit_note")
        note = IssuedInvoice(
            note_number,
            "credit_note",
            invoice.operator,
            invoice.tenant,
            invoice.agreement_key,
            None,
            number,
            invoice.currency,
            lines,
            False,
            ctx.clock.now(),
        )
        uow.invoices.add(note)
        uow.audit.record(
            AuditEntry(
                ctx.clock.now(),
                ctx.actor,
                "invoice.credit_note",
                "invoice",
                note_number,
                {"refers_to": number, "amount": str(amount.amount), "reason": reason},
            )
        )
        uow.commit()
    return note

"""Issued documents: invoices, credit notes and debit notes. Immutable, numbered without
gaps per operator and kind. An invoice is never changed: a credit note (less) or a debit
note (more) refers to it.

Two kinds of correction:

* a manual credit note (``credit_note_lines``): an amount the operator decides to give back,
  never more than is still open on the invoice (its total plus every note against it);
* a re-bill (``correction``): when something already invoiced changes (a backdated notice,
  an amendment effective in an invoiced month, availability recorded late), the invoice is
  drafted again and each line kind's difference is issued as one document, a credit note
  when the invoice now bills less, a debit note when it bills more. Manual credits stay as
  they were; a re-bill never takes the invoice below zero because of them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.domain.billing.drafts import InvoiceDraft, InvoiceLine, LineKind
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"


LABELS = {
    LineKind.CAPACITY_FEE: "Capacity fee",
    LineKind.RAMP_DISCOUNT: "Commissioning ramp discount",
    LineKind.ESCALATOR: "Escalator",
    LineKind.PREPAYMENT: "Prepayment",
    LineKind.PREPAYMENT_DRAWDOWN: "Prepayment drawn down",
    LineKind.SLA_CREDIT: "SLA credit",
    LineKind.TERMINATION_FEE: "Termination fee",
    LineKind.CREDIT_NOTE: "Credit",
}
"""How each line kind is named on a correction note."""


@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    """An invoice, credit note or debit note as issued: immutable, numbered without gaps."""

    number: str
    kind: DocumentKind
    operator: str
    tenant: str
    agreement_key: str
    period: str | None  # the invoice's month; None for notes (see refers_to)
    refers_to: str | None  # the invoice a note corrects
    currency: str
    lines: tuple[InvoiceLine, ...]
    final: bool
    issued_at: datetime

    @property
    def total(self) -> Money:
        return Money(sum((x.amount for x in self.lines), Decimal(0)), self.currency)


def open_amount(invoice: IssuedInvoice, notes: Iterable[IssuedInvoice]) -> Decimal:
    """What is still billed on ``invoice``: its total plus the notes against it."""
    return invoice.total.amount + sum(
        (n.total.amount for n in notes if n.refers_to == invoice.number), Decimal(0)
    )


def credit_note_lines(
    invoice: IssuedInvoice, amount: Money, reason: str, notes: Iterable[IssuedInvoice] = ()
) -> tuple[InvoiceLine]:
    """One line crediting ``amount`` (positive, whole minor units) against ``invoice``; the
    credits on an invoice never add up to more than what it bills (``open_amount``)."""
    if invoice.kind is not DocumentKind.INVOICE:
        raise InvalidInput.single(
            "number", invoice.number, f"is a {invoice.kind}; credit notes correct invoices"
        )
    if amount.currency != invoice.currency:
        raise InvalidInput.single(
            "currency", amount.currency, f"invoice {invoice.number} is in {invoice.currency}"
        )
    if amount.amount <= 0 or amount.rounded().amount != amount.amount:
        raise InvalidInput.single(
            "amount", str(amount.amount), "must be positive and in whole minor units (e.g. cents)"
        )
    still_open = open_amount(invoice, notes)
    if amount.amount > still_open:
        credited = invoice.total.amount - still_open
        raise InvalidInput.single(
            "amount",
            str(amount.amount),
            f"exceeds what is still open on invoice {invoice.number}: total {invoice.total}, "
            f"credited already {Money(credited, invoice.currency)}, open "
            f"{Money(still_open, invoice.currency)}",
        )
    return (
        InvoiceLine(
            LineKind.CREDIT_NOTE,
            f"Credit against {invoice.number}: {reason}",
            -amount.amount,
            -amount.amount,
        ),
    )


def _sums(lines: Iterable[InvoiceLine]) -> dict[LineKind, tuple[Decimal, Decimal]]:
    out: dict[LineKind, tuple[Decimal, Decimal]] = {}
    for line in lines:
        precise, amount = out.get(line.kind, (Decimal(0), Decimal(0)))
        out[line.kind] = (precise + line.precise, amount + line.amount)
    return out


def correction(
    invoice: IssuedInvoice,
    notes: Sequence[IssuedInvoice],
    redrafted: InvoiceDraft | None,
    reason: str,
) -> tuple[DocumentKind, tuple[InvoiceLine, ...]] | None:
    """The note that makes ``invoice`` (with ``notes`` against it) bill what ``redrafted``
    bills, line kind by line kind; None when nothing billed changes."""
    mine = [n for n in notes if n.refers_to == invoice.number]
    billed = _sums(
        x for doc in (invoice, *mine) for x in doc.lines if x.kind is not LineKind.CREDIT_NOTE
    )
    now = _sums(redrafted.lines if redrafted else ())
    lines = []
    for kind in LineKind:
        was_precise, was = billed.get(kind, (Decimal(0), Decimal(0)))
        now_precise, amount = now.get(kind, (Decimal(0), Decimal(0)))
        if amount != was:
            billed_text, due_text = Money(was, invoice.currency), Money(amount, invoice.currency)
            label = f"{LABELS[kind]} {invoice.period}"
            lines.append(
                InvoiceLine(
                    kind,
                    f"{label}: {billed_text} billed, {due_text} due ({reason})",
                    now_precise - was_precise,
                    amount - was,
                )
            )
    if not lines:
        return None
    manual = sum((x.amount for n in mine for x in n.lines if x.kind is LineKind.CREDIT_NOTE), 0)
    due = sum((a for _, a in now.values()), Decimal(0))
    floor = min(due, Decimal(0))
    if due + manual < floor:
        offset = floor - (due + manual)
        credited = ", ".join(n.number for n in mine if n.kind is DocumentKind.CREDIT_NOTE)
        lines.append(
            InvoiceLine(LineKind.CREDIT_NOTE, f"Credited already ({credited})", offset, offset)
        )
    total = sum((x.amount for x in lines), Decimal(0))
    return (DocumentKind.DEBIT_NOTE if total > 0 else DocumentKind.CREDIT_NOTE), tuple(lines)


def prepayment_drawn(documents: Sequence[IssuedInvoice], before: str) -> Decimal:
    """Prepayment drawn down (a positive amount) by the invoices of periods before ``before``
    (YYYY-MM) and the notes that correct them."""
    period_of = {d.number: d.period for d in documents if d.kind is DocumentKind.INVOICE}
    drawn = Decimal(0)
    for doc in documents:
        period = (
            doc.period if doc.kind is DocumentKind.INVOICE else period_of.get(doc.refers_to or "")
        )
        if period is not None and period < before:
            drawn -= sum(
                (x.amount for x in doc.lines if x.kind is LineKind.PREPAYMENT_DRAWDOWN),
                Decimal(0),
            )
    return drawn

"""Issued invoices and credit notes: immutable documents, numbered without gaps per
operator; an invoice is corrected only by a credit note that refers to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.domain.billing.drafts import InvoiceLine, LineKind
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money


@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    """An invoice or credit note as issued: immutable, numbered without gaps per operator."""

    number: str
    kind: str  # "invoice" | "credit_note"
    operator: str
    tenant: str
    agreement_key: str
    period: str | None
    refers_to: str | None
    currency: str
    lines: tuple[InvoiceLine, ...]
    final: bool
    issued_at: datetime

    @property
    def total(self) -> Money:
        return Money(sum((x.amount for x in self.lines), Decimal(0)), self.currency)


def credit_note_lines(invoice: IssuedInvoice, amount: Money, reason: str) -> tuple[InvoiceLine]:
    """One line crediting ``amount`` (positive, at most the invoice's total) against it."""
    if amount.currency != invoice.currency:
        raise InvalidInput.single(
            "currency", amount.currency, f"invoice {invoice.number} is in {invoice.currency}"
        )
    if amount.amount <= 0 or amount.rounded().amount != amount.amount:
        raise InvalidInput.single(
            "amount", str(amount.amount), "must be positive and in whole minor units (e.g. cents)"
        )
    if amount.amount > invoice.total.amount:
        raise InvalidInput.single(
            "amount",
            str(amount.amount),
            f"exceeds invoice {invoice.number}'s total {invoice.total}",
        )
    return (
        InvoiceLine(
            LineKind.CREDIT_NOTE,
            f"Credit against {invoice.number}: {reason}",
            -amount.amount,
            -amount.amount,
        ),
    )

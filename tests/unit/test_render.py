"""Documents as data: money keeps its minor units in JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from neocloud.domain.billing.drafts import InvoiceLine, LineKind
from neocloud.domain.billing.invoices import DocumentKind, IssuedInvoice
from neocloud.domain.kernel.money import Money, amount_text
from neocloud.render.invoices import invoice_csv, invoice_data, invoice_html


def invoice(currency: str, *amounts: str) -> IssuedInvoice:
    # amounts as the database gives them back: without trailing zeros
    lines = tuple(
        InvoiceLine(LineKind.CAPACITY_FEE, "fee", Decimal(a), Decimal(a)) for a in amounts
    )
    return IssuedInvoice(
        "INV-x-000001", DocumentKind.INVOICE, "x", "lab", "deal", "2026-05", None, currency,
        lines, False, datetime(2026, 6, 1, tzinfo=UTC),
    )  # fmt: skip


def test_json_money_keeps_the_minor_units() -> None:
    data = invoice_data(invoice("USD", "625000000", "67702110.1"))
    lines = data["lines"]
    assert isinstance(lines, list)
    assert [x["amount"] for x in lines] == ["625000000.00", "67702110.10"]
    assert data["total"] == "692702110.10"
    yen = invoice_data(invoice("JPY", "1500"))
    assert yen["total"] == "1500"
    dinar = invoice_data(invoice("KWD", "1.5"))
    assert dinar["total"] == "1.500"


def test_csv_money_keeps_the_minor_units() -> None:
    rows = list(csv.DictReader(io.StringIO(invoice_csv([invoice("USD", "625000000")]))))
    assert rows[0]["amount"] == "625000000.00"


def test_amount_text_never_rounds() -> None:
    assert amount_text(Decimal("0.123456"), "USD") == "0.123456"
    assert amount_text(Decimal("1.2E+3"), "USD") == "1200.00"
    assert str(Money(Decimal("625000000"), "USD")) == "USD 625,000,000.00"


def test_a_debit_note_says_what_it_is() -> None:
    note = invoice("USD", "10")
    note = IssuedInvoice(
        "DN-x-000001", DocumentKind.DEBIT_NOTE, "x", "lab", "deal", None, "INV-x-000001",
        "USD", note.lines, False, note.issued_at,
    )  # fmt: skip
    page = invoice_html(note)
    assert "<h1>Debit note DN-x-000001</h1>" in page and "refers to invoice INV-x-000001" in page

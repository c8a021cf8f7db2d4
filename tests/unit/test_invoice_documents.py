"""Issued documents (docs/AGREEMENT_FORMAT.md, "Credit notes by hand" and "Re-billing"): what
is still open on an invoice, manual credit notes and their cap, the note a re-bill issues
line kind by line kind, and the prepayment drawn before a month. The documents are built
here by hand; every expected amount is the contract's arithmetic on them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neocloud.domain.billing.drafts import InvoiceDraft, InvoiceLine, LineKind
from neocloud.domain.billing.invoices import (
    DocumentKind,
    IssuedInvoice,
    correction,
    credit_note_lines,
    open_amount,
    prepayment_drawn,
)
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money

ISSUED_AT = datetime(2027, 7, 1, 12, tzinfo=UTC)
INV = "INV-neocloud-000001"
OTHER_INV = "INV-neocloud-000002"
FEE = LineKind.CAPACITY_FEE


def line(kind: LineKind, amount: str, precise: str | None = None) -> InvoiceLine:
    return InvoiceLine(kind, kind.value, Decimal(precise or amount), Decimal(amount))


def invoice(
    *lines: InvoiceLine, number: str = INV, period: str = "2027-06", currency: str = "USD"
) -> IssuedInvoice:
    return IssuedInvoice(
        number, DocumentKind.INVOICE, "neocloud", "lab-a", "deal-1", period, None, currency,
        lines, False, ISSUED_AT,
    )  # fmt: skip


def note(
    number: str, refers_to: str | None, *lines: InvoiceLine, kind: DocumentKind | None = None
) -> IssuedInvoice:
    total = sum((x.amount for x in lines), Decimal(0))
    kind = kind or (DocumentKind.DEBIT_NOTE if total > 0 else DocumentKind.CREDIT_NOTE)
    return IssuedInvoice(
        number, kind, "neocloud", "lab-a", "deal-1", None, refers_to, "USD", lines, False,
        ISSUED_AT,
    )  # fmt: skip


def manual_credit(number: str, amount: str, refers_to: str = INV) -> IssuedInvoice:
    return note(number, refers_to, line(LineKind.CREDIT_NOTE, f"-{amount}"))


def redraft(*lines: InvoiceLine) -> InvoiceDraft:
    period = BillingPeriod(2027, 6, "America/Chicago")
    return InvoiceDraft("deal-1", "neocloud", "lab-a", period, "USD", lines, False)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def only_problem(err: pytest.ExceptionInfo[InvalidInput]) -> tuple[str, object, str]:
    (problem,) = err.value.problems
    return problem.field, problem.value, problem.message


# -- what is open ---------------------------------------------------------------------------


def test_the_total_is_the_sum_of_the_lines() -> None:
    billed = invoice(line(FEE, "1000.00"), line(LineKind.SLA_CREDIT, "-100.00"))
    assert billed.total == usd("900.00")
    assert invoice(currency="EUR").total == Money(Decimal(0), "EUR")


def test_open_is_the_total_plus_the_notes_against_that_invoice() -> None:
    billed = invoice(line(FEE, "1000.00"))
    notes = [
        manual_credit("CN-neocloud-000001", "200.00"),
        note("DN-neocloud-000001", INV, line(LineKind.TERMINATION_FEE, "50.00")),
        manual_credit("CN-neocloud-000002", "300.00", refers_to=OTHER_INV),  # not this one
    ]
    assert open_amount(billed, []) == Decimal("1000.00")
    assert open_amount(billed, notes) == Decimal("1000.00") - 200 + 50


# -- credit notes by hand -------------------------------------------------------------------


@pytest.mark.parametrize("kind", [DocumentKind.CREDIT_NOTE, DocumentKind.DEBIT_NOTE])
def test_only_an_invoice_takes_a_credit_note(kind: DocumentKind) -> None:
    a_note = note("CN-neocloud-000009", INV, line(FEE, "-10.00"), kind=kind)
    with pytest.raises(InvalidInput) as err:
        credit_note_lines(a_note, usd("1.00"), "goodwill")
    assert only_problem(err) == (
        "number",
        "CN-neocloud-000009",
        f"is a {kind.value}; credit notes correct invoices",
    )


def test_a_credit_note_is_in_the_invoices_currency() -> None:
    with pytest.raises(InvalidInput) as err:
        credit_note_lines(invoice(line(FEE, "1000.00")), Money(Decimal("1.00"), "EUR"), "x")
    assert only_problem(err) == ("currency", "EUR", f"invoice {INV} is in USD")


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "0.005", "10.001"])
def test_a_credit_is_positive_in_whole_cents(amount: str) -> None:
    with pytest.raises(InvalidInput) as err:
        credit_note_lines(invoice(line(FEE, "1000.00")), usd(amount), "x")
    assert only_problem(err) == (
        "amount",
        amount,
        "must be positive and in whole minor units (e.g. cents)",
    )


def test_a_credit_note_is_one_negative_line_naming_the_invoice_and_the_reason() -> None:
    (credit,) = credit_note_lines(invoice(line(FEE, "1000.00")), usd("0.01"), "late racks")
    assert credit == InvoiceLine(
        LineKind.CREDIT_NOTE,
        f"Credit against {INV}: late racks",
        Decimal("-0.01"),
        Decimal("-0.01"),
    )


def test_credits_never_add_up_to_more_than_what_is_still_open() -> None:
    billed = invoice(line(FEE, "1000.00"))
    notes = [
        manual_credit("CN-neocloud-000001", "400.00"),
        manual_credit("CN-neocloud-000002", "999.00", refers_to=OTHER_INV),  # not this one
    ]
    # 1,000.00 billed - 400.00 credited = 600.00 open: exactly that may still be credited
    (credit,) = credit_note_lines(billed, usd("600.00"), "all of it", notes)
    assert credit.amount == Decimal("-600.00")
    with pytest.raises(InvalidInput) as err:
        credit_note_lines(billed, usd("600.01"), "a cent more", notes)
    assert only_problem(err) == (
        "amount",
        "600.01",
        f"exceeds what is still open on invoice {INV}: total USD 1,000.00, "
        "credited already USD 400.00, open USD 600.00",
    )


def test_a_debit_note_opens_more_to_credit() -> None:
    billed = invoice(line(FEE, "1000.00"))
    debit = note("DN-neocloud-000001", INV, line(LineKind.TERMINATION_FEE, "250.00"))
    (credit,) = credit_note_lines(billed, usd("1250.00"), "everything", [debit])
    assert credit.amount == Decimal("-1250.00")
    with pytest.raises(InvalidInput):
        credit_note_lines(billed, usd("1250.01"), "too much", [debit])


# -- re-billing -----------------------------------------------------------------------------

REASON = "notice backdated"


def test_nothing_to_correct_when_the_month_bills_the_same() -> None:
    billed = invoice(line(FEE, "1000000.00"), line(LineKind.ESCALATOR, "30000.00"))
    same = redraft(line(FEE, "1000000.00"), line(LineKind.ESCALATOR, "30000.00"))
    assert correction(billed, [], same, REASON) is None
    # a precise amount that differs while the billed cents do not changes nothing billed
    nearly = redraft(line(FEE, "1000000.00", "1000000.004"), line(LineKind.ESCALATOR, "30000.00"))
    assert correction(billed, [], nearly, REASON) is None


def test_a_month_that_bills_less_gets_a_credit_note_by_line_kind() -> None:
    billed = invoice(line(FEE, "1000000.00", "1000000"), line(LineKind.ESCALATOR, "30000.00"))
    now = redraft(line(FEE, "500000.00", "500000.004"), line(LineKind.ESCALATOR, "15000.00"))
    assert correction(billed, [], now, REASON) == (
        DocumentKind.CREDIT_NOTE,
        (
            InvoiceLine(
                FEE,
                "Capacity fee 2027-06: USD 1,000,000.00 billed, USD 500,000.00 due "
                "(notice backdated)",
                Decimal("-499999.996"),
                Decimal("-500000.00"),
            ),
            InvoiceLine(
                LineKind.ESCALATOR,
                "Escalator 2027-06: USD 30,000.00 billed, USD 15,000.00 due (notice backdated)",
                Decimal("-15000.00"),
                Decimal("-15000.00"),
            ),
        ),
    )


def test_a_month_that_bills_more_gets_a_debit_note() -> None:
    billed = invoice(line(FEE, "500000.00"))
    now = redraft(line(FEE, "500000.00"), line(LineKind.TERMINATION_FEE, "250000.00"))
    assert correction(billed, [], now, "tenant's notice") == (
        DocumentKind.DEBIT_NOTE,
        (
            InvoiceLine(
                LineKind.TERMINATION_FEE,
                "Termination fee 2027-06: USD 0.00 billed, USD 250,000.00 due (tenant's notice)",
                Decimal("250000.00"),
                Decimal("250000.00"),
            ),
        ),
    )


def test_a_change_between_line_kinds_that_bills_the_same_is_not_a_debit_note() -> None:
    billed = invoice(line(FEE, "1000.00"))
    now = redraft(line(FEE, "1100.00"), line(LineKind.SLA_CREDIT, "-100.00"))
    kind, lines = correction(billed, [], now, "availability recorded") or (None, ())
    assert kind is DocumentKind.CREDIT_NOTE
    assert [(x.kind, x.amount) for x in lines] == [
        (FEE, Decimal("100.00")),
        (LineKind.SLA_CREDIT, Decimal("-100.00")),
    ]


def test_earlier_notes_against_the_invoice_count_as_billed() -> None:
    billed = invoice(line(FEE, "1000.00"))
    first = note("CN-neocloud-000001", INV, line(FEE, "-400.00"))  # a first re-bill
    elsewhere = note("CN-neocloud-000002", OTHER_INV, line(FEE, "-900.00"))
    # 1,000.00 - 400.00 = 600.00 billed so far; the month now bills 500.00
    result = correction(billed, [first, elsewhere], redraft(line(FEE, "500.00")), REASON)
    assert result is not None
    (fee,) = result[1]
    assert (fee.description, fee.amount) == (
        "Capacity fee 2027-06: USD 600.00 billed, USD 500.00 due (notice backdated)",
        Decimal("-100.00"),
    )
    assert correction(billed, [first], redraft(line(FEE, "600.00")), REASON) is None


def test_a_month_no_longer_billed_is_credited_in_full() -> None:
    billed = invoice(line(FEE, "1000.00", "999.996"), line(LineKind.PREPAYMENT_DRAWDOWN, "-200.00"))
    result = correction(billed, [], None, REASON)
    assert result is not None
    kind, lines = result
    assert kind is DocumentKind.CREDIT_NOTE
    assert [(x.kind, x.precise, x.amount) for x in lines] == [
        (FEE, Decimal("-999.996"), Decimal("-1000.00")),
        (LineKind.PREPAYMENT_DRAWDOWN, Decimal("200.00"), Decimal("200.00")),
    ]
    assert lines[1].description == (
        "Prepayment drawn down 2027-06: USD -200.00 billed, USD 0.00 due (notice backdated)"
    )


def test_manual_credits_stay_while_the_month_still_covers_them() -> None:
    billed = invoice(line(FEE, "1000.00"))
    credit = manual_credit("CN-neocloud-000001", "100.00")
    # now due 500.00; 500.00 - 100.00 credited by hand stays above zero: no offset
    result = correction(billed, [credit], redraft(line(FEE, "500.00")), REASON)
    assert result is not None
    assert [(x.kind, x.amount) for x in result[1]] == [(FEE, Decimal("-500.00"))]
    # due exactly what was credited by hand: the invoice ends at zero, still no offset
    result = correction(billed, [credit], redraft(line(FEE, "100.00")), REASON)
    assert result is not None
    assert [(x.kind, x.amount) for x in result[1]] == [(FEE, Decimal("-900.00"))]


def test_a_rebill_never_takes_an_invoice_below_zero_because_of_manual_credits() -> None:
    billed = invoice(line(FEE, "1000.00"))
    notes = [
        manual_credit("CN-neocloud-000001", "60.00"),
        note("DN-neocloud-000001", INV, line(LineKind.TERMINATION_FEE, "20.00")),
        manual_credit("CN-neocloud-000002", "40.00"),
        manual_credit("CN-neocloud-000003", "500.00", refers_to=OTHER_INV),  # not this one
    ]
    # now due 50.00 + the 20.00 fee; 100.00 credited by hand: 30.00 would go below zero
    now = redraft(line(FEE, "50.00"), line(LineKind.TERMINATION_FEE, "20.00"))
    result = correction(billed, notes, now, REASON)
    assert result is not None
    kind, lines = result
    assert kind is DocumentKind.CREDIT_NOTE
    assert lines == (
        InvoiceLine(
            FEE,
            "Capacity fee 2027-06: USD 1,000.00 billed, USD 50.00 due (notice backdated)",
            Decimal("-950.00"),
            Decimal("-950.00"),
        ),
        InvoiceLine(
            LineKind.CREDIT_NOTE,
            "Credited already (CN-neocloud-000001, CN-neocloud-000002)",
            Decimal("30.00"),
            Decimal("30.00"),
        ),
    )
    # 1,000.00 - 60.00 + 20.00 - 40.00 - 950.00 + 30.00 = 0
    assert open_amount(billed, [*notes, note("CN-neocloud-000004", INV, *lines)]) == 0


def test_a_month_that_now_bills_a_credit_returns_every_manual_credit() -> None:
    # a final month returning the prepayment left: now due 100.00 - 300.00 = -200.00; the
    # 50.00 credited by hand is given back on top, so the month ends at -200.00, not -250.00
    billed = invoice(line(FEE, "100.00"), line(LineKind.PREPAYMENT_DRAWDOWN, "-100.00"))
    credit = manual_credit("CN-neocloud-000001", "50.00")
    now = redraft(line(FEE, "100.00"), line(LineKind.PREPAYMENT_DRAWDOWN, "-300.00"))
    result = correction(billed, [credit], now, REASON)
    assert result is not None
    assert [(x.kind, x.amount) for x in result[1]] == [
        (LineKind.PREPAYMENT_DRAWDOWN, Decimal("-200.00")),
        (LineKind.CREDIT_NOTE, Decimal("50.00")),
    ]
    assert result[0] is DocumentKind.CREDIT_NOTE


def test_a_rebill_that_bills_more_after_a_manual_credit_is_a_debit_note() -> None:
    billed = invoice(line(FEE, "100.00"))
    credit = manual_credit("CN-neocloud-000001", "100.00")
    # credited to zero by hand, then a fee falls due: the fee is billed, the credit stays
    now = redraft(line(FEE, "100.00"), line(LineKind.TERMINATION_FEE, "0.01"))
    result = correction(billed, [credit], now, REASON)
    assert result is not None
    assert result[0] is DocumentKind.DEBIT_NOTE
    assert [(x.kind, x.amount) for x in result[1]] == [(LineKind.TERMINATION_FEE, Decimal("0.01"))]


# -- prepayment drawn -----------------------------------------------------------------------


def drawdown(amount: str) -> InvoiceLine:
    return line(LineKind.PREPAYMENT_DRAWDOWN, amount)


def test_prepayment_drawn_counts_the_months_before_and_their_notes() -> None:
    january = invoice(
        line(LineKind.PREPAYMENT, "1000.00"),
        line(FEE, "500.00"),
        drawdown("-100.00"),
        number="INV-neocloud-000001",
        period="2027-01",
    )
    february = invoice(
        line(FEE, "500.00"), drawdown("-150.00"), number="INV-neocloud-000002", period="2027-02"
    )
    march = invoice(drawdown("-200.00"), number="INV-neocloud-000003", period="2027-03")
    documents = [
        january,
        february,
        march,
        note("CN-neocloud-000001", january.number, line(FEE, "-50.00"), drawdown("30.00")),
        note("DN-neocloud-000001", march.number, drawdown("-40.00")),
        note("CN-neocloud-000002", "INV-neocloud-000099", drawdown("-7.00")),  # unknown
        note("CN-neocloud-000003", None, drawdown("-9.00")),  # refers to nothing
    ]
    assert prepayment_drawn(documents, before="2027-01") == 0
    assert prepayment_drawn(documents, before="2027-02") == Decimal("100.00") - 30
    assert prepayment_drawn(documents, before="2027-03") == Decimal("100.00") - 30 + 150
    assert prepayment_drawn(documents, before="2027-04") == Decimal("100.00") - 30 + 150 + 240
    assert prepayment_drawn([], before="2027-04") == 0

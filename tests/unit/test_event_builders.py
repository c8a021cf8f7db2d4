"""The events commands cause, built on a hand-made agreement (tests/factories.py: deal-1,
neocloud and lab-a, 10 MW on test-1 for 2027 in Chicago, USD 1,000,000.00 a month): each
builder's kind, dedupe key, tenant, operator, agreement, occurred_at and payload; the JSON
document; the kind parser's words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neocloud.domain.agreements.model import CapacityAgreement, Notice, Party
from neocloud.domain.billing.drafts import InvoiceLine, LineKind
from neocloud.domain.billing.invoices import DocumentKind, IssuedInvoice
from neocloud.domain.events import model
from neocloud.domain.events.model import Event, EventKind, RecordedEvent
from neocloud.domain.kernel.errors import InvalidInput
from tests import factories

AT = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
JUNE = datetime(2027, 6, 1, 5, tzinfo=UTC)  # 2027-06-01 00:00 CDT
SLA = {
    "availability_target": Decimal("0.99"),
    "credit_tiers": [
        {"below": Decimal("0.99"), "credit_share": Decimal("0.10")},
        {"below": Decimal("0.95"), "credit_share": Decimal("0.30")},
    ],
}


def deal(**changes: object) -> CapacityAgreement:
    return factories.signed_agreement(**changes)


def test_the_kinds_are_the_documented_names() -> None:
    assert [k.value for k in EventKind] == [
        "agreement.signed",
        "agreement.ramp_milestone",
        "agreement.notice_given",
        "agreement.notice_effective_soon",
        "agreement.term_ending",
        "agreement.term_ended",
        "agreement.sla_breached",
        "invoice.issued",
        "credit_note.issued",
        "debit_note.issued",
    ]


def test_a_kind_is_parsed_or_refused_word_for_word() -> None:
    assert model.parse_kind("invoice.issued") is EventKind.INVOICE_ISSUED
    assert model.parse_kind("agreement.signed", "kinds[0]") is EventKind.AGREEMENT_SIGNED
    with pytest.raises(InvalidInput) as refused:
        model.parse_kind("invoice", "kinds[1]")
    (problem,) = refused.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "kinds[1]",
        "invoice",
        "is not an event kind (known: agreement.signed, agreement.ramp_milestone, "
        "agreement.notice_given, agreement.notice_effective_soon, agreement.term_ending, "
        "agreement.term_ended, agreement.sla_breached, invoice.issued, credit_note.issued, "
        "debit_note.issued)",
    )
    with pytest.raises(InvalidInput) as default:
        model.parse_kind("")
    assert default.value.problems[0].field == "kind"


def test_iso_writes_utc_with_a_z() -> None:
    assert model.iso(AT) == "2026-12-02T15:30:00Z"
    assert model.iso(datetime(2027, 1, 1, 6, 0, 0, 5, tzinfo=UTC)) == "2027-01-01T06:00:00.000005Z"


def test_signed() -> None:
    """The term 2027-01-01 to 2028-01-01 in Chicago (CST, UTC-6): 06:00Z both ends."""
    assert model.signed(deal(), AT) == Event(
        EventKind.AGREEMENT_SIGNED,
        "agreement.signed:deal-1:signed",
        "neocloud",
        "lab-a",
        "deal-1",
        AT,
        {
            "signed_at": "2026-12-02T15:30:00Z",
            "site": "test-1",
            "capacity": "10.000 MW FACILITY",
            "term_start": "2027-01-01T06:00:00Z",
            "term_end": "2028-01-01T06:00:00Z",
            "monthly_fee": "1000000.00",
            "currency": "USD",
        },
    )


def test_signed_names_the_agreements_own_parties() -> None:
    other = deal(key="deal-2", operator="op-b", tenant="lab-z")
    event = model.signed(other, AT)
    assert (event.dedupe_key, event.operator, event.tenant, event.agreement_key) == (
        "agreement.signed:deal-2:signed",
        "op-b",
        "lab-z",
        "deal-2",
    )


def test_notice_given() -> None:
    given = datetime(2027, 3, 1, 18, tzinfo=UTC)
    effective = datetime(2027, 5, 30, 5, tzinfo=UTC)
    event = model.notice_given(deal(), Notice(Party.TENANT, given, effective))
    assert event == Event(
        EventKind.NOTICE_GIVEN,
        "agreement.notice_given:deal-1:2027-03-01T18:00:00Z",
        "neocloud",
        "lab-a",
        "deal-1",
        given,
        {
            "given_by": "tenant",
            "given_at": "2027-03-01T18:00:00Z",
            "effective_at": "2027-05-30T05:00:00Z",
        },
    )
    by_operator = model.notice_given(deal(), Notice(Party.OPERATOR, given, effective))
    assert by_operator.payload["given_by"] == "operator"


def document(kind: DocumentKind, number: str, **changes: object) -> IssuedInvoice:
    fields: dict[str, object] = {
        "number": number,
        "kind": kind,
        "operator": "neocloud",
        "tenant": "lab-a",
        "agreement_key": "deal-1",
        "period": "2027-06",
        "refers_to": None,
        "currency": "USD",
        "lines": (
            InvoiceLine(
                LineKind.CAPACITY_FEE, "fee", Decimal("1000000.004"), Decimal("1000000.00")
            ),
            InvoiceLine(LineKind.CAPACITY_FEE, "less", Decimal("-100000.5"), Decimal("-100000.50")),
        ),
        "final": True,
        "issued_at": datetime(2027, 7, 1, 5, tzinfo=UTC),
    }
    fields.update(changes)
    return IssuedInvoice(**fields)  # type: ignore[arg-type]


def test_an_invoice_issued() -> None:
    """The total is the sum of the rounded amounts: 1,000,000.00 - 100,000.50."""
    invoice = document(DocumentKind.INVOICE, "NC-2027-0007")
    assert model.issued(invoice) == Event(
        EventKind.INVOICE_ISSUED,
        "invoice.issued:NC-2027-0007",
        "neocloud",
        "lab-a",
        "deal-1",
        datetime(2027, 7, 1, 5, tzinfo=UTC),
        {
            "number": "NC-2027-0007",
            "period": "2027-06",
            "refers_to": None,
            "total": "899999.50",
            "currency": "USD",
            "final": True,
        },
    )


@pytest.mark.parametrize(
    ("kind", "event_kind", "prefix"),
    [
        (DocumentKind.CREDIT_NOTE, EventKind.CREDIT_NOTE_ISSUED, "credit_note.issued"),
        (DocumentKind.DEBIT_NOTE, EventKind.DEBIT_NOTE_ISSUED, "debit_note.issued"),
    ],
)
def test_a_note_issued(kind: DocumentKind, event_kind: EventKind, prefix: str) -> None:
    note = document(
        kind, "NC-2027-0009", operator="op-b", tenant="lab-z", agreement_key="deal-2",
        period=None, refers_to="NC-2027-0007", final=False,
        lines=(InvoiceLine(LineKind.CAPACITY_FEE, "c", Decimal("-12.345"), Decimal("-12.35")),),
    )  # fmt: skip
    event = model.issued(note)
    assert (event.kind, event.dedupe_key) == (event_kind, f"{prefix}:NC-2027-0009")
    assert (event.operator, event.tenant, event.agreement_key) == ("op-b", "lab-z", "deal-2")
    assert event.payload == {
        "number": "NC-2027-0009",
        "period": None,
        "refers_to": "NC-2027-0007",
        "total": "-12.35",
        "currency": "USD",
        "final": False,
    }


def breach(agreement: CapacityAgreement, ratio: str) -> Event | None:
    return model.sla_breached(
        agreement, period="2027-06", period_start=JUNE, availability_ratio=Decimal(ratio),
        source="dcgm", at=AT,
    )  # fmt: skip


def test_an_sla_breach() -> None:
    assert breach(deal(sla=SLA), "0.98") == Event(
        EventKind.SLA_BREACHED,
        "agreement.sla_breached:deal-1:2027-06:0.98",
        "neocloud",
        "lab-a",
        "deal-1",
        AT,
        {
            "period": "2027-06",
            "availability_ratio": "0.98",
            "availability_target": "0.99",
            "credit_share": "0.10",
            "source": "dcgm",
        },
    )
    deeper = breach(deal(sla=SLA), "0.9400")
    assert (
        deeper is not None and deeper.dedupe_key == "agreement.sla_breached:deal-1:2027-06:0.9400"
    )
    assert deeper.payload["credit_share"] == "0.30"


def test_no_breach_at_or_above_the_target_nor_without_an_sla() -> None:
    assert breach(deal(sla=SLA), "0.99") is None
    assert breach(deal(sla=SLA), "0.995") is None
    assert breach(deal(sla=SLA), "0.989999") is not None
    assert breach(deal(), "0.5") is None  # deal-1 has no SLA


def test_the_document_and_body_of_a_recorded_event() -> None:
    event = model.signed(deal(), AT)
    recorded = RecordedEvent(12, datetime(2026, 12, 2, 15, 30, 1, tzinfo=UTC), event)
    doc = model.document(recorded)
    assert doc == {
        "id": 12,
        "kind": "agreement.signed",
        "occurred_at": "2026-12-02T15:30:00Z",
        "recorded_at": "2026-12-02T15:30:01Z",
        "operator": "neocloud",
        "tenant": "lab-a",
        "agreement": "deal-1",
        "data": dict(event.payload),
    }
    assert type(doc["data"]) is dict
    assert model.body(recorded) == (
        b'{"agreement":"deal-1","data":{"capacity":"10.000 MW FACILITY","currency":"USD",'
        b'"monthly_fee":"1000000.00","signed_at":"2026-12-02T15:30:00Z","site":"test-1",'
        b'"term_end":"2028-01-01T06:00:00Z","term_start":"2027-01-01T06:00:00Z"},"id":12,'
        b'"kind":"agreement.signed","occurred_at":"2026-12-02T15:30:00Z","operator":"neocloud",'
        b'"recorded_at":"2026-12-02T15:30:01Z","tenant":"lab-a"}'
    )

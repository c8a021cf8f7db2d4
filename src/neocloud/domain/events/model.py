"""Events: the kinds, the fact as written to the outbox, and the events that commands cause.

An event is a fact with a business time (``occurred_at``, the business clock) and a
``dedupe_key`` that names the fact: the outbox keeps one event per key, so a scan that runs
twice, or a command retried, never reports a fact twice. Payloads are JSON-ready (money
and ratios as exact decimal text, instants as ISO 8601 UTC).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.domain.agreements.model import CapacityAgreement, Notice
from neocloud.domain.billing.invoices import DocumentKind, IssuedInvoice
from neocloud.domain.kernel.errors import InvalidInput


class EventKind(enum.StrEnum):
    AGREEMENT_SIGNED = "agreement.signed"
    RAMP_MILESTONE = "agreement.ramp_milestone"  # a tranche of the ramp is due
    NOTICE_GIVEN = "agreement.notice_given"
    NOTICE_EFFECTIVE_SOON = "agreement.notice_effective_soon"  # in 90, 30, 7 days
    TERM_ENDING = "agreement.term_ending"  # in 90, 30, 7 days
    TERM_ENDED = "agreement.term_ended"
    SLA_BREACHED = "agreement.sla_breached"
    INVOICE_ISSUED = "invoice.issued"
    CREDIT_NOTE_ISSUED = "credit_note.issued"
    DEBIT_NOTE_ISSUED = "debit_note.issued"


def parse_kind(text: str, field: str = "kind") -> EventKind:
    try:
        return EventKind(text)
    except ValueError:
        known = ", ".join(k.value for k in EventKind)
        raise InvalidInput.single(field, text, f"is not an event kind (known: {known})") from None


@dataclass(frozen=True, slots=True)
class Event:
    """A fact as the outbox keeps it; ``tenant`` None: an operator-only fact."""

    kind: EventKind
    dedupe_key: str
    operator: str
    tenant: str | None
    agreement_key: str | None
    occurred_at: datetime
    payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event in the outbox: its id (increasing: ``--since``) and when it was written
    (system clock)."""

    id: int
    recorded_at: datetime
    event: Event


def document(recorded: RecordedEvent) -> dict[str, object]:
    """The event as a JSON document: what a webhook receives and ``events list --json``."""
    e = recorded.event
    return {
        "id": recorded.id,
        "kind": e.kind.value,
        "occurred_at": iso(e.occurred_at),
        "recorded_at": iso(recorded.recorded_at),
        "operator": e.operator,
        "tenant": e.tenant,
        "agreement": e.agreement_key,
        "data": dict(e.payload),
    }


def body(recorded: RecordedEvent) -> bytes:
    """The exact bytes POSTed to a webhook (and signed): compact, keys sorted."""
    return json.dumps(document(recorded), sort_keys=True, separators=(",", ":")).encode()


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def agreement_event(agreement: CapacityAgreement, kind: EventKind, fact: str, at: datetime,
           payload: Mapping[str, object]) -> Event:  # fmt: skip
    terms = agreement.terms
    return Event(
        kind, f"{kind}:{agreement.key}:{fact}", terms.operator, terms.tenant, agreement.key, at,
        payload,
    )  # fmt: skip


def signed(agreement: CapacityAgreement, at: datetime) -> Event:
    terms = agreement.terms
    return agreement_event(
        agreement,
        EventKind.AGREEMENT_SIGNED,
        "signed",
        at,
        {
            "signed_at": iso(at),
            "site": terms.site,
            "capacity": str(terms.capacity),
            "term_start": iso(terms.term.start),
            "term_end": iso(terms.term.end),
            "monthly_fee": str(terms.monthly_fee.amount),
            "currency": terms.currency,
        },
    )


def notice_given(agreement: CapacityAgreement, notice: Notice) -> Event:
    return agreement_event(
        agreement,
        EventKind.NOTICE_GIVEN,
        iso(notice.given_at),
        notice.given_at,
        {
            "given_by": notice.given_by.value,
            "given_at": iso(notice.given_at),
            "effective_at": iso(notice.effective_at),
        },
    )


DOCUMENT_KINDS = {
    DocumentKind.INVOICE: EventKind.INVOICE_ISSUED,
    DocumentKind.CREDIT_NOTE: EventKind.CREDIT_NOTE_ISSUED,
    DocumentKind.DEBIT_NOTE: EventKind.DEBIT_NOTE_ISSUED,
}


def issued(doc: IssuedInvoice) -> Event:
    """An invoice, credit note or debit note was issued (one event per number)."""
    kind = DOCUMENT_KINDS[doc.kind]
    return Event(
        kind,
        f"{kind}:{doc.number}",
        doc.operator,
        doc.tenant,
        doc.agreement_key,
        doc.issued_at,
        {
            "number": doc.number,
            "period": doc.period,
            "refers_to": doc.refers_to,
            "total": str(doc.total.amount),
            "currency": doc.currency,
            "final": doc.final,
        },
    )


def sla_breached(
    agreement: CapacityAgreement,
    *,
    period: str,
    period_start: datetime,
    availability_ratio: Decimal,
    source: str,
    at: datetime,
) -> Event | None:
    """The availability recorded for ``period`` fell below the SLA in force at its start
    (strictly below the target); None when it did not, or there is no SLA."""
    sla = agreement.terms_at(period_start).sla
    if sla is None or availability_ratio >= sla.availability_target:
        return None
    return agreement_event(
        agreement,
        EventKind.SLA_BREACHED,
        f"{period}:{availability_ratio}",
        at,
        {
            "period": period,
            "availability_ratio": str(availability_ratio),
            "availability_target": str(sla.availability_target),
            "credit_share": str(sla.credit_share(availability_ratio)),
            "source": source,
        },
    )

"""An agreement and the re-billing notes a change issued, as JSON-ready data: what
``neocloud agreement show --json`` prints and what the API answers (it adds the ETag)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.domain.billing.invoices import IssuedInvoice


def agreement_data(a: CapacityAgreement) -> dict[str, Any]:
    t = a.terms
    return {
        "key": a.key, "status": a.status.value, "operator": t.operator, "tenant": t.tenant,
        "site": t.site, "capacity": str(t.capacity), "currency": t.currency,
        "monthly_fee": t.monthly_fee.text, "billing_timezone": t.billing_timezone,
        "term": {"start": t.term.start.isoformat(), "end": t.term.end.isoformat()},
        "service_end": a.service_end.isoformat(),
        "notice": None if a.notice is None else {
            "given_by": a.notice.given_by.value, "given_at": a.notice.given_at.isoformat(),
            "effective_at": a.notice.effective_at.isoformat()},
        "versions": [{"number": v.number, "effective_from": v.effective_from.isoformat(),
                      "monthly_fee": v.terms.monthly_fee.text, "actor": v.actor,
                      "recorded_at": v.recorded_at.isoformat(), "note": v.note}
                     for v in a.versions],
        "history": [{"status": s.value, "at": at.isoformat()} for s, at in a.history],
    }  # fmt: skip


def corrections_data(notes: list[IssuedInvoice]) -> list[dict[str, Any]]:
    """The credit and debit notes a change issued to correct invoiced months."""
    return [
        {"number": n.number, "kind": n.kind.value, "refers_to": n.refers_to, "total": n.total.text}
        for n in notes
    ]

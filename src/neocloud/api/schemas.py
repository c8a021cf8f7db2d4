"""Request and response bodies (pydantic, at the edge only) and the functions that turn
domain objects into them. Exact numbers (money, MW, ratios) travel as decimal text, never
as JSON floats; instants as ISO 8601 with an offset (UTC)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neocloud.domain.kernel.money import plain
from neocloud.render.agreements import agreement_data

if TYPE_CHECKING:
    from neocloud.domain.access.keys import ApiKey
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.domain.allocation.planner import AllocationPlan, Holding
    from neocloud.domain.billing.invoices import IssuedInvoice
    from neocloud.domain.billing.value import DealValue
    from neocloud.domain.events.webhooks import Delivery, Webhook
    from neocloud.domain.fleet.capacity import SiteSummary
    from neocloud.domain.kernel.audit import AuditEntry
    from neocloud.domain.metering.metered import Metering
    from neocloud.services.dashboard import AgreementUsage, UsageMonth


class Strict(BaseModel):
    """A request body: unknown fields and wrong types are refused (422), never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


def text(value: Decimal | int) -> str:
    """An exact number as plain decimal text (no exponent)."""
    return str(plain(Decimal(value)))


# --- requests -----------------------------------------------------------------------------

MOMENT = "A date (local midnight in the agreement's billing time zone) or ISO 8601 with offset"


class SignRequest(Strict):
    at: str | None = Field(
        None, max_length=64, description=f"When signed: {MOMENT}; now if omitted"
    )


class NoticeRequest(Strict):
    by: Literal["operator", "tenant"]
    at: str | None = Field(None, max_length=64, description=f"When given: {MOMENT}; now if omitted")


class AvailabilityRequest(Strict):
    period: str = Field(max_length=7, description="YYYY-MM")
    availability_ratio: str = Field(max_length=20, description="0 to 1, e.g. 0.985")


class CreditNoteRequest(Strict):
    amount: str = Field(max_length=40, description="Decimal text in the invoice's currency")
    reason: str = Field(max_length=400)


class AllocateRequest(Strict):
    spare_share: str = Field("0", max_length=20, description="Spare racks per racks held")
    unit: Literal["rack", "hall"] = "rack"


class ApiKeyRequest(Strict):
    role: Literal["admin", "operator", "finance", "auditor", "tenant"]
    tenant: str | None = Field(None, max_length=63)
    label: str | None = Field(None, max_length=200)
    expires_at: str | None = Field(None, max_length=64, description="A date (UTC) or instant")


AGREEMENT_DOCUMENT: dict[str, Any] = {
    "type": "object",
    "description": "The agreement format of docs/AGREEMENT_FORMAT.md, as JSON (numbers are "
    "read exactly; dates are text)",
    "required": ["version", "agreement"],
    "properties": {"version": {"type": "integer"}, "agreement": {"type": "object"}},
    "additionalProperties": False,
}
AMEND_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["terms", "effective_from"],
    "properties": {
        "terms": AGREEMENT_DOCUMENT,
        "effective_from": {"type": "string", "description": MOMENT},
        "note": {"type": "string", "maxLength": 500},
    },
    "additionalProperties": False,
}


class AmendRequest(Strict):
    terms: dict[str, Any]
    effective_from: str = Field(max_length=64)
    note: str = Field("", max_length=500)


# --- responses ----------------------------------------------------------------------------


class Span(Out):
    start: str
    end: str


class NoticeOut(Out):
    given_by: str
    given_at: str
    effective_at: str


class VersionOut(Out):
    number: int
    effective_from: str
    monthly_fee: str
    actor: str
    recorded_at: str
    note: str


class StatusAt(Out):
    status: str
    at: str


class RecordedAvailability(Out):
    period: str
    availability_ratio: str
    recorded_at: str


class Release(Out):
    at: str
    reason: str


class AgreementOut(Out):
    key: str
    status: str
    operator: str
    tenant: str
    site: str
    capacity: str
    currency: str
    monthly_fee: str
    billing_timezone: str
    term: Span
    service_end: str
    notice: NoticeOut | None
    versions: list[VersionOut]
    history: list[StatusAt]
    etag: str


class AgreementDetailsOut(AgreementOut):
    availability: list[RecordedAvailability]
    capacity_released: Release | None


class Correction(Out):
    number: str
    kind: str
    refers_to: str | None
    total: str


class ChangedOut(Out):
    agreement: AgreementOut
    corrections: list[Correction]


class NoticeGivenOut(Out):
    agreement: AgreementOut
    notice: NoticeOut
    corrections: list[Correction]


def agreement_out(a: CapacityAgreement, etag: str) -> dict[str, Any]:
    return {**agreement_data(a), "etag": etag}


class ValueOut(Out):
    agreement: str
    as_of: str
    currency: str
    headline_total: str
    contracted_total: str
    earned_to_date: str
    billed_to_date: str
    remaining: str
    enforceable_remaining: str
    enforceable_until: str


def value_out(key: str, v: DealValue) -> dict[str, Any]:
    return {
        "agreement": key, "as_of": v.as_of.isoformat(), "currency": v.currency,
        "headline_total": v.headline_total.text, "contracted_total": v.contracted_total.text,
        "earned_to_date": v.earned_to_date.text, "billed_to_date": v.billed_to_date.text,
        "remaining": v.remaining.text, "enforceable_remaining": v.enforceable_remaining.text,
        "enforceable_until": v.enforceable_until.isoformat(),
    }  # fmt: skip


class HallOut(Out):
    hall: str
    racks: int
    nodes: int
    gpus: int
    gpus_by_model: dict[str, int]
    it_mw: str
    facility_mw: str


class SiteOut(Out):
    site: str
    display_name: str
    location: str
    timezone: str
    pue: str
    facility_capacity_mw: str
    it_mw: str
    facility_mw: str
    facility_headroom_mw: str
    racks: int
    nodes: int
    gpus: int
    gpus_by_model: dict[str, int]
    electricity_price_per_mwh: str
    electricity_currency: str
    grid_carbon_kg_per_mwh: str
    halls: list[HallOut]


def site_out(s: SiteSummary) -> dict[str, Any]:
    site = s.site
    return {
        "site": site.name,
        "display_name": site.display_name,
        "location": str(site.location),
        "timezone": site.timezone,
        "pue": text(site.pue),
        "facility_capacity_mw": text(site.facility_capacity.mw),
        "it_mw": text(s.it_power.mw),
        "facility_mw": text(s.facility_power.mw),
        "facility_headroom_mw": text(s.facility_headroom.mw),
        "racks": s.racks,
        "nodes": s.nodes,
        "gpus": s.gpus,
        "gpus_by_model": s.gpus_by_model(),
        "electricity_price_per_mwh": text(site.electricity_price_per_mwh.amount),
        "electricity_currency": site.electricity_price_per_mwh.currency,
        "grid_carbon_kg_per_mwh": text(site.grid_carbon_kg_per_mwh),
        "halls": [
            {
                "hall": h.hall,
                "racks": h.racks,
                "nodes": h.nodes,
                "gpus": h.gpus,
                "gpus_by_model": {m.gpu_model: m.gpus for m in h.models},
                "it_mw": text(h.typical_it_kw / 1000),
                "facility_mw": text(h.it_power.to_facility(site.pue).mw),
            }
            for h in s.halls
        ],
    }


class HoldingOut(Out):
    hall: str
    rack: str
    node: str
    gpu_model: str
    holder_kind: str
    holder: str
    start: str
    end: str | None
    reason: str


def holding_out(h: Holding) -> dict[str, Any]:
    return {
        "hall": h.hall, "rack": h.rack, "node": h.node, "gpu_model": h.gpu_model,
        "holder_kind": h.kind.value, "holder": h.holder, "start": h.start.isoformat(),
        "end": h.end.isoformat() if h.end else None, "reason": h.reason,
    }  # fmt: skip


class StepOut(Out):
    start: str
    target: str
    held: str
    racks_added: list[str]


class PlanOut(Out):
    holder: str
    end: str
    halls: dict[str, int]
    racks: int
    spares: list[str]
    steps: list[StepOut]
    unit: str


def plan_out(plan: AllocationPlan) -> dict[str, Any]:
    return {
        "holder": plan.holder, "end": plan.end.isoformat(), "halls": dict(plan.halls),
        "racks": len(plan.racks), "spares": list(plan.spares),
        "steps": [{"start": s.start.isoformat(), "target": text(s.target), "held": text(s.held),
                   "racks_added": list(s.added)} for s in plan.steps],
        "unit": "GPUs" if plan.demand.gpus is not None else "facility kW (share of the site)",
    }  # fmt: skip


class WhatIfOut(Out):
    fits: bool
    reason: str
    plan: PlanOut | None


class LineOut(Out):
    kind: str
    description: str
    precise: str
    amount: str


class InvoiceOut(Out):
    number: str
    kind: str
    period: str | None
    agreement: str
    operator: str
    tenant: str
    currency: str
    issued_at: str
    final: bool
    refers_to: str | None
    lines: list[LineOut]
    total: str


def invoice_out(invoice: IssuedInvoice) -> dict[str, Any]:
    from neocloud.render.invoices import invoice_data

    data = invoice_data(invoice)
    data["kind"] = invoice.kind.value
    return data


class AuditOut(Out):
    recorded_at: str
    business_at: str
    actor: str
    action: str
    entity_type: str
    entity_key: str
    details: dict[str, Any]


def audit_out(e: AuditEntry) -> dict[str, Any]:
    return {
        "recorded_at": e.recorded_at.isoformat(), "business_at": e.business_at.isoformat(),
        "actor": e.actor, "action": e.action, "entity_type": e.entity_type,
        "entity_key": e.entity_key, "details": dict(e.details),
    }  # fmt: skip


class ApiKeyOut(Out):
    key_id: str
    role: str
    tenant: str | None
    label: str
    status: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, stored only as a hash")


def api_key_out(key: ApiKey, now: Any) -> dict[str, Any]:
    def iso(at: Any) -> str | None:
        return None if at is None else at.isoformat()

    return {
        "key_id": key.key_id, "role": key.role.value, "tenant": key.tenant, "label": key.label,
        "status": key.status(now), "created_at": key.created_at.isoformat(),
        "expires_at": iso(key.expires_at), "revoked_at": iso(key.revoked_at),
    }  # fmt: skip


class PageOut(Out):
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page")
    next: str | None = Field(description="The next page's path and query; null: the last page")


class AgreementPage(PageOut):
    items: list[AgreementOut]


class SitePage(PageOut):
    items: list[SiteOut]


class HoldingPage(PageOut):
    at: str
    items: list[HoldingOut]


class InvoicePage(PageOut):
    items: list[InvoiceOut]


class AuditPage(PageOut):
    items: list[AuditOut]


class ApiKeyPage(PageOut):
    items: list[ApiKeyOut]


class AvailabilityPage(PageOut):
    items: list[RecordedAvailability]


# --- events and webhooks (docs/EVENTS.md) --------------------------------------------------


class EventOut(Out):
    id: int
    kind: str
    occurred_at: str
    recorded_at: str
    operator: str
    tenant: str | None
    agreement: str | None
    data: dict[str, Any]


class EventPage(PageOut):
    items: list[EventOut]


class WebhookRequest(Strict):
    url: str = Field(max_length=2000, description="http:// or https://; a tenant's: public")
    kinds: list[str] = Field(
        default_factory=list, max_length=20, description="Event kinds (none: every kind)"
    )
    tenant: str | None = Field(
        None, max_length=63, description="That tenant's events only (a tenant key: its own)"
    )


class WebhookOut(Out):
    id: int
    url: str
    operator: str
    tenant: str | None
    kinds: list[str]
    created_at: str
    actor: str
    removed_at: str | None


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="The signing secret: shown in this answer only")


class RemovedWebhookOut(WebhookOut):
    abandoned_deliveries: int


class WebhookPage(PageOut):
    items: list[WebhookOut]


class DeliveryOut(Out):
    id: int
    webhook_id: int
    event_id: int
    status: str
    attempts: int
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: str | None


class DeliveryPage(PageOut):
    items: list[DeliveryOut]


def _iso(at: Any) -> str | None:
    return None if at is None else str(at.isoformat())


def webhook_out(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id, "url": hook.url, "operator": hook.operator, "tenant": hook.tenant,
        "kinds": sorted(k.value for k in hook.kinds), "created_at": hook.created_at.isoformat(),
        "actor": hook.actor, "removed_at": _iso(hook.removed_at),
    }  # fmt: skip


def delivery_out(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "webhook_id": d.webhook_id, "event_id": d.event_id, "status": d.status.value,
        "attempts": d.attempts, "next_attempt_at": _iso(d.next_attempt_at),
        "last_attempt_at": _iso(d.last_attempt_at), "last_status_code": d.last_status_code,
        "last_error": d.last_error, "delivered_at": _iso(d.delivered_at),
    }  # fmt: skip


# --- an agreement's usage and metering -------------------------------------------------------


class UsageMonthOut(Out):
    period: str
    held_gpu_hours: str
    availability_ratio: str | None = Field(description="Recorded for the month; null: none")
    credit_share: str | None = Field(description="What the SLA credits at that availability")
    sla_credits: str = Field(
        description="SLA credit lines on the month's invoices (<= 0), in the currency"
    )


class UsageOut(Out):
    agreement: str
    tenant: str
    site: str
    currency: str
    availability_target: str | None
    gpus_held_now: int
    months: list[UsageMonthOut]


CENT = Decimal("0.01")  # the invoices' money: to the cent


def usage_out(usage: AgreementUsage, months: list[UsageMonth]) -> dict[str, Any]:
    terms = usage.agreement.terms
    sla = terms.sla
    return {
        "agreement": usage.agreement.key, "tenant": terms.tenant, "site": terms.site,
        "currency": terms.currency,
        "availability_target": None if sla is None else text(sla.availability_target),
        "gpus_held_now": usage.gpus_held_now,
        "months": [{
            "period": m.period, "held_gpu_hours": text(m.held_gpu_hours),
            "availability_ratio": None if m.availability_ratio is None
            else text(m.availability_ratio),
            "credit_share": None if m.credit_share is None else text(m.credit_share),
            "sla_credits": str(m.credited.quantize(CENT))} for m in months],
    }  # fmt: skip


class MeteringOut(Out):
    agreement: str
    period: str
    site: str
    engine: str
    unit: str
    availability_ratio: str | None
    coverage_ratio: str
    covered: bool
    held_unit_s: str
    excluded_unit_s: str
    required_unit_s: str
    available_unit_s: str
    down_unit_s: dict[str, str]
    held_gpu_hours: str
    gpu_energy_kwh: str
    gpu_energy_from_power_kwh: str
    rows_without_energy_counter: int
    it_energy_kwh: str
    facility_energy_kwh: str
    energy_cost: str | None
    energy_currency: str | None
    carbon_kg: str | None
    server_overhead: str
    pue: str
    util_ratio: str | None


def metering_out(m: Metering) -> dict[str, Any]:
    """What ``neocloud metering show --json`` prints, numbers as decimal text."""
    a = m.availability

    def opt(value: Decimal | None) -> str | None:
        return None if value is None else text(value)

    return {
        "agreement": m.agreement, "period": m.period, "site": m.site, "engine": m.engine,
        "unit": a.plan.unit.value, "availability_ratio": opt(a.ratio),
        "coverage_ratio": text(a.coverage_ratio), "covered": a.covered,
        "held_unit_s": text(a.plan.held_unit_s), "excluded_unit_s": text(a.plan.excluded_unit_s),
        "required_unit_s": text(a.required_unit_s), "available_unit_s": text(a.available_unit_s),
        "down_unit_s": {cause.value: text(v) for cause, v in a.down_unit_s.items()},
        "held_gpu_hours": text(m.held_gpu_hours), "gpu_energy_kwh": text(m.gpu_kwh),
        "gpu_energy_from_power_kwh": text(m.power_fallback_kwh),
        "rows_without_energy_counter": m.usage.rows_without_energy,
        "it_energy_kwh": text(m.it_kwh), "facility_energy_kwh": text(m.facility_kwh),
        "energy_cost": None if m.energy_cost is None else m.energy_cost.text,
        "energy_currency": None if m.price_per_mwh is None else m.price_per_mwh.currency,
        "carbon_kg": opt(m.carbon_kg), "server_overhead": text(m.server_overhead),
        "pue": text(m.pue), "util_ratio": opt(m.usage.util_ratio),
    }  # fmt: skip

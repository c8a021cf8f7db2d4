"""Invoices for capacity agreements: proration, ramp discount, escalator, prepayment,
SLA credits, termination; and the deal's value as of any date.

Proration basis: seconds of the billing period (a calendar month in the agreement's billing
time zone). The fee for a window ``[a, b)`` of a period starting at ``s`` is
``round(fee x (b - s) / T) - round(fee x (a - s) / T)`` (``T`` = the period's seconds), so
the pieces of any split of a month add up to the month's fee to the cent. Every other line
is its precise amount rounded once (``money.ROUNDING``). An invoice's total is the sum of
its rounded lines; the precise amount stays beside each rounded one.

Amounts that are a share of other lines are a share of what those lines bill (their
rounded amounts): the SLA credit is a share of the period's billed charges, so a 100 %
credit cancels them to the cent; the prepayment drawn down is a share of the charges net
of that credit, so an invoice never goes below zero because of a drawdown.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from neocloud.domain.agreements.model import AgreementTerms, CapacityAgreement, Party
from neocloud.domain.billing.periods import BillingPeriod, periods_overlapping
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval, local_midnight, zone
from neocloud.domain.kernel.money import LARGEST, Money, number_text, plain

SECONDS_PER_DAY = Decimal(86_400)


class LineKind(enum.StrEnum):
    CAPACITY_FEE = "capacity_fee"
    RAMP_DISCOUNT = "ramp_discount"
    ESCALATOR = "escalator"
    PREPAYMENT = "prepayment"
    PREPAYMENT_DRAWDOWN = "prepayment_drawdown"
    SLA_CREDIT = "sla_credit"
    TERMINATION_FEE = "termination_fee"
    CREDIT_NOTE = "credit_note"


CHARGES = frozenset({LineKind.CAPACITY_FEE, LineKind.RAMP_DISCOUNT, LineKind.ESCALATOR})
DRAWN_AGAINST = CHARGES | {LineKind.SLA_CREDIT}
"""What a prepayment drawdown is a share of: the period's charges net of its SLA credit."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: LineKind
    description: str
    precise: Decimal  # full precision
    amount: Decimal  # rounded to the currency's minor unit; what is billed


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    agreement_key: str
    operator: str
    tenant: str
    period: BillingPeriod
    currency: str
    lines: tuple[InvoiceLine, ...]
    final: bool

    @property
    def total(self) -> Money:
        return Money(sum((x.amount for x in self.lines), Decimal(0)), self.currency)

    def charges(self) -> Decimal:
        return sum((x.amount for x in self.lines if x.kind in CHARGES), Decimal(0))


def seconds(delta: timedelta) -> Decimal:
    return Decimal((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) / (
        1_000_000
    )


def prorate(fee: Money, period: Interval, window: Interval) -> tuple[Decimal, Decimal]:
    """(precise, rounded) share of a period's ``fee`` for ``window`` inside the period."""
    total = seconds(period.duration)
    a, b = seconds(window.start - period.start), seconds(window.end - period.start)
    upto_b = Money(fee.amount * b / total, fee.currency).rounded().amount
    upto_a = Money(fee.amount * a / total, fee.currency).rounded().amount
    return fee.amount * (b - a) / total, upto_b - upto_a


def escalation_factor(terms: AgreementTerms, instant: datetime) -> Decimal:
    """(1 + annual rate) ^ whole contract years elapsed at ``instant``."""
    if not terms.escalator_annual_rate:
        return Decimal(1)
    return (1 + terms.escalator_annual_rate) ** _years_elapsed(terms, instant)


def _anniversary(terms: AgreementTerms, years: int) -> datetime:
    local = terms.term.start.astimezone(zone(terms.billing_timezone))
    day = min(local.day, 28) if local.month == 2 else local.day
    return local_midnight(local.year + years, local.month, day, terms.billing_timezone)


def _years_elapsed(terms: AgreementTerms, instant: datetime) -> int:
    years = 0
    while _anniversary(terms, years + 1) <= instant:
        years += 1
    return years


def _boundaries(agreement: CapacityAgreement, window: Interval) -> list[datetime]:
    """Instants inside ``window`` where the rate may change: versions, ramp phases, years."""
    points = set(agreement.version_boundaries())
    for version in agreement.versions:
        for phase in version.terms.ramp:
            points |= {phase.interval.start, phase.interval.end}
    if agreement.terms.escalator_annual_rate:
        years = _years_elapsed(agreement.terms, window.end)
        points |= {_anniversary(agreement.terms, y) for y in range(1, years + 1)}
    inner = sorted(p for p in points if window.start < p < window.end)
    return [window.start, *inner, window.end]


@dataclass
class _Acc:
    precise: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    note: str = ""


def charge_lines(
    agreement: CapacityAgreement,
    period: BillingPeriod,
    service: Interval | None = None,
    within: Interval | None = None,
) -> list[InvoiceLine]:
    """Capacity fee, escalator and ramp discount for ``period`` ∩ ``service`` ∩ ``within``.

    ``service`` defaults to the agreement's service window (term cut at the notice).
    """
    window = period.interval.intersection(service or agreement.service_window)
    if window and within:
        window = window.intersection(within)
    if window is None:
        return []
    fee, escalator = _Acc(), _Acc()
    discounts: dict[str, _Acc] = {}
    rates: list[Decimal] = []
    edges = _boundaries(agreement, window)
    for start, end in itertools.pairwise(edges):
        terms = agreement.terms_at(start)
        piece, piece_rounded = prorate(terms.monthly_fee, period.interval, Interval(start, end))
        fee.precise += piece
        fee.amount += piece_rounded
        escalated = piece * escalation_factor(terms, start)
        escalator.precise += escalated - piece
        if escalated != piece:  # the rates billed, as the terms in force name them
            rates.append(plain((terms.escalator_annual_rate or Decimal(0)) * 100))
        phase = terms.phase_at(start)
        if phase and phase.price_factor != 1:
            tz = zone(terms.billing_timezone)
            label = (
                f"{phase.interval.start.astimezone(tz).date()}.."
                f"{phase.interval.end.astimezone(tz).date()}"
            )
            acc = discounts.setdefault(label, _Acc(note=f"price factor {phase.price_factor}"))
            acc.precise -= escalated * (1 - phase.price_factor)
    days = seconds(window.duration) / SECONDS_PER_DAY
    month_days = seconds(period.interval.duration) / SECONDS_PER_DAY
    lines = [
        InvoiceLine(
            LineKind.CAPACITY_FEE,
            f"Capacity fee {period}: {days:.3f} of {month_days:.3f} days in service",
            fee.precise,
            fee.amount,
        )
    ]
    if escalator.precise:
        named = " then ".join(f"{r} %" for r in dict.fromkeys(rates))
        lines.append(
            _line(
                LineKind.ESCALATOR,
                f"Escalator {named} a contract year",
                escalator.precise,
                agreement.terms.currency,
            )
        )
    for label, acc in discounts.items():
        lines.append(
            _line(
                LineKind.RAMP_DISCOUNT,
                f"Commissioning ramp discount ({label}, {acc.note})",
                acc.precise,
                agreement.terms.currency,
            )
        )
    return lines


def _line(kind: LineKind, description: str, precise: Decimal, currency: str) -> InvoiceLine:
    return InvoiceLine(kind, description, precise, Money(precise, currency).rounded().amount)


def charges_between(
    agreement: CapacityAgreement, window: Interval, service: Interval | None = None
) -> Money:
    """Billed charges (fee + escalator + discount, rounded lines) falling in ``window``."""
    tz = agreement.terms.billing_timezone
    total = sum(
        (
            line.amount
            for period in periods_overlapping(window, tz)
            for line in charge_lines(agreement, period, service, window)
        ),
        Decimal(0),
    )
    return Money(total, agreement.terms.currency)


def headline_total(agreement: CapacityAgreement) -> Money:
    """Total contract value as written: every month of the term, ignoring any notice."""
    term = agreement.terms.term
    return charges_between(agreement, term, service=term)


def check_storable(agreement: CapacityAgreement) -> None:
    """InvalidInput if a document the agreement can produce would hold an amount the store
    cannot keep exactly (``money.LARGEST``): its largest month of charges, plus the
    prepayment and the termination fee that an invoice may add to it. Checked when the
    terms are written, so no month close can fail on them later."""
    terms = agreement.terms
    months = periods_overlapping(terms.term, terms.billing_timezone)
    largest = max(abs(charges_between(agreement, p.interval).amount) for p in months)
    bound = largest + prepaid_amount(agreement) + terms.termination.fee.amount
    if bound >= LARGEST:
        raise InvalidInput.single(
            "agreement.monthly_fee",
            f"{terms.monthly_fee}",
            f"an invoice of this agreement could reach {terms.currency} {bound:,.0f} (its "
            "largest month, prepayment and termination fee), more than neocloud keeps "
            f"exactly: amounts must stay below {number_text(LARGEST)}",
        )


def prepaid_amount(agreement: CapacityAgreement) -> Decimal:
    """The prepayment: its share of the contract value as signed (the first version of the
    terms; amendments change neither). Zero when the terms have none."""
    share = agreement.first_terms.prepayment_share or Decimal(0)
    signed = CapacityAgreement(agreement.key, agreement.status, agreement.versions[:1])
    return (headline_total(signed) * share).rounded().amount


def draft_invoice(
    agreement: CapacityAgreement,
    period: BillingPeriod,
    *,
    availability_ratio: Decimal | None,
    prepaid_drawn: Decimal,
    availability_source: str | None = None,
) -> InvoiceDraft | None:
    """The invoice for ``period``, or None if nothing is billable in it.

    ``prepaid_drawn`` is the prepayment already drawn down by earlier invoices (a positive
    amount). Billing is in arrears: the SLA credit for the period's own availability is on
    the period's invoice.
    """
    terms = agreement.terms
    lines = charge_lines(agreement, period)
    if not lines:
        return None
    final = period.interval.contains(agreement.service_end) or (
        agreement.service_end == period.interval.end
    )
    charges = sum((x.amount for x in lines), Decimal(0))
    lines += _sla_credit(terms, availability_ratio, charges, period, availability_source)
    lines += _termination_fee(agreement, final)
    lines += _prepayment(agreement, period, lines, prepaid_drawn, final)
    return InvoiceDraft(
        terms.key, terms.operator, terms.tenant, period, terms.currency, tuple(lines), final
    )


def _sla_credit(
    terms: AgreementTerms,
    availability: Decimal | None,
    charges: Decimal,
    period: BillingPeriod,
    source: str | None = None,
) -> list[InvoiceLine]:
    if terms.sla is None or availability is None:
        return []
    share = terms.sla.credit_share(availability)
    if not share:
        return []
    return [
        _line(
            LineKind.SLA_CREDIT,
            f"SLA credit {period}: availability {plain(availability * 100)} %"
            f"{f' ({source})' if source else ''} < target "
            f"{plain(terms.sla.availability_target * 100)}"
            f" %, {plain(share * 100)} % of the period's charges",
            -charges * share,
            terms.currency,
        )
    ]


def termination_fee_due(agreement: CapacityAgreement) -> Money:
    """The termination fee the agreement owes: the terms' fee when the tenant gave notice,
    else zero (the operator's notice, or none, costs the tenant nothing)."""
    fee = agreement.terms.termination.fee
    notice = agreement.notice
    if notice is None or notice.given_by is not Party.TENANT:
        return Money.zero(fee.currency)
    return fee


def _termination_fee(agreement: CapacityAgreement, final: bool) -> list[InvoiceLine]:
    fee = termination_fee_due(agreement)
    notice = agreement.notice
    if not (final and notice and fee.amount):
        return []
    return [
        _line(
            LineKind.TERMINATION_FEE,
            f"Termination fee (notice by the tenant "
            f"{notice.given_at.astimezone(zone(agreement.terms.billing_timezone)).date()})",
            fee.amount,
            fee.currency,
        )
    ]


def _prepayment(
    agreement: CapacityAgreement,
    period: BillingPeriod,
    lines: list[InvoiceLine],
    drawn: Decimal,
    final: bool,
) -> list[InvoiceLine]:
    share = agreement.first_terms.prepayment_share
    if not share:
        return []
    currency = agreement.terms.currency
    prepaid = prepaid_amount(agreement)
    out = []
    if period.interval.contains(agreement.terms.term.start):
        out.append(
            InvoiceLine(
                LineKind.PREPAYMENT,
                f"Prepayment: {plain(share * 100)} % of contract value",
                prepaid,
                prepaid,
            )
        )
    balance = prepaid - drawn
    charges = sum((x.amount for x in lines if x.kind in DRAWN_AGAINST), Decimal(0))
    draw = balance if final else min(balance, Money(charges * share, currency).rounded().amount)
    if draw > 0:
        out.append(
            InvoiceLine(
                LineKind.PREPAYMENT_DRAWDOWN,
                f"Prepayment drawn down (balance before {balance:,})",
                -draw,
                -draw,
            )
        )
    return out

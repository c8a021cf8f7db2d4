"""What a capacity deal is worth as of an instant: headline, contracted, earned, billed,
remaining, and what the notice clause makes enforceable."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from neocloud.domain.agreements.model import CapacityAgreement, Party
from neocloud.domain.billing.drafts import charges_between, headline_total, termination_fee_due
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money


@dataclass(frozen=True, slots=True)
class DealValue:
    """What a deal is worth as of an instant, each figure saying what it counts."""

    as_of: datetime
    currency: str
    headline_total: Money  # the whole term as written
    contracted_total: Money  # the term cut at a notice already given
    earned_to_date: Money  # charges for service before as_of
    billed_to_date: Money  # totals of invoices issued (credits and prepayment included)
    remaining: Money  # contracted_total - earned_to_date
    enforceable_remaining: Money  # owed if notice were given at as_of
    enforceable_until: datetime


def deal_value(agreement: CapacityAgreement, as_of: datetime, billed: Iterable[Money]) -> DealValue:
    terms = agreement.terms
    currency = terms.currency
    zero = Money.zero(currency)
    service = agreement.service_window
    earned = (
        charges_between(agreement, Interval(service.start, min(as_of, service.end)))
        if as_of > service.start
        else zero
    )
    enforceable, until = enforceable_remaining(agreement, as_of)
    fee = termination_fee_due(agreement)  # owed when the service ends
    contracted = charges_between(agreement, service) + fee
    if as_of >= service.end:
        earned += fee
    return DealValue(
        as_of,
        currency,
        headline_total(agreement),
        contracted,
        earned,
        sum(billed, zero),
        contracted - earned,
        enforceable,
        until,
    )


def enforceable_remaining(agreement: CapacityAgreement, as_of: datetime) -> tuple[Money, datetime]:
    """What notice given at ``as_of`` would still owe, and the instant it would end: service
    to the notice's effective instant (never past the service's end), plus the termination
    fee the tenant's notice costs it. Once notice has been given the end is fixed: what is
    left of the service, and the fee if the tenant gave it."""
    service = agreement.service_window
    start = max(as_of, service.start)
    until = min(agreement.notice_effective_at(start), service.end)
    zero = Money.zero(agreement.terms.currency)
    if as_of >= service.end:
        return zero, until
    notice = agreement.notice
    if notice is not None and notice.given_at <= as_of:
        fee = termination_fee_due(agreement)
    elif Party.TENANT in agreement.terms.termination.may_give_notice:
        fee = agreement.terms.termination.fee
    else:
        fee = zero
    return charges_between(agreement, Interval(start, until)) + fee, until

"""A site's backlog at any instant, both ways, per agreement and in total.

*Headline*: the consideration (``recognition.consideration``: every charge of the service
window plus any termination fee) not yet billed at the instant, i.e. for service after it.
*Enforceable*: what notice given at the instant would still owe under the agreement's
notice clause (``value.enforceable_remaining``: service to the notice's effective date,
calendar days in the billing zone). A notice already given counts from the instant it was
given (strictly after it), exactly as ``recognition.revenue_schedule`` reads its months.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from neocloud.domain.agreements.model import CapacityAgreement
from neocloud.domain.billing.drafts import charges_between, termination_fee_due
from neocloud.domain.billing.recognition import consideration
from neocloud.domain.billing.value import enforceable_remaining
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money


@dataclass(frozen=True, slots=True)
class Backlog:
    key: str  # the agreement, or "total"
    at: datetime
    headline: Money
    enforceable: Money


def contract_at(agreement: CapacityAgreement, at: datetime) -> CapacityAgreement:
    """The contract as it stood at ``at``: without a notice given at or after it."""
    notice = agreement.notice
    if notice is None or notice.given_at < at:
        return agreement
    return replace(agreement, notice=None)


def agreement_backlog(agreement: CapacityAgreement, at: datetime) -> Backlog:
    known = contract_at(agreement, at)
    window = known.service_window
    billed = (
        charges_between(known, Interval(window.start, min(at, window.end)))
        if at > window.start
        else Money.zero(known.terms.currency)
    )
    if at >= window.end:
        billed += termination_fee_due(known)
    headline = (consideration(known) - billed).rounded()
    return Backlog(agreement.key, at, headline, enforceable_remaining(known, at)[0].rounded())


def site_backlog(
    agreements: Sequence[CapacityAgreement], at: datetime, currency: str
) -> list[Backlog]:
    """Each agreement's backlog at ``at`` (key order), then their total (key ``total``)."""
    rows = [agreement_backlog(a, at) for a in sorted(agreements, key=lambda a: a.key)]
    zero = Money.zero(currency)
    total = Backlog(
        "total",
        at,
        sum((r.headline for r in rows), zero),
        sum((r.enforceable for r in rows), zero),
    )
    return [*rows, total]

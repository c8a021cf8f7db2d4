"""Revenue billed and recognized month by month, and the backlog, each in two readings.

**Over the term** (straight-line): the contract's consideration (every charge of the service
window plus any termination fee) is earned evenly over the service window, by elapsed time;
the cumulative figure is rounded to the cent at each month's end, so the months add up to
the consideration exactly. What is recognized beyond what is billed is a *contract asset*
(the discounted commissioning months of the reference deal); what is billed beyond it,
*deferred revenue* (a contract liability). ``balance`` is recognized - billed, cumulative:
positive an asset, negative a liability.

**Over the notice period**: where either party may walk away on notice without a
substantive penalty, the enforceable contract is only the notice period ahead, renewed day
by day; each month's charge is then recognized as it is billed and no balance builds up.

Backlog at a month's end: *headline* (the consideration for service after it: not yet
billed) and *enforceable* (what notice given then would still owe: service to the notice's
effective date). A notice counts from the instant it is given: earlier months keep their
figures, the rest of the consideration is spread over the rest of the service.
Billed means the contract's scheduled charges (fee, ramp, escalator), not invoices: SLA
credits and prepayment are the invoices' business (``agreement value`` shows those).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from neocloud.domain.agreements.model import CapacityAgreement
from neocloud.domain.billing.drafts import charges_between, seconds, termination_fee_due
from neocloud.domain.billing.periods import BillingPeriod, periods_overlapping
from neocloud.domain.billing.value import enforceable_remaining
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money


@dataclass(frozen=True, slots=True)
class RevenueMonth:
    period: BillingPeriod
    billed: Money  # the month's scheduled charges (the termination fee in the last month)
    recognized: Money  # straight-line over the service window
    balance: Money  # cumulative recognized - billed at the month's end: + asset, - deferred
    recognized_notice: Money  # the notice-period reading: as billed
    headline_backlog: Money  # at the month's end: consideration not yet earned
    enforceable_backlog: Money  # at the month's end: owed if notice were given then


def consideration(agreement: CapacityAgreement) -> Money:
    """Everything the service window bills, the termination fee included."""
    return charges_between(agreement, agreement.service_window) + termination_fee_due(agreement)


def revenue_schedule(agreement: CapacityAgreement) -> list[RevenueMonth]:
    """Every billing month of the service window, in order. A notice changes the contract
    from the instant it is given, never before: months ending by then read as they did
    (the whole term, its backlog), and what remains to recognize is spread over the
    shortened rest of the service (prospectively, no catch-up)."""
    terms, window = agreement.terms, agreement.service_window
    before = replace(agreement, notice=None)  # the contract until a notice is given
    given = agreement.notice.given_at if agreement.notice else None
    line = _Line(before, consideration(before), given, agreement, consideration(agreement))
    zero = Money.zero(terms.currency)
    fee = termination_fee_due(agreement)
    months = list(periods_overlapping(window, terms.billing_timezone))
    out: list[RevenueMonth] = []
    billed_to_date = recognized_to_date = zero
    for i, period in enumerate(months):
        end = min(period.interval.end, window.end)
        cut = Interval(max(period.start, window.start), end)
        billed = charges_between(agreement, cut) + (fee if i == len(months) - 1 else zero)
        through = line.through(end).rounded()
        recognized = through - recognized_to_date
        billed_to_date += billed
        recognized_to_date = through
        known = before if given is None or end <= given else agreement  # the contract then
        out.append(
            RevenueMonth(
                period,
                billed,
                recognized,
                recognized_to_date - billed_to_date,
                billed,
                (line.total if known is before else line.noticed) - billed_to_date,
                enforceable_remaining(known, end)[0],
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class _Line:
    """Straight-line recognition: over the whole term until a notice is given, then what
    was left of the new consideration over what is left of the service."""

    before: CapacityAgreement
    total: Money  # the consideration without the notice
    given: datetime | None
    agreement: CapacityAgreement
    noticed: Money  # the consideration with it

    def through(self, instant: datetime) -> Money:
        window, currency = self.before.service_window, self.total.currency
        if self.given is None:
            return Money(self.total.amount * _share(window, instant), currency)
        at_notice = self.total.amount * _share(window, self.given)
        left = self.noticed.amount - at_notice  # spread after the notice only
        rest = Interval(self.given, self.agreement.service_end)
        done = self.total.amount * _share(window, min(instant, self.given))
        return Money(done + left * _share(rest, instant), currency)


def _share(window: Interval, instant: datetime) -> Decimal:
    elapsed = min(max(instant, window.start), window.end) - window.start
    return seconds(elapsed) / seconds(window.duration)

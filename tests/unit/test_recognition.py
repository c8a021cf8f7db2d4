"""Revenue recognized against billed, and the backlog, for the reference deal, worked by
hand. The term runs 1 May 2026 to 1 June 2029 in Chicago: 1,127 days, all of them whole
(both ends in daylight time, so every DST hour lost is given back). The consideration is
35 x USD 1.25 B + 2 x USD 0.625 B (May and June at half price) = USD 45.0 B."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from neocloud.adapters.yamlfile import parse_document
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement, Party
from neocloud.domain.billing.recognition import consideration, revenue_schedule
from neocloud.domain.billing.value import enforceable_remaining
from tests.conftest import EXAMPLES
from tests.unit.test_billing import reference

B = Decimal(1_000_000_000)
DAYS = 1127


def test_over_the_term_recognized_equals_billed_and_the_discount_is_an_asset() -> None:
    months = revenue_schedule(reference())
    assert len(months) == 37 and str(months[0].period) == "2026-05"
    assert consideration(reference()).amount == 45 * B
    assert (
        sum(m.recognized.amount for m in months) == sum(m.billed.amount for m in months) == 45 * B
    )
    may, june, july = months[:3]
    assert (may.billed.amount, june.billed.amount, july.billed.amount) == (
        Decimal("0.625") * B, Decimal("0.625") * B, Decimal("1.25") * B)  # fmt: skip
    # May: 45 B x 31 / 1127 = 1,237,799,467.612... -> 1,237,799,467.61
    assert may.recognized.amount == Decimal("1237799467.61")
    # to the end of June: 45 B x 61 / 1127 = 2,435,669,920.1419... -> 2,435,669,920.14,
    # billed 1.25 B: a contract asset of 1,185,669,920.14
    assert may.recognized.amount + june.recognized.amount == Decimal("2435669920.14")
    assert june.balance.amount == Decimal("1185669920.14")
    # the asset runs down once full price is billed, and is gone at the end
    assert july.balance.amount < june.balance.amount
    assert months[-1].balance.amount == 0
    # the notice-period reading recognizes each month as it is billed: no balance at all
    assert all(m.recognized_notice == m.billed for m in months)


def test_backlog_both_ways_at_the_end_of_october_2026() -> None:
    """Earned by 1 November (Chicago): 2 x 0.625 B + 4 x 1.25 B = 6.25 B, so 38.75 B of
    the headline remain. Notice given then takes effect 90 calendar days later, 30 January
    2027 at midnight: November and December whole, January for 29 of its 31 days:
    1.25 B x 29 / 31 = 1,169,354,838.709... -> 1,169,354,838.71; 3,669,354,838.71 in all."""
    october = next(m for m in revenue_schedule(reference()) if str(m.period) == "2026-10")
    assert october.headline_backlog.amount == Decimal("38.75") * B
    assert october.enforceable_backlog.amount == Decimal("3669354838.71")


def test_a_notice_shortens_the_term_the_reading_spreads_over() -> None:
    """Notice by the tenant on 2 November 2026 at 18:00 UTC: service ends 31 January 2027
    at 12:00 Chicago. Consideration: 2 x 0.625 B + 6 x 1.25 B (July to December) + January
    to its 31st at noon, 1.25 B x 30.5 / 31 = 1,229,838,709.677... -> 1,229,838,709.68."""
    deal = reference()
    deal.give_notice(by=Party.TENANT, at=datetime(2026, 11, 2, 18, tzinfo=UTC))
    months = revenue_schedule(deal)
    total = Decimal("1.25") * B + 6 * Decimal("1.25") * B + Decimal("1229838709.68")
    assert [str(m.period) for m in months][-1] == "2027-01"
    assert consideration(deal).amount == total
    assert sum(m.recognized.amount for m in months) == total
    assert months[-1].balance.amount == 0 and months[-1].headline_backlog.amount == 0


def test_a_termination_fee_is_billed_last_and_recognized_over_the_term() -> None:
    """The same notice with a USD 300 M termination fee: billed with January 2027 only, and
    spread with the rest (the consideration grows by it; the balance still ends at zero)."""
    text = (EXAMPLES / "agreements" / "memphis-lease.yaml").read_text()
    terms = parse_terms(parse_document(text.replace("fee: 0", "fee: 300000000.00"), "fee.yaml"))
    deal = CapacityAgreement.draft(terms, at=datetime(2026, 5, 3, tzinfo=UTC), actor="t")
    deal.sign(datetime(2026, 5, 3, 19, tzinfo=UTC))
    deal.give_notice(by=Party.TENANT, at=datetime(2026, 11, 2, 18, tzinfo=UTC))
    months = revenue_schedule(deal)
    total = Decimal("8.75") * B + Decimal("1229838709.68") + Decimal("0.3") * B
    assert consideration(deal).amount == total
    assert months[-1].billed.amount == Decimal("1229838709.68") + Decimal("0.3") * B
    assert months[-2].billed.amount == Decimal("1.25") * B  # December: no fee
    assert sum(m.recognized.amount for m in months) == total and months[-1].balance.amount == 0


def test_a_notice_leaves_the_months_before_it_as_they_were() -> None:
    """Closed months are not rewritten: to October 2026 the schedule with the notice of 2
    November is the one without it, figure for figure (backlogs included); from November
    the rest is spread over the rest of the service and the balance still ends at zero."""
    plain = revenue_schedule(reference())
    deal = reference()
    deal.give_notice(by=Party.TENANT, at=datetime(2026, 11, 2, 18, tzinfo=UTC))
    noticed = revenue_schedule(deal)
    assert noticed[:6] == plain[:6]  # May to October
    november = noticed[6]
    assert november.recognized != plain[6].recognized
    # after the notice the headline backlog is what the cut term still bills: December
    # and January to its 31st at noon
    assert november.headline_backlog.amount == Decimal("1.25") * B + Decimal("1229838709.68")
    assert noticed[-1].balance.amount == 0


def test_after_a_notice_the_rest_is_spread_over_the_rest_of_the_service() -> None:
    """Notice on 2 November 2026 at 18:00 UTC, 16,030,800 s into the 97,372,800 s term
    (184 days to 1 November 05:00 UTC, then 37 h). Recognized by then: 45 B x 16,030,800 /
    97,372,800. The new consideration, 9,979,838,709.68, less that, over the 90 days
    (7,776,000 s) to 31 January 2027 18:00 UTC; November ends 1 December 06:00 UTC, 28.5
    days (2,462,400 s) after the notice. October ended at 184 of the 1,127 days."""
    deal = reference()
    deal.give_notice(by=Party.TENANT, at=datetime(2026, 11, 2, 18, tzinfo=UTC))
    november = revenue_schedule(deal)[6]
    cent = Decimal("0.01")
    at_notice = 45 * B * 16_030_800 / 97_372_800
    through_november = at_notice + (Decimal("9979838709.68") - at_notice) * 2_462_400 / 7_776_000
    through_october = (45 * B * 184 / DAYS).quantize(cent, ROUND_HALF_UP)
    expected = through_november.quantize(cent, ROUND_HALF_UP) - through_october
    assert november.recognized.amount == expected


def test_a_notice_given_as_a_month_ends_belongs_to_the_next_month() -> None:
    """Given at midnight on 1 November in Chicago: October closed before it, with the whole
    term's backlog (38.75 B)."""
    deal = reference()
    deal.give_notice(by=Party.TENANT, at=datetime(2026, 11, 1, 5, tzinfo=UTC))
    october = revenue_schedule(deal)[5]
    assert str(october.period) == "2026-10"
    assert october.headline_backlog.amount == Decimal("38.75") * B


def test_the_enforceable_backlog_counts_the_fee_the_tenants_notice_would_cost() -> None:
    """With a USD 300 M fee on the tenant's notice. At the end of October 2026, before any
    notice: November, December and 29 of January's 31 days (3,669,354,838.71, as above) plus
    the fee the tenant would owe. After notice given on 2 November at 12:00 Chicago time
    (effective 31 January 2027 12:00), at 1 December: December (1.25 B) and 30.5 of
    January's 31 days (1,229,838,709.68), plus the fee only if the tenant gave the notice."""
    text = (EXAMPLES / "agreements" / "memphis-lease.yaml").read_text()
    terms = parse_terms(parse_document(text.replace("fee: 0", "fee: 300000000.00"), "fee.yaml"))
    october_end, december = (
        datetime(2026, 11, 1, 5, tzinfo=UTC),
        datetime(2026, 12, 1, 6, tzinfo=UTC),
    )
    left = Decimal("1.25") * B + Decimal("1229838709.68")
    for by, fee in ((Party.TENANT, Decimal("0.3") * B), (Party.OPERATOR, Decimal(0))):
        deal = CapacityAgreement.draft(terms, at=datetime(2026, 5, 3, tzinfo=UTC), actor="t")
        deal.sign(datetime(2026, 5, 3, 19, tzinfo=UTC))
        owed, _ = enforceable_remaining(deal, october_end)
        assert owed.amount == Decimal("3669354838.71") + Decimal("0.3") * B
        deal.give_notice(by=by, at=datetime(2026, 11, 2, 18, tzinfo=UTC))
        owed, until = enforceable_remaining(deal, december)
        assert owed.amount == left + fee
        assert until == datetime(2027, 1, 31, 18, tzinfo=UTC)
        assert enforceable_remaining(deal, until)[0].amount == 0  # the service has ended
        # at the instant of the notice it counts as given (no fee on the operator's): the
        # rest of November (2 Nov 12:00 to 1 Dec: 684 of its 721 hours, DST having ended on
        # the 1st) = 1,185,852,981.97, December and 30.5 of January's 31 days
        at_notice, _ = enforceable_remaining(deal, datetime(2026, 11, 2, 18, tzinfo=UTC))
        assert at_notice.amount == Decimal("1185852981.97") + left + fee


def test_without_the_tenants_right_to_notice_the_enforceable_backlog_has_no_fee() -> None:
    """Only the operator may give notice: the tenant can never owe the USD 300 M fee, so at
    the end of October 2026 the enforceable backlog is the service to the notice's effect
    alone (3,669,354,838.71, as above)."""
    text = (EXAMPLES / "agreements" / "memphis-lease.yaml").read_text()
    text = text.replace("fee: 0", "fee: 300000000.00").replace(
        "may_give_notice: [operator, tenant]", "may_give_notice: [operator]"
    )
    deal = CapacityAgreement.draft(parse_terms(parse_document(text, "op.yaml")),
                                   at=datetime(2026, 5, 3, tzinfo=UTC), actor="t")  # fmt: skip
    deal.sign(datetime(2026, 5, 3, 19, tzinfo=UTC))
    owed, _ = enforceable_remaining(deal, datetime(2026, 11, 1, 5, tzinfo=UTC))
    assert owed.amount == Decimal("3669354838.71")

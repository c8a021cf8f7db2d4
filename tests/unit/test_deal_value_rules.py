"""What a deal is worth as of an instant (``deal_value``): each figure worked out here from
the factory deal, USD 1,000,000.00 a month for 2027 in Chicago with 90 days' notice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from neocloud.domain.billing.value import DealValue, deal_value
from neocloud.domain.kernel.money import Money
from tests import factories

FEE = Decimal("1000000.00")
TERM_START = datetime(2027, 1, 1, 6, tzinfo=UTC)  # midnight CST
TERM_END = datetime(2028, 1, 1, 6, tzinfo=UTC)


def usd(amount: Decimal | str | int) -> Money:
    return Money(Decimal(amount), "USD")


def test_the_value_in_the_middle_of_the_term() -> None:
    as_of = datetime(2027, 4, 16, 5, tzinfo=UTC)  # midnight CDT: half of April's 30 days
    value = deal_value(factories.signed_agreement(), as_of, [usd("1000000.00"), usd("-50000")])
    # notice given then takes effect 90 calendar days later: April 16 + 14 = April 30,
    # + 31 (May) + 30 (June) + 15 = July 15, midnight CDT; 14 of July's 31 days are owed
    july = (FEE * 14 / 31).quantize(Decimal("0.01"))
    assert value == DealValue(
        as_of=as_of,
        currency="USD",
        headline_total=usd(12 * FEE),
        contracted_total=usd(12 * FEE),
        earned_to_date=usd(3 * FEE + FEE / 2),
        billed_to_date=usd("950000.00"),
        remaining=usd(8 * FEE + FEE / 2),
        enforceable_remaining=usd(FEE / 2 + 2 * FEE + july),
        enforceable_until=datetime(2027, 7, 15, 5, tzinfo=UTC),
    )
    assert july == Decimal("451612.90")


def test_the_value_before_the_term_starts() -> None:
    value = deal_value(factories.signed_agreement(), datetime(2026, 12, 1, tzinfo=UTC), [])
    # nothing earned or billed; notice given at the start would run to April 1st (90 days)
    assert value.earned_to_date == value.billed_to_date == usd(0)
    assert value.enforceable_until == datetime(2027, 4, 1, 5, tzinfo=UTC)
    assert value.enforceable_remaining == usd(3 * FEE)
    assert value.remaining == usd(12 * FEE)


def test_the_value_at_and_after_the_end_of_the_term() -> None:
    deal = factories.signed_agreement()
    for as_of in (TERM_END, datetime(2028, 2, 1, tzinfo=UTC)):
        value = deal_value(deal, as_of, [usd(12 * FEE)])
        assert value.earned_to_date == value.contracted_total == usd(12 * FEE)
        assert value.remaining == value.enforceable_remaining == usd(0)
        assert value.enforceable_until == TERM_END
        assert value.billed_to_date == usd(12 * FEE)

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money, plain, to_decimal

amounts = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


def test_float_is_refused_with_the_field_named() -> None:
    with pytest.raises(InvalidInput) as err:
        Money.of(0.1, "USD", field="monthly_fee")
    assert err.value.problems[0].field == "monthly_fee"
    assert err.value.problems[0].value == 0.1


def test_float_amount_in_constructor_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Money(0.1, "USD")  # type: ignore[arg-type]


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        Money.of("1", "XYZ")
    assert err.value.problems[0].value == "XYZ"


def test_currencies_do_not_mix() -> None:
    with pytest.raises(InvalidInput):
        Money.of("1", "USD") + Money.of("1", "EUR")


def test_rounding_is_half_up_to_the_minor_unit() -> None:
    assert Money.of("2.675", "USD").rounded().amount == Decimal("2.68")
    assert Money.of("-2.675", "USD").rounded().amount == Decimal("-2.68")
    assert Money.of("2.674999", "USD").rounded().amount == Decimal("2.67")
    assert Money.of("1234.5", "JPY").rounded().amount == Decimal("1235")
    assert Money.of("1.0005", "BHD").rounded().amount == Decimal("1.001")


def test_display_is_rounded_with_thousands() -> None:
    assert str(Money.of("1250000000", "USD")) == "USD 1,250,000,000.00"


@given(amounts, amounts)
def test_addition_is_exact(a: Decimal, b: Decimal) -> None:
    assert (Money(a, "USD") + Money(b, "USD")).amount == a + b
    assert (Money(a, "USD") - Money(b, "USD") + Money(b, "USD")).amount == a


@given(amounts)
def test_rounded_is_within_half_a_cent(a: Decimal) -> None:
    rounded = Money(a, "USD").rounded().amount
    assert abs(rounded - a) <= Decimal("0.005")
    assert rounded == rounded.quantize(Decimal("0.01"))


@given(amounts)
def test_plain_keeps_the_value(a: Decimal) -> None:
    assert plain(a) == a
    assert "E" not in str(plain(a))


def test_to_decimal_reads_strings_and_ints_exactly() -> None:
    assert to_decimal("67.90", "x") == Decimal("67.9")
    assert to_decimal(7, "x") == Decimal(7)
    for bad in ("abc", "NaN", True, None):
        with pytest.raises(InvalidInput):
            to_decimal(bad, "x")

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.money import Money, check_currency, plain, to_decimal

amounts = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


EXACT = "must be exact (a Decimal, an integer or a string such as '67.90')"


def only_problem(err: pytest.ExceptionInfo[InvalidInput]) -> Problem:
    (problem,) = err.value.problems
    return problem


def test_float_is_refused_with_the_field_named() -> None:
    with pytest.raises(InvalidInput) as err:
        Money.of(0.1, "USD", field="monthly_fee")
    assert only_problem(err) == Problem("monthly_fee", 0.1, EXACT)


def test_the_field_is_called_amount_unless_named() -> None:
    with pytest.raises(InvalidInput) as err:
        Money.of(True, "USD")
    assert only_problem(err) == Problem("amount", True, EXACT)


def test_float_amount_in_constructor_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        Money(0.1, "USD")  # type: ignore[arg-type]
    assert only_problem(err) == Problem("amount", 0.1, "money amounts must be Decimal")


def test_infinite_amount_in_constructor_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        Money(Decimal("Infinity"), "USD")
    assert only_problem(err) == Problem("amount", Decimal("Infinity"), "must be a finite number")


UNKNOWN_CURRENCY = "not a known ISO 4217 currency code (e.g. USD)"


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        Money.of("1", "XYZ")
    assert only_problem(err) == Problem("currency", "XYZ", UNKNOWN_CURRENCY)


def test_currency_codes_are_upper_case_and_the_field_is_named() -> None:
    assert check_currency("JPY") == "JPY"
    with pytest.raises(InvalidInput) as err:
        check_currency("usd", field="fee_currency")
    assert only_problem(err) == Problem("fee_currency", "usd", UNKNOWN_CURRENCY)


def test_currencies_do_not_mix() -> None:
    usd, eur = Money.of("1", "USD"), Money.of("1", "EUR")
    mixing: list[Callable[[], object]] = [
        lambda: usd + eur,
        lambda: usd - eur,
        lambda: usd < eur,
        lambda: usd <= eur,
    ]
    for mix in mixing:
        with pytest.raises(InvalidInput) as err:
            mix()
        assert only_problem(err) == Problem("currency", "EUR", "cannot combine with USD")


def test_comparison_at_equal_amounts() -> None:
    dollar, one, cents_99 = Money.of("1.00", "USD"), Money.of("1", "USD"), Money.of("0.99", "USD")
    assert not dollar < one and not one < dollar
    assert dollar <= one <= dollar
    assert cents_99 < dollar and cents_99 <= dollar
    assert not dollar < cents_99 and not dollar <= cents_99


def test_zero_and_negation() -> None:
    assert Money.zero("JPY") == Money(Decimal(0), "JPY")
    assert -Money.of("2.675", "USD") == Money(Decimal("-2.675"), "USD")
    assert -Money.zero("USD") + Money.of("3", "USD") == Money(Decimal(3), "USD")


def test_money_is_multiplied_by_exact_factors_only() -> None:
    fee = Money.of("67.90", "USD")
    assert fee * 3 == Money(Decimal("203.70"), "USD")
    assert Decimal("0.5") * fee == Money(Decimal("33.95"), "USD")
    factor = "money is multiplied by Decimal or int"
    for bad in (1.5, True):
        with pytest.raises(InvalidInput) as err:
            fee * bad  # type: ignore[operator]
        assert only_problem(err) == Problem("factor", bad, factor)


def test_rounding_is_half_up_to_the_minor_unit() -> None:
    assert Money.of("2.675", "USD").rounded().amount == Decimal("2.68")
    assert Money.of("-2.675", "USD").rounded().amount == Decimal("-2.68")
    assert Money.of("2.674999", "USD").rounded().amount == Decimal("2.67")
    assert Money.of("1234.5", "JPY").rounded().amount == Decimal("1235")
    assert Money.of("1.0005", "BHD").rounded().amount == Decimal("1.001")


# Exactly half a minor unit: ROUND_HALF_UP goes away from zero, where ROUND_HALF_EVEN would
# go to the even digit (0.12, 2, 0.012, -0.12).
@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("0.125", "USD", "0.13"),
        ("-0.125", "EUR", "-0.13"),
        ("2.5", "JPY", "3"),
        ("0.0125", "KWD", "0.013"),
    ],
)
def test_ties_round_half_up_to_the_currency_minor_unit(
    amount: str, currency: str, rounded: str
) -> None:
    result = Money.of(amount, currency).rounded()
    assert result == Money(Decimal(rounded), currency)
    assert result.amount.as_tuple().exponent == Decimal(rounded).as_tuple().exponent


def test_minor_unit_per_currency() -> None:
    assert Money.zero("USD").minor_unit == Decimal("0.01")
    assert Money.zero("JPY").minor_unit == Decimal("1")
    assert Money.zero("BHD").minor_unit == Decimal("0.001")


def test_display_is_rounded_with_thousands() -> None:
    assert str(Money.of("1250000000", "USD")) == "USD 1,250,000,000.00"
    assert str(Money.of("1234567.5", "JPY")) == "JPY 1,234,568"


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


NOT_A_NUMBER = "is not a number (write it in ASCII digits, e.g. 1250000.00)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.5, EXACT),
        ("abc", NOT_A_NUMBER),  # a string Decimal cannot read
        (["67.90"], NOT_A_NUMBER),  # neither a number nor a string
        ("NaN", NOT_A_NUMBER),  # Decimal reads these; no field takes them
        ("-Infinity", NOT_A_NUMBER),
        ("١٢", NOT_A_NUMBER),  # Arabic-Indic digits: Decimal reads them as 12
        ("1_000", NOT_A_NUMBER),  # so it does 1_000 and " 12 "
        (" 12 ", NOT_A_NUMBER),
        ("1e999999999999", "must be less than 9,000,000,000,000"),  # past any exponent
    ],
)
def test_to_decimal_names_field_value_and_reason(value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        to_decimal(value, "price")
    assert only_problem(err) == Problem("price", value, message)


def test_plain_drops_trailing_zeros_and_exponents() -> None:
    assert str(plain(Decimal("7.280000"))) == "7.28"
    assert str(plain(Decimal("1E+3"))) == "1000"
    assert str(plain(Decimal("5.000"))) == "5"

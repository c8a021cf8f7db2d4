"""Economic assumptions: DOMAIN.md §6 defaults, monthly figures by hand, an overriding file
taken field by field, and a file with mistakes refused whole with every one located."""

from decimal import Decimal

import pytest

from neocloud.adapters.yamlfile import parse_document
from neocloud.domain.economics.assumptions import DEFAULTS, AssetClass, parse_assumptions
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def test_default_monthly_figures_for_the_reference_site() -> None:
    # opex: USD 1 M per MW-year x 300 MW / 12 = 25,000,000.00 a month
    assert DEFAULTS.opex_month(Decimal(300)).rounded() == usd("25000000.00")
    # facility: 11.5 M per MW x 300 MW = 3.45 B over 20 years x 12 months = 14,375,000.00
    assert DEFAULTS.facility.monthly(300).rounded() == usd("14375000.00")
    # one H100 server GPU: 50,000 over 5 x 12 = 60 months = 833.333... -> 833.33
    assert DEFAULTS.server_class("H100").monthly(1).rounded() == usd("833.33")
    # 72 GB200 GPUs (one NVL72 rack, ~USD 3 M): 72 x 41,666.67 / 60 = 50,000.004 -> 50,000.00
    assert DEFAULTS.server_class("GB200").monthly(72).rounded() == usd("50000.00")
    assert DEFAULTS.shadow_price("H100") == usd("2.00")


def test_a_file_replaces_only_what_it_gives() -> None:
    doc = parse_document(
        "version: 1\nopex_per_mw_year: 1200000\nfacility: {life_years: 25}\n"
        "gpu_servers:\n  H100: {capex_per_gpu: 48000}\n  MI300X: {capex_per_gpu: 20000, "
        "life_years: 4}\nshadow_price_per_gpu_hour: {MI300X: 1.25}\n",
        "mine.yaml",
    )
    got = parse_assumptions(doc)
    assert got.opex_per_mw_year == usd("1200000")
    assert got.facility.capex == DEFAULTS.facility.capex and got.facility.life_years == 25
    assert got.server_class("H100").capex == usd("48000")
    assert got.server_class("H100").life_years == 5  # the default life kept
    # 20,000 / (4 x 12) = 416.666... a month
    assert got.server_class("MI300X").monthly(1).rounded() == usd("416.67")
    assert got.shadow_price("MI300X") == usd("1.25")
    assert got.shadow_price("H100") == usd("2.00")
    assert got.sources == ("mine.yaml",)


BAD = """\
version: 1
opex_per_mw_year: -5
facility: {capex_per_mw: 12000000, life_years: 0}
gpu_servers:
  H100: {capex_per_gpu: 48000}
  X9: {capex_per_gpu: 1}
  bad name: {life_years: 3}
shadow_price_per_gpu_hour: {H100: 2.001, H200: 3}
discount_rate_per_year: -0.01
colour: red
"""


def test_every_mistake_is_located() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_assumptions(parse_document(BAD, "bad.yaml"))
    got = [(p.location, p.field) for p in caught.value.problems]
    assert got == [
        ("bad.yaml:2", "opex_per_mw_year"),
        ("bad.yaml:3", "facility.life_years"),
        ("bad.yaml:6", "gpu_servers.X9.life_years"),
        ("bad.yaml:7", "gpu_servers.bad name"),
        ("bad.yaml:8", "shadow_price_per_gpu_hour.H100"),
        ("bad.yaml:9", "discount_rate_per_year"),
        ("bad.yaml:10", "colour"),
    ]
    assert "must be at least 0" in str(caught.value)


def test_another_currency_must_give_every_money_figure() -> None:
    doc = parse_document("version: 1\ncurrency: EUR\nopex_per_mw_year: 900000\n", "eur.yaml")
    with pytest.raises(InvalidInput) as caught:
        parse_assumptions(doc)
    assert sorted(p.field for p in caught.value.problems) == [
        "facility", "gpu_servers", "shadow_price_per_gpu_hour"]  # fmt: skip


def test_unknown_model_names_the_file_field() -> None:
    with pytest.raises(InvalidInput, match="gpu_servers='Z1'") as caught:
        DEFAULTS.server_class("Z1")
    assert caught.value.problems[0].message == (
        "has no capex and life; add it under gpu_servers in the assumptions file"
    )
    with pytest.raises(InvalidInput, match="shadow_price_per_gpu_hour='Z1'") as caught:
        DEFAULTS.shadow_price("Z1")
    assert caught.value.problems[0].message == (
        "has no shadow price; add it to the assumptions file"
    )


def test_depreciation_runs_from_in_service_to_the_end_of_life() -> None:
    """H100 servers in service from March 2024 for 4.5 years: 54 whole months, March 2024
    (age 0) to August 2028 (age 53); nothing before, nothing from September 2028."""
    doc = parse_document(
        "version: 1\ngpu_servers:\n  H100: {capex_per_gpu: 54000, life_years: 4.5, "
        'in_service: "2024-03"}\n',
        "life.yaml",
    )
    h100 = parse_assumptions(doc).server_class("H100")
    # 54,000 / 54 months = 1,000.00 a GPU-month; 4.5 years x 12 = 54 months: March 2024
    # (age 0) to August 2028 (age 53) whole, September 2028 (age 54) nothing left.
    assert h100.in_month(1, 2024, 2) == usd("0")
    assert h100.in_month(1, 2024, 3).rounded() == usd("1000.00")
    assert h100.in_month(10, 2028, 8).rounded() == usd("10000.00")
    assert h100.in_month(1, 2028, 9) == usd("0")
    # a life of 54.25 months ends inside September 2028, which keeps that fraction
    quarter = parse_assumptions(parse_document(
        'version: 1\ngpu_servers:\n  H100: {life_years: 4.520833, in_service: "2024-03"}\n',
        "q.yaml")).server_class("H100")  # fmt: skip
    # 4.520833 x 12 = 54.249996 months; September 2028 (age 54) keeps 0.249996 of
    # 50,000 / 54.249996 = 921.659... a month -> 230.41
    assert quarter.in_month(1, 2028, 9).rounded() == usd("230.41")
    assert DEFAULTS.facility.in_month(300, 1999, 1) == DEFAULTS.facility.monthly(300)


def test_nulls_wrong_version_and_tiny_lives_are_refused() -> None:
    doc = parse_document(
        "version: true\nfacility: null\ngpu_servers: {H100: null, H200: {life_years: 0.01}}\n"
        "shadow_price_per_gpu_hour: {H100: null}\n"
        "opex_per_mw_year: 5\nfacility_x: 1\n",
        "nulls.yaml",
    )
    with pytest.raises(InvalidInput) as caught:
        parse_assumptions(doc)
    got = {(p.location, p.field) for p in caught.value.problems}
    assert got == {
        ("nulls.yaml:1", "version"),
        ("nulls.yaml:2", "facility"),
        ("nulls.yaml:3", "gpu_servers.H100"),
        ("nulls.yaml:3", "gpu_servers.H200.life_years"),
        ("nulls.yaml:4", "shadow_price_per_gpu_hour.H100"),
        ("nulls.yaml:6", "facility_x"),
    }


def test_in_service_must_be_a_month() -> None:
    doc = parse_document("version: 1\nfacility: {in_service: 2024-03-01}\n", "d.yaml")
    with pytest.raises(InvalidInput, match=r"facility\.in_service"):
        parse_assumptions(doc)


def problems(text: str, name: str = "a.yaml") -> list[tuple[str, str, object, str]]:
    """Every problem of the file, whole: (location, field, value, message)."""
    with pytest.raises(InvalidInput) as caught:
        parse_assumptions(parse_document(text, name))
    return [(p.location, p.field, p.value, p.message) for p in caught.value.problems]


MONTH_RULE = "must be a month written YYYY-MM (1900-01 to 2199-12), in quotes"


def test_every_mistake_word_for_word() -> None:
    got = problems(
        "version: 2\n"  # 1
        "opex_per_mw_year: 0.001\n"  # 2
        "facility: {capex_per_gpu: 1, life_years: 100.5}\n"  # 3
        "gpu_servers:\n"  # 4
        "  H100: {capex_per_gpu: -1, life_years: 0.49}\n"  # 5
        "  H200: {in_service: '2024-3'}\n"  # 6
        "  X9: {life_years: 3}\n"  # 7
        "  'x-': {capex_per_gpu: 1, life_years: 1}\n"  # 8
        "  B200: null\n"  # 9
        "shadow_price_per_gpu_hour: {H100: -1, 'a b': 1, H200: null, B200: 1.005}\n"  # 10
        "discount_rate_per_year: 1.5\n"  # 11
    )
    model_rule = (
        "invalid GPU model name: letters, digits, '.', '_' or '-', 1-63 characters, "
        "alphanumeric at both ends"
    )
    assert got == [
        ("a.yaml:1", "version", 2, "unsupported format version; use 1"),
        ("a.yaml:2", "opex_per_mw_year", Decimal("0.001"),
         "has more than 2 decimal places; refusing to round"),
        ("a.yaml:3", "facility.capex_per_gpu", 1,
         "unknown field; expected one of: capex_per_mw, in_service, life_years"),
        ("a.yaml:3", "facility.life_years", Decimal("100.5"), "must be at most 100"),
        ("a.yaml:5", "gpu_servers.H100.capex_per_gpu", Decimal(-1), "must be at least 0"),
        ("a.yaml:5", "gpu_servers.H100.life_years", Decimal("0.49"), "must be at least 0.5"),
        ("a.yaml:6", "gpu_servers.H200.in_service", "2024-3", MONTH_RULE),
        ("a.yaml:7", "gpu_servers.X9.capex_per_gpu", None, "is required"),
        ("a.yaml:8", "gpu_servers.x-", "x-", model_rule),
        ("a.yaml:9", "gpu_servers.B200", None,
         "has no value: give capex_per_gpu and/or life_years"),
        ("a.yaml:10", "shadow_price_per_gpu_hour.H100", Decimal(-1), "must be at least 0"),
        ("a.yaml:10", "shadow_price_per_gpu_hour.a b", "a b", model_rule),
        ("a.yaml:10", "shadow_price_per_gpu_hour.H200", None,
         "has no value: give a price per GPU-hour"),
        ("a.yaml:10", "shadow_price_per_gpu_hour.B200", Decimal("1.005"),
         "has more than 2 decimal places; refusing to round"),
        ("a.yaml:11", "discount_rate_per_year", Decimal("1.5"), "must be at most 1"),
    ]  # fmt: skip


def test_the_top_of_the_file() -> None:
    assert problems("", "empty.yaml") == [("empty.yaml", "file", "empty.yaml", "is empty")]
    assert problems("- 1\n") == [("a.yaml:1", "", [1], "must be a mapping of field: value")]
    assert problems("opex_per_mw_year: 5\n") == [("a.yaml:1", "version", None, "is required")]
    # a null version is reported once, as required (not also as a field with no value)
    assert problems("version: null\n") == [("a.yaml:1", "version", None, "is required")]
    assert problems("version: '1'\n") == [
        ("a.yaml:1", "version", "1", "unsupported format version; use 1")
    ]
    assert problems("version: true\n") == [
        ("a.yaml:1", "version", True, "unsupported format version; use 1")
    ]
    nulls = "version: 1\ncurrency: null\nopex_per_mw_year: null\ndiscount_rate_per_year: null\n"
    keep = "has no value; leave the field out to keep the default"
    assert problems(nulls) == [
        ("a.yaml:2", "currency", None, keep),
        ("a.yaml:3", "opex_per_mw_year", None, keep),
        ("a.yaml:4", "discount_rate_per_year", None, keep),
    ]


def test_the_wrong_shapes_of_sections() -> None:
    assert problems("version: 1\nfacility: 5\ngpu_servers: [H100]\n"
                    "shadow_price_per_gpu_hour: 2\n") == [
        ("a.yaml:2", "facility", 5, "must be a mapping of field: value"),
        ("a.yaml:3", "gpu_servers", ["H100"],
         "must be a mapping of GPU model: {capex_per_gpu, life_years}"),
        ("a.yaml:4", "shadow_price_per_gpu_hour", 2,
         "must be a mapping of GPU model: price per GPU-hour"),
    ]  # fmt: skip


def test_a_bad_currency_is_the_only_problem_reported() -> None:
    # the currency is refused, so the figures stay in USD and need not all be given
    assert problems("version: 1\ncurrency: EURO\n") == [
        ("a.yaml:2", "currency", "EURO", "not a known ISO 4217 currency code (e.g. USD)")
    ]
    # USD named, as the defaults are: nothing else needed
    usd_file = parse_assumptions(parse_document("version: 1\ncurrency: USD\n", "u.yaml"))
    assert usd_file.currency == "USD" and usd_file.server_class("H100").capex == usd("50000")


def test_another_currency_word_for_word_and_a_whole_file_in_it() -> None:
    assert problems("version: 1\ncurrency: EUR\nfacility: {capex_per_mw: 1, life_years: 1}\n"
                    ) == [
        ("a.yaml:1", "opex_per_mw_year", None, "is required when currency is EUR (the defaults "
         "are in USD)"),
        ("a.yaml:1", "gpu_servers", None, "is required when currency is EUR (the defaults are "
         "in USD)"),
        ("a.yaml:1", "shadow_price_per_gpu_hour", None, "is required when currency is EUR (the "
         "defaults are in USD)"),
    ]  # fmt: skip
    got = parse_assumptions(parse_document(
        "version: 1\ncurrency: EUR\nopex_per_mw_year: 900000\n"
        "facility: {capex_per_mw: 10000000, life_years: 25}\n"
        "gpu_servers: {H100: {capex_per_gpu: 45000, life_years: 6}}\n"
        "shadow_price_per_gpu_hour: {H100: 1.80}\n", "eur.yaml"))  # fmt: skip
    eur = Money(Decimal("900000"), "EUR")
    assert got.currency == "EUR" and got.opex_per_mw_year == eur
    assert got.facility.capex == Money(Decimal(10_000_000), "EUR")
    assert got.facility.life_years == 25
    assert list(got.gpu_servers) == ["H100"]  # the USD defaults of other models are dropped
    assert got.server_class("H100").capex == Money(Decimal(45_000), "EUR")
    assert got.server_class("H100").life_years == 6
    assert dict(got.shadow_price_per_gpu_hour) == {"H100": Money(Decimal("1.80"), "EUR")}
    with pytest.raises(InvalidInput, match="gpu_servers='H200'"):
        got.server_class("H200")


def test_every_field_replaced_and_the_limits_taken() -> None:
    got = parse_assumptions(parse_document(
        "version: 1\nopex_per_mw_year: 0\n"
        "facility: {capex_per_mw: 0.01, life_years: 100, in_service: '1900-01'}\n"
        "gpu_servers:\n"
        "  H100: {capex_per_gpu: 0, life_years: 0.5, in_service: '2199-12'}\n"
        "  H200: {in_service: '2026-10'}\n"
        "  MI300X: {capex_per_gpu: 20000.50, life_years: 4, in_service: '2025-01'}\n"
        "shadow_price_per_gpu_hour: {H100: 0, H200: 2.75}\n"
        "discount_rate_per_year: 1\n", "all.yaml"))  # fmt: skip
    assert got.opex_per_mw_year == usd("0")
    assert (got.facility.name, got.facility.basis) == ("facility", "facility_mw")
    assert got.facility.capex == usd("0.01") and got.facility.life_years == 100
    assert got.facility.in_service == (1900, 1)
    h100 = got.server_class("H100")
    assert (h100.capex, h100.life_years, h100.in_service) == (usd("0"), Decimal("0.5"), (2199, 12))
    h200 = got.server_class("H200")  # only the month given: the default capex and life kept
    assert (h200.capex, h200.life_years, h200.in_service) == (usd("50000"), Decimal(5), (2026, 10))
    assert got.server_class("MI300X") == AssetClass(
        "MI300X servers", "gpu", usd("20000.50"), Decimal(4), "MI300X", (2025, 1)
    )
    assert got.shadow_price("H100") == usd("0") and got.shadow_price("H200") == usd("2.75")
    assert got.shadow_price("B200") == usd("3.50")  # not given: the default
    assert got.discount_rate_per_year == 1
    rate0 = parse_assumptions(parse_document("version: 1\ndiscount_rate_per_year: 0\n", "r"))
    assert rate0.discount_rate_per_year == 0
    assert DEFAULTS.discount_rate_per_year == Decimal("0.08")


def test_files_read_one_over_another_keep_their_names() -> None:
    first = parse_assumptions(parse_document("version: 1\nopex_per_mw_year: 2\n", "one.yaml"))
    both = parse_assumptions(
        parse_document("version: 1\ndiscount_rate_per_year: 0.1\n", "two.yaml"), first
    )
    assert both.sources == ("one.yaml", "two.yaml")
    assert both.opex_per_mw_year == usd("2") and both.discount_rate_per_year == Decimal("0.1")


@pytest.mark.parametrize(
    "month", ["2024-3", "24-03", "2024-13", "2024-00", "1899-12", "2200-01", "2024/03",
              "2024-03-01", "20x4-03", "2024-0x", "-03", "\uff12\uff10\uff12\uff14-03", " 2024-03"],
)  # fmt: skip
def test_in_service_months_refused(month: str) -> None:
    text = f"version: 1\nfacility: {{in_service: '{month}'}}\n"
    assert problems(text) == [("a.yaml:2", "facility.in_service", month, MONTH_RULE)]


def test_an_in_service_that_is_not_text_is_refused() -> None:
    text = "version: 1\nfacility: {in_service: 202403}\n"
    assert problems(text) == [("a.yaml:2", "facility.in_service", 202403, MONTH_RULE)]


def test_depreciation_across_a_year_end_and_a_life_of_half_a_year() -> None:
    """From November 2025 for 0.5 years = 6 months: November 2025 (age 0) to April 2026
    (age 5); 6,000 a GPU / 6 = 1,000.00 a GPU-month."""
    doc = parse_document(
        "version: 1\ngpu_servers:\n  H100: {capex_per_gpu: 6000, life_years: 0.5, "
        'in_service: "2025-11"}\n',
        "half.yaml",
    )
    h100 = parse_assumptions(doc).server_class("H100")
    assert h100.monthly(3) == usd("3000")
    assert h100.in_month(1, 2025, 10) == usd("0")  # age -1
    assert h100.in_month(1, 2025, 12) == usd("1000")  # age 1
    assert h100.in_month(2, 2026, 1) == usd("2000")  # age 2, across the year's end
    assert h100.in_month(1, 2026, 4) == usd("1000")  # age 5, the last whole month
    assert h100.in_month(1, 2026, 5) == usd("0")  # age 6: nothing left
    assert h100.in_month(1, 2027, 1) == usd("0")  # age 14, long after
    assert h100.in_month(1, 2024, 12) == usd("0")  # a year before
    assert h100.in_month(1, 2025, 10).currency == "USD"


def test_opex_is_a_twelfth_of_the_year_on_the_facility_mw() -> None:
    # USD 1,000,000 x 1.5 MW / 12 = 125,000
    assert DEFAULTS.opex_month(Decimal("1.5")) == usd("125000")


def test_an_empty_field_of_an_asset_class_is_refused_not_taken_as_the_default() -> None:
    keep = "has no value; leave the field out to keep the default"
    assert problems(
        "version: 1\nfacility: {capex_per_mw: null, life_years: null}\n"
        "gpu_servers:\n  H100: {in_service: null}\n  MI300X: {capex_per_gpu: 1, "
        "life_years: null, in_service: null}\n"
    ) == [
        ("a.yaml:2", "facility.capex_per_mw", None, keep),
        ("a.yaml:2", "facility.life_years", None, keep),
        ("a.yaml:4", "gpu_servers.H100.in_service", None, keep),
        ("a.yaml:5", "gpu_servers.MI300X.life_years", None, "is required"),
        ("a.yaml:5", "gpu_servers.MI300X.in_service", None, keep),
    ]


def test_every_default_as_domain_md_gives_it() -> None:
    """DOMAIN.md §6 (the comments in assumptions.py say which figure is whose)."""
    assert DEFAULTS.currency == "USD" and DEFAULTS.sources == ()
    assert DEFAULTS.opex_per_mw_year == usd("1000000")
    assert DEFAULTS.facility == AssetClass("facility", "facility_mw", usd("11500000"), Decimal(20))
    capex = {"H100": "50000", "H200": "50000", "B200": "41666.67", "GB200": "41666.67",
             "GB300": "41666.67"}  # fmt: skip
    assert dict(DEFAULTS.gpu_servers) == {
        model: AssetClass(f"{model} servers", "gpu", usd(amount), Decimal(5), model)
        for model, amount in capex.items()
    }
    assert dict(DEFAULTS.shadow_price_per_gpu_hour) == {
        "H100": usd("2.00"), "H200": usd("2.50"), "B200": usd("3.50"), "GB200": usd("3.50"),
        "GB300": usd("3.50")}  # fmt: skip
    assert DEFAULTS.discount_rate_per_year == Decimal("0.08")


def test_a_second_file_keeps_the_first_ones_in_service_month_and_capex_takes_cents() -> None:
    first = parse_assumptions(parse_document(
        "version: 1\ngpu_servers: {H100: {in_service: '2025-04'}}\n", "one.yaml"))  # fmt: skip
    text = "version: 1\ngpu_servers: {H100: {capex_per_gpu: 49999.99}}\n"
    second = parse_assumptions(parse_document(text, "two.yaml"), first)
    h100 = second.server_class("H100")
    assert (h100.capex, h100.life_years, h100.in_service) == (
        usd("49999.99"), Decimal(5), (2025, 4))  # fmt: skip
    assert problems("version: 1\ngpu_servers: {H100: {capex_per_gpu: 1.001}}\n") == [
        ("a.yaml:2", "gpu_servers.H100.capex_per_gpu", Decimal("1.001"),
         "has more than 2 decimal places; refusing to round")]  # fmt: skip

"""Economic assumptions: DOMAIN.md §6 defaults, monthly figures by hand, an overriding file
taken field by field, and a file with mistakes refused whole with every one located."""

from decimal import Decimal

import pytest

from neocloud.adapters.yamlfile import parse_document
from neocloud.domain.economics.assumptions import DEFAULTS, parse_assumptions
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
    with pytest.raises(InvalidInput, match="gpu_servers='Z1'"):
        DEFAULTS.server_class("Z1")
    with pytest.raises(InvalidInput, match="shadow_price_per_gpu_hour='Z1'"):
        DEFAULTS.shadow_price("Z1")


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

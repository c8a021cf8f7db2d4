"""``neocloud deal quote`` on each database, on the reference fleet; own demand displaced
from the forecast of examples/own-demand.csv at --quantile."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

from tests.cli.test_cli import neocloud
from tests.cli.test_risk_cli import DEMAND, plan_forecast

CENT = Decimal("0.01")
H100_SHADOW = Decimal("2.00")  # USD per GPU-hour, the default (DOMAIN.md §6: 1-year reserved)
JANUARY_H = 744  # 31 days in Chicago

QUOTE = ("deal", "quote", "--site", "memphis-1", "--from", "2027-01", "--months", "12",
         "--notice-days", "90")  # fmt: skip


def test_quote_of_10_mw(loaded: dict[str, str]) -> None:
    code, out, err = neocloud(loaded, *QUOTE, "--mw", "10", "--json", "--own-gpus", "0")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["deliverable"] is True and doc["facility_kw"] == "10000"
    # January 2027 in Chicago: 31 days, 744 h; 10 MW x 744 h = 7,440 MWh x USD 67.90
    assert doc["first_month_floor"]["energy"] == "505176.00"
    assert doc["first_month_floor"]["opex"] == "833333.33"  # USD 1 M per MW-year / 12 x 10
    assert doc["first_month_floor"]["displaced_own_use"] == "0.00"  # flat own demand of 0
    # no own demand: keeping the block is worth nothing, so leasing wins at any fee > energy
    assert doc["lease_or_keep"]["keep_pv"] == "0.00"
    assert float(doc["lease_or_keep"]["advantage_of_leasing"]) > 0
    code, out, _ = neocloud(loaded, *QUOTE, "--mw", "10", "--json", "--hazard", "0",
                            "--own-gpus", "0")  # fmt: skip
    assert json.loads(out)["lease_or_keep"]["p_runs_full_term"] == "1.0000"
    code, out, _ = neocloud(loaded, *QUOTE, "--mw", "10", "--demand", DEMAND)
    assert code == 0 and "fee floor a month" in out and "lease - keep" in out
    assert "own demand: forecast of own-demand.csv: GB200, H100, H200" in out


def _cents(x: Decimal) -> str:
    return str(x.quantize(CENT, rounding=ROUND_HALF_UP))


def test_displaced_own_demand_is_the_forecast_at_the_quantile(loaded: dict[str, str]) -> None:
    forecast = plan_forecast(loaded)["H100"]["2027-01"]  # forecast from 2026-11
    block = (*QUOTE, "--gpus", "64000", "--model", "H100", "--demand", DEMAND, "--json")
    code, out, err = neocloud(loaded, *block)  # --quantile 0.9 by default
    assert code == 0, err
    doc = json.loads(out)
    assert doc["own_demand_source"] == "forecast of own-demand.csv"
    january = doc["displaced_own_gpus"][0]
    assert january["month"] == "2027-01" and len(doc["displaced_own_gpus"]) == 12
    gpus = Decimal(january["gpus"])
    # the forecast's own P90 (39,487.5, under the block's 64,000 GPUs), to its 0.1 GPU
    assert abs(gpus - Decimal(str(forecast["p90_gpus"]))) <= Decimal("0.05")
    # the floor's displaced value: P90 GPUs x 744 h x USD 2.00 (= 1,488 USD per GPU)
    assert doc["first_month_floor"]["displaced_own_use"] == _cents(gpus * JANUARY_H * H100_SHADOW)
    assert abs(Decimal(doc["first_month_floor"]["displaced_own_use"])
               - Decimal(str(forecast["p90_gpus"])) * 1488) <= Decimal("0.05") * 1488  # fmt: skip
    # at the median the block displaces the forecast's mean
    code, out, _ = neocloud(loaded, *block, "--quantile", "0.5")
    median = Decimal(json.loads(out)["displaced_own_gpus"][0]["gpus"])
    assert abs(median - Decimal(str(forecast["mean_gpus"]))) <= Decimal("0.05")
    # a block smaller than own demand displaces all of itself: 1,000 x 744 h x USD 2.00
    small = (*QUOTE, "--gpus", "1000", "--model", "H100", "--demand", DEMAND, "--json")
    code, out, _ = neocloud(loaded, *small)
    doc = json.loads(out)
    assert doc["displaced_own_gpus"][0]["gpus"] == "1000"
    assert doc["first_month_floor"]["displaced_own_use"] == "1488000.00"
    assert Decimal(doc["lease_or_keep"]["keep_pv"]) > 0


def test_quote_own_demand_refused_outside_the_forecast_or_given_twice(
    loaded: dict[str, str],
) -> None:
    base = ("deal", "quote", "--site", "memphis-1", "--notice-days", "90", "--mw", "10")
    code, _, err = neocloud(loaded, *base, "--from", "2029-06", "--months", "12", "--demand",
                            DEMAND)  # fmt: skip
    assert code == 2 and "--from/--months" in err and "2030-05" in err and "ends 2029-10" in err
    code, _, err = neocloud(loaded, *QUOTE, "--mw", "10", "--demand", DEMAND, "--own-gpus", "5")
    assert code == 2 and "not both" in err
    code, _, err = neocloud(loaded, *QUOTE, "--mw", "10")  # the metered pool: no telemetry
    assert code == 2 and "no metered internal pool" in err and "--demand" in err


def test_quote_refuses_a_negative_discount_rate_and_a_bad_hazard(loaded: dict[str, str]) -> None:
    code, _, err = neocloud(loaded, *QUOTE, "--mw", "10", "--discount-rate", "-0.05")
    assert code == 2 and "discount_rate" in err and "-0.05" in err
    code, _, err = neocloud(loaded, *QUOTE, "--mw", "10", "--hazard", "1.5")
    assert code == 2 and "hazard" in err and "1.5" in err
    code, _, err = neocloud(loaded, *QUOTE, "--gpus", "64", "--model", "H100", "--months", "0")
    assert code == 2 and "months" in err

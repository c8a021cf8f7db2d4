"""``neocloud risk simulate`` on each database: the reference deal under a walk-away
hazard, own demand drawn from the forecast of examples/own-demand.csv; the same seed gives
the same bytes; a bad hazard file, a run beyond the forecast and two sources of own demand
are refused, named."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES

DEAL = str(EXAMPLES / "agreements" / "memphis-lease.yaml")
DEMAND = str(EXAMPLES / "own-demand.csv")  # 2022-11..2026-10: the forecast starts 2026-11
NOW = "2026-11-01T05:00:00Z"
# Facility kW per GPU at the fleet's typical draw (examples/fleet.yaml, DOMAIN.md §2):
# GPU W x 1.3 server overhead x PUE 1.15.
KW_PER_GPU = {"H100": 0.7 * 1.3 * 1.15, "H200": 0.7 * 1.3 * 1.15, "GB200": 1.2 * 1.3 * 1.15}


def plan_forecast(env: dict[str, str]) -> dict[str, dict[str, dict[str, float]]]:
    """Model -> month -> the forecast's own figures, read from ``plan forecast --json``."""
    code, out, err = neocloud(env, "plan", "forecast", "--site", "memphis-1", "--demand", DEMAND,
                              "--json")  # fmt: skip
    assert code == 0, err
    return {m["gpu_model"]: {f["month"]: f for f in m["forecast"]}
            for m in json.loads(out)["models"]}  # fmt: skip


def signed(loaded: dict[str, str]) -> dict[str, str]:
    env = {**loaded, "NEOCLOUD_NOW": "2026-11-01T05:00:00Z"}
    assert neocloud(env, "agreement", "create", DEAL)[0] == 0
    assert neocloud(env, "agreement", "sign", "memphis-lease", "--at", "2026-05-03")[0] == 0
    return env


def test_same_seed_same_bytes_and_zero_hazard(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    args = ("risk", "simulate", "--site", "memphis-1", "--paths", "3000", "--demand", DEMAND,
            "--seed", "42", "--months", "12", "--from", "2027-01", "--json")  # fmt: skip
    first, second = neocloud(env, *args), neocloud(env, *args)
    assert first[0] == 0, first[2]
    assert first[1] == second[1]
    doc = json.loads(first[1])
    assert doc["hazard_per_month"] == {"memphis-lease": "0.01"}
    assert doc["own_demand"]["source"] == "forecast of own-demand.csv"
    # the run's months are the forecast's 3rd to 14th (it starts 2026-11, the run 2027-01),
    # each with the forecast's own mean and sigma (plan forecast --json rounds to 0.1 GPU)
    expected = plan_forecast(env)
    assert sorted(m["gpu_model"] for m in doc["own_demand"]["models"]) == sorted(expected)
    for model in doc["own_demand"]["models"]:
        months = model["months"]
        assert [m["month"] for m in months] == [f"2027-{i:02d}" for i in range(1, 13)]
        for m in months:
            want = expected[model["gpu_model"]][m["month"]]
            assert abs(float(m["mean_gpus"]) - want["mean_gpus"]) <= 0.05
            assert abs(float(m["sigma_gpus"]) - want["sigma_gpus"]) <= 0.05
    assert neocloud(env, *args[:-2], "43", "--json")[1] != first[1]
    zero = tmp_path / "zero.yaml"
    zero.write_text("version: 1\ndefault: 0\n")
    code, out, err = neocloud(env, *args, "--hazard", str(zero))
    assert code == 0, err
    for month in json.loads(out)["months"]:
        band = month["revenue"]
        assert band["p5"] == band["p50"] == band["p95"] == "1250000000.00"
    assert json.loads(out)["total_revenue"]["p5"] == "15000000000.00"  # 12 x 1.25 B


def test_own_demand_from_the_forecast_is_served_from_capacity_not_leased(
    loaded: dict[str, str],
) -> None:
    """No agreement: idle = the site's 300 MW facility - own demand. Own demand is normal
    (the forecast's mean and sigma per model, far from 0 and below 300 MW), so the mean idle
    MW is 300 - sum(mean GPUs x kW per GPU) / 1,000, within 4 standard errors."""
    env = {**loaded, "NEOCLOUD_NOW": NOW}
    code, out, err = neocloud(env, "risk", "simulate", "--site", "memphis-1", "--demand", DEMAND,
                              "--paths", "20000", "--months", "3", "--json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    expected = plan_forecast(env)
    assert [m["month"] for m in doc["months"]] == ["2026-11", "2026-12", "2027-01"]  # --from: now
    for month in doc["months"]:
        own_kw = sum(f[month["month"]]["mean_gpus"] * KW_PER_GPU[model]
                     for model, f in expected.items())  # fmt: skip
        idle = month["idle_mw"]
        assert abs(float(idle["mean"]) - (300 - own_kw / 1000)) <= 4 * float(idle["stderr"]) + 0.01
        assert float(idle["p5"]) < float(idle["p50"]) < float(idle["p95"]) < 300


def test_own_demand_is_refused_outside_the_forecast_or_given_twice(
    loaded: dict[str, str],
) -> None:
    env = signed(loaded)
    base = ("risk", "simulate", "--site", "memphis-1", "--paths", "100")
    # the forecast covers 2026-11..2029-10 (36 months after 2026-10)
    code, _, err = neocloud(env, *base, "--demand", DEMAND, "--from", "2029-01", "--months", "12")
    assert code == 2 and "--from/--months" in err and "2029-12" in err and "ends 2029-10" in err
    code, _, err = neocloud(env, *base, "--demand", DEMAND, "--from", "2022-01", "--months", "3")
    assert code == 2 and "--from" in err and "2022-11" in err
    code, _, err = neocloud(env, *base, "--demand", DEMAND, "--own-gpus", "60000")
    assert code == 2 and "--demand" in err and "not both" in err
    # without --demand: the metered internal pool, which this store has no telemetry of
    code, _, err = neocloud(env, *base, "--months", "3")
    assert code == 2 and "no metered internal pool" in err and "--demand" in err
    # flat own demand stays an explicit alternative
    code, out, err = neocloud(env, *base, "--months", "2", "--from", "2027-01", "--own-gpus",
                              "60000", "--own-sigma-gpus", "20000", "--own-model", "H100",
                              "--json")  # fmt: skip
    assert code == 0, err
    (flat,) = json.loads(out)["own_demand"]["models"]
    assert flat["gpu_model"] == "H100"
    assert flat["months"] == [{"month": m, "mean_gpus": "60000.0", "sigma_gpus": "20000.0"}
                              for m in ("2027-01", "2027-02")]  # fmt: skip


def test_bad_hazard_file_names_field_value_and_line(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    bad = tmp_path / "hazard.yaml"
    bad.write_text("version: 1\ndefault: 0.01\nagreements:\n  memphis-lease: 1.5\n")
    base = ("risk", "simulate", "--site", "memphis-1", "--demand", DEMAND, "--hazard", str(bad))
    code, _, err = neocloud(env, *base)
    assert code == 2
    assert "agreements.memphis-lease" in err and "1.5" in err and "hazard.yaml:4" in err
    bad.write_text("version: 1\nagreements:\n  nobody: 0.1\n")
    code, _, err = neocloud(env, *base)
    assert code == 2 and "nobody" in err


def test_table_and_charts(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    code, out, err = neocloud(env, "risk", "simulate", "--site", "memphis-1", "--paths", "2000",
                              "--months", "6", "--from", "2027-01", "--demand", DEMAND,
                              "--charts", str(tmp_path / "charts"))  # fmt: skip
    assert code == 0, err
    assert "2027-06" in out and "total revenue" in out
    assert "own demand: forecast of own-demand.csv: GB200, H100, H200" in out
    assert (tmp_path / "charts" / "risk-margin.png").stat().st_size > 0
    assert (tmp_path / "charts" / "risk-margin.svg").read_text().startswith("<?xml")

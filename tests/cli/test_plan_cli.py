"""``neocloud plan forecast`` and ``plan surplus`` on each database, on the reference fleet
(memphis-1: 108,800 H100, 99,200 H200, 8,640 GB200; PUE 1.15) with no agreement applied."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

from tests.cli.test_cli import neocloud

NOW = "2026-11-01T12:00:00Z"  # 07:00 in Chicago: November 2026 is the first month


def demand_csv(path: Path, model: str = "H100", level: float = 20_000) -> Path:
    """30 months, 2024-05..2026-10: a level, a yearly wave and a fixed wobble (no draws)."""
    rows = ["month,gpu_model,gpus"]
    for i in range(30):
        year, month0 = divmod(2024 * 12 + 4 + i, 12)
        gpus = level + 0.05 * level * math.sin(2 * math.pi * i / 12) + ((i * 37) % 11 - 5) * 40
        rows.append(f"{year}-{month0 + 1:02d},{model},{gpus:.1f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_forecast_json_and_charts(loaded: dict[str, str], tmp_path: Path) -> None:
    csv = demand_csv(tmp_path / "d.csv")
    code, out, err = neocloud(loaded, "plan", "forecast", "--site", "memphis-1", "--demand",
                              str(csv), "--months", "12", "--json", "--charts",
                              str(tmp_path / "charts"))  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    (model,) = doc["models"]
    assert model["gpu_model"] == "H100" and model["level_shift_at"] is None
    assert model["detection_delay_months"] == 3
    assert [m["month"] for m in model["forecast"]][::11] == ["2026-11", "2027-10"]
    assert model["backtest"]["nominal_pct"] == 80 and model["backtest"]["origins"] >= 1
    assert all(m["p10_gpus"] < m["mean_gpus"] < m["p90_gpus"] for m in model["forecast"])
    assert sorted(Path(p).name for p in doc["charts"]) == [
        "forecast-memphis-1-H100.png", "forecast-memphis-1-H100.svg"]  # fmt: skip
    code, out, _ = neocloud(loaded, "plan", "forecast", "--site", "memphis-1", "--demand",
                            str(csv), "--months", "3")  # fmt: skip
    assert code == 0 and "coverage" in out and "2027-01" in out


def test_surplus_json_by_model_in_gpus_and_mw(loaded: dict[str, str], tmp_path: Path) -> None:
    env = {**loaded, "NEOCLOUD_NOW": NOW}
    code, out, err = neocloud(env, "plan", "surplus", "--site", "memphis-1", "--quantile", "0.9",
                              "--demand", str(demand_csv(tmp_path / "d.csv")), "--months", "2",
                              "--json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    rows = {(r["month"], r["gpu_model"]): r for r in doc["months"]}
    assert sorted(rows) == [(m, g) for m in ("2026-11", "2026-12")
                            for g in ("GB200", "H100", "H200")]  # fmt: skip
    gb200 = rows[("2026-11", "GB200")]
    # no own demand for GB200: 8,640 - ceil(0.05 x 8,640) = 8,640 - 432 = 8,208 GPUs;
    # x 1,200 W x 1.3 = 12.80448 MW IT; x 1.15 = 14.725152 MW facility
    assert (gb200["own_demand_gpus"], gb200["reserve_gpus"], gb200["surplus_gpus"]) == (
        0, 432, 8208)  # fmt: skip
    assert Decimal(gb200["surplus_it_mw"]) == Decimal("12.80448")
    assert Decimal(gb200["surplus_facility_mw"]) == Decimal("14.725152")
    h100 = rows[("2026-11", "H100")]
    assert (h100["healthy_gpus"], h100["committed_gpus"], h100["reserve_gpus"]) == (
        108_800, 0, 5_440)  # fmt: skip
    assert 20_000 < h100["own_demand_gpus"] < 24_000  # ~20,000 at quantile 0.9
    assert h100["surplus_gpus"] == 108_800 - 5_440 - h100["own_demand_gpus"]


def test_a_shortfall_is_labelled(loaded: dict[str, str], tmp_path: Path) -> None:
    env = {**loaded, "NEOCLOUD_NOW": NOW}
    csv = demand_csv(tmp_path / "d.csv", "GB200", 9_000)  # more than the 8,640 installed
    code, out, err = neocloud(env, "plan", "surplus", "--site", "memphis-1", "--demand",
                              str(csv), "--months", "1", "--reserve-share", "0.02")  # fmt: skip
    assert code == 0, err
    assert "SHORTFALL" in out and "reserve 2 %" in out


def test_bad_input_is_refused_naming_field_and_value(
    loaded: dict[str, str], tmp_path: Path
) -> None:
    env = {**loaded, "NEOCLOUD_NOW": NOW}
    csv = str(demand_csv(tmp_path / "d.csv"))
    base = ("plan", "surplus", "--site", "memphis-1", "--demand", csv)
    for q in ("1", "0", "-0.5", "many"):
        code, _, err = neocloud(env, *base, "--quantile", q)
        assert code == 2 and "--quantile" in err and q in err, (q, err)
    code, _, err = neocloud(env, *base, "--reserve-share", "1.5")
    assert code == 2 and "reserve_share" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("month,gpu_model,gpus\n")
    code, _, err = neocloud(env, "plan", "forecast", "--site", "memphis-1", "--demand", str(empty))
    assert code == 2 and "empty.csv" in err and "no months of demand" in err
    other = tmp_path / "other.csv"
    other.write_text("month,gpu_model,gpus\n2026-01,MI300X,5\n")
    code, _, err = neocloud(env, "plan", "forecast", "--site", "memphis-1", "--demand", str(other))
    assert code == 2 and "MI300X" in err and "not installed" in err
    code, _, err = neocloud(env, "plan", "forecast", "--site", "memphis-1")
    assert code == 2 and "--demand" in err
    code, _, err = neocloud(env, "plan", "forecast", "--site", "nowhere", "--demand", csv)
    assert code != 0 and "nowhere" in err

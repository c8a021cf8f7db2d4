"""``neocloud risk simulate`` on each database: the reference deal under a walk-away
hazard; the same seed gives the same bytes; a bad hazard file is refused, located."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES

DEAL = str(EXAMPLES / "agreements" / "memphis-lease.yaml")


def signed(loaded: dict[str, str]) -> dict[str, str]:
    env = {**loaded, "NEOCLOUD_NOW": "2026-11-01T05:00:00Z"}
    assert neocloud(env, "agreement", "create", DEAL)[0] == 0
    assert neocloud(env, "agreement", "sign", "memphis-lease", "--at", "2026-05-03")[0] == 0
    return env


def test_same_seed_same_bytes_and_zero_hazard(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    args = ("risk", "simulate", "--site", "memphis-1", "--paths", "3000", "--seed", "42",
            "--months", "12", "--from", "2027-01", "--json")  # fmt: skip
    first, second = neocloud(env, *args), neocloud(env, *args)
    assert first[0] == 0, first[2]
    assert first[1] == second[1]
    doc = json.loads(first[1])
    assert doc["hazard_per_month"] == {"memphis-lease": "0.01"}
    assert neocloud(env, *args[:-2], "43", "--json")[1] != first[1]
    zero = tmp_path / "zero.yaml"
    zero.write_text("version: 1\ndefault: 0\n")
    code, out, err = neocloud(env, *args, "--hazard", str(zero))
    assert code == 0, err
    for month in json.loads(out)["months"]:
        band = month["revenue"]
        assert band["p5"] == band["p50"] == band["p95"] == "1250000000.00"
    assert json.loads(out)["total_revenue"]["p5"] == "15000000000.00"  # 12 x 1.25 B


def test_bad_hazard_file_names_field_value_and_line(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    bad = tmp_path / "hazard.yaml"
    bad.write_text("version: 1\ndefault: 0.01\nagreements:\n  memphis-lease: 1.5\n")
    code, _, err = neocloud(env, "risk", "simulate", "--site", "memphis-1", "--hazard", str(bad))
    assert code == 2
    assert "agreements.memphis-lease" in err and "1.5" in err and "hazard.yaml:4" in err
    bad.write_text("version: 1\nagreements:\n  nobody: 0.1\n")
    code, _, err = neocloud(env, "risk", "simulate", "--site", "memphis-1", "--hazard", str(bad))
    assert code == 2 and "nobody" in err


def test_table_and_charts(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    code, out, err = neocloud(env, "risk", "simulate", "--site", "memphis-1", "--paths", "2000",
                              "--months", "6", "--from", "2027-01", "--charts",
                              str(tmp_path / "charts"))  # fmt: skip
    assert code == 0, err
    assert "2027-06" in out and "total revenue" in out
    assert (tmp_path / "charts" / "risk-margin.png").stat().st_size > 0
    assert (tmp_path / "charts" / "risk-margin.svg").read_text().startswith("<?xml")

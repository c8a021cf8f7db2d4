"""``neocloud economics report`` and ``backlog`` on each database, for the reference site
(examples/fleet.yaml memphis-1) and deal. Figures worked by hand here and in
tests/unit/test_site_report.py: 300 MW, USD 67.90/MWh, 283.47 kg/MWh; 108,800 H100,
99,200 H200, 8,640 GB200; DOMAIN.md §6 defaults; USD 45.0 B over 1,127 days."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES

DEAL = str(EXAMPLES / "agreements" / "memphis-lease.yaml")
SITE = ("--site", "memphis-1")


def signed(env: dict[str, str]) -> dict[str, str]:
    env = {**env, "NEOCLOUD_NOW": "2026-11-01T05:00:00Z"}
    assert neocloud(env, "agreement", "create", DEAL)[0] == 0
    assert neocloud(env, "agreement", "sign", "memphis-lease", "--at", "2026-05-03")[0] == 0
    return env


def test_a_month_of_the_report_worked_by_hand(loaded: dict[str, str]) -> None:
    env = signed(loaded)
    code, out, err = neocloud(env, "economics", "report", *SITE, "--from", "2026-09",
                              "--to", "2026-09", "--json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["site"], doc["timezone"], doc["currency"]) == ("memphis-1", "America/Chicago",
                                                               "USD")  # fmt: skip
    assert doc["agreements"] == ["memphis-lease"]
    (sep,) = doc["months"]
    assert sep["period"] == "2026-09"
    assert sep["opex"] == "25000000.00"  # 300 MW x 1 M / 12
    assert sep["depreciation_facility"] == "14375000.00"  # 300 x 11.5 M / 240
    # 108,800 x 50,000 / 60; 99,200 x 50,000 / 60; 8,640 x 41,666.67 / 60
    assert sep["depreciation_servers"] == {"GB200": "6000000.48", "H100": "90666666.67",
                                           "H200": "82666666.67"}  # fmt: skip
    assert sep["depreciation"] == "193708333.82"
    # no telemetry in this database: the planned draw, 300 MW x 720 h = 216,000 MWh
    assert sep["energy_basis"] == "planned"
    assert Decimal(sep["facility_energy_kwh"]) == 216_000_000
    assert sep["energy_cost"] == "14666400.00"  # 216,000 x 67.90
    assert Decimal(sep["carbon_kg"]) == Decimal("61229520")  # 216,000 x 283.47
    # 45 B x 153 / 1127 = 6,109,139,307.90 less 45 B x 123 / 1127 = 4,911,268,855.37
    assert sep["recognized"] == "1197870452.53" and sep["billed"] == "1250000000.00"
    assert sep["recognized_notice_reading"] == "1250000000.00"
    # 1,197,870,452.53 - 14,666,400.00 - 25,000,000.00 - 193,708,333.82
    assert sep["margin"] == "964495718.71"
    assert sep["margin_notice_reading"] == "1016625266.18"  # 1.25 B - the same costs
    # at 1 October: 45 B - (2 x 0.625 + 3 x 1.25) B = 40 B; notice then ends service on
    # 30 December: October and November whole, 29/31 of December = 3,669,354,838.71
    assert sep["headline_backlog"] == "40000000000.00"
    assert sep["enforceable_backlog"] == "3669354838.71"
    # every GPU-hour of September: 216,640 GPUs x 720 h, none of it reported
    assert Decimal(sep["installed_gpu_hours"]) == 216_640 * 720
    assert Decimal(sep["unreported_gpu_hours"]) == 216_640 * 720
    assert "margin = recognized (straight-line" in doc["note"]


def test_recognized_over_the_whole_term_equals_billed_csv(loaded: dict[str, str]) -> None:
    env = signed(loaded)
    code, out, err = neocloud(env, "economics", "report", *SITE, "--from", "2026-04",
                              "--to", "2029-07", "--csv", "--no-telemetry")  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 40 and rows[0]["period"] == "2026-04"
    assert rows[0]["billed"] == "0.00" and rows[0]["headline_backlog"] == "45000000000.00"
    billed = sum(Decimal(r["billed"]) for r in rows)
    recognized = sum(Decimal(r["recognized"]) for r in rows)
    # 35 x 1.25 B + 2 x 0.625 B
    assert billed == recognized == Decimal("45000000000.00")
    assert rows[-1]["balance"] == "0.00" and rows[-1]["agreements"] == "0"
    # opex and depreciation run whether or not anything is leased
    assert {r["opex"] for r in rows} == {"25000000.00"}


def test_html_report_and_charts(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    page, charts = tmp_path / "memphis.html", tmp_path / "charts"
    code, _, err = neocloud(env, "economics", "report", *SITE, "--from", "2026-05",
                            "--to", "2026-10", "--html", str(page), "--charts", str(charts),
                            "--no-telemetry")  # fmt: skip
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    seen = Tags()
    seen.feed(text)
    seen.close()
    assert seen.count["table"] == 3 and seen.count["svg"] == 3 and seen.count["script"] == 0
    assert "<td>14375000.00</td>" in text and "<td>planned</td>" in text
    assert "<link" not in text and 'src="http' not in text  # nothing fetched from elsewhere
    names = sorted(p.name for p in charts.iterdir())
    assert names == [f"economics-{c}.{f}" for c in ("backlog", "energy", "revenue")
                     for f in ("png", "svg")]  # fmt: skip
    first = {p.name: p.read_bytes() for p in charts.iterdir()}
    again = tmp_path / "again"
    assert neocloud(env, "economics", "report", *SITE, "--from", "2026-05", "--to", "2026-10",
                    "--charts", str(again), "--no-telemetry", "--json")[0] == 0  # fmt: skip
    assert {p.name: p.read_bytes() for p in again.iterdir()} == first


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.count: dict[str, int] = {"table": 0, "svg": 0, "script": 0}

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.count:
            self.count[tag] += 1


BAD = """version: 1
opex_per_mw_year: -5
facility: {capex_per_mw: 11500000, life_years: 0}
shadow_price_per_gpu_hour: {H100: cheap}
colour: blue
"""


def test_bad_input_is_named_and_nothing_is_written(loaded: dict[str, str], tmp_path: Path) -> None:
    env = signed(loaded)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    page = tmp_path / "out.html"
    code, out, err = neocloud(env, "economics", "report", *SITE, "--from", "2026-09",
                              "--to", "2026-09", "--assumptions", str(bad),
                              "--html", str(page))  # fmt: skip
    assert code == 2 and out == "" and not page.exists()
    for where in ("bad.yaml:2", "bad.yaml:3", "bad.yaml:4", "bad.yaml:5"):
        assert where in err, err
    assert "opex_per_mw_year" in err and "life_years" in err and "colour" in err
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nopex_per_mw_year: 1200000\n", encoding="utf-8")
    code, out, _ = neocloud(env, "economics", "report", *SITE, "--from", "2026-09", "--to",
                            "2026-09", "--assumptions", str(good), "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["months"][0]["opex"] == "30000000.00"  # 300 x 1.2 M / 12
    assert json.loads(out)["assumptions"] == ["good.yaml"]
    cases = [
        (("--site", "nowhere", "--from", "2026-09", "--to", "2026-09"), 3, "nowhere"),
        ((*SITE, "--from", "2026-10", "--to", "2026-09"), 2, "--from='2026-10'"),
        ((*SITE, "--from", "2026-13", "--to", "2026-09"), 2, "--from='2026-13'"),
        ((*SITE, "--from", "2026-09", "--to", "Sept"), 2, "--to='Sept'"),
    ]
    for args, want, named in cases:
        code, _, err = neocloud(env, "economics", "report", *args, "--no-telemetry")
        assert (code, named in err) == (want, True), (args, code, err)


def test_backlog_at_a_date_and_month_by_month(loaded: dict[str, str]) -> None:
    env = signed(loaded)
    # the end of October 2026 (Chicago): 38.75 B headline; notice then runs to 30 January:
    # 2 x 1.25 B + 1.25 B x 29 / 31 = 3,669,354,838.709... -> 3,669,354,838.71
    for at in ("2026-11-01", "2026-11-01T05:00:00Z"):
        code, out, err = neocloud(env, "economics", "backlog", *SITE, "--at", at, "--json")
        assert code == 0, err
        rows = json.loads(out)["rows"]
        got = [(r["agreement"], r["headline_backlog"], r["enforceable_backlog"]) for r in rows]
        assert got == [
            ("memphis-lease", "38750000000.00", "3669354838.71"),
            ("total", "38750000000.00", "3669354838.71"),
        ]  # fmt: skip
    code, out, _ = neocloud(env, "economics", "backlog", *SITE, "--from", "2026-10", "--to",
                            "2026-11", "--csv")  # fmt: skip
    assert code == 0
    totals = [r for r in csv.DictReader(io.StringIO(out)) if r["agreement"] == "total"]
    # end of November: 38.75 - 1.25 = 37.5 B; notice on 1 Dec ends 1 Mar: 3 x 1.25 B
    assert [(r["period"], r["headline_backlog"], r["enforceable_backlog"]) for r in totals] == [
        ("2026-10", "38750000000.00", "3669354838.71"),
        ("2026-11", "37500000000.00", "3750000000.00"),
    ]  # fmt: skip
    code, _, err = neocloud(env, "economics", "backlog", *SITE, "--at", "2026-11-31")
    assert code == 2 and "--at" in err and "2026-11-31" in err
    code, _, err = neocloud(env, "economics", "backlog", *SITE, "--from", "2026-10")
    assert code == 2 and "--to" in err


def test_utilisation_splits_the_site_hours(loaded: dict[str, str]) -> None:
    """With the lease allocated (its ramp reaches all 3,370 racks by July), July's GPU-hours
    are all leased: 216,640 GPUs x 31 days x 24 h = 161,180,160, none in the pool."""
    env = signed(loaded)
    assert neocloud(env, "allocation", "apply", "memphis-lease")[0] == 0
    code, out, err = neocloud(env, "economics", "report", *SITE, "--from", "2026-07",
                              "--to", "2026-07", "--json")  # fmt: skip
    assert code == 0, err
    (july,) = json.loads(out)["months"]
    assert Decimal(july["installed_gpu_hours"]) == Decimal(july["leased_gpu_hours"]) == 161_180_160
    assert Decimal(july["unreported_gpu_hours"]) == 0 and july["internal_value"] == "0.00"

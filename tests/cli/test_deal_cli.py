"""``neocloud deal quote`` on each database, on the reference fleet."""

from __future__ import annotations

import json

from tests.cli.test_cli import neocloud

QUOTE = ("deal", "quote", "--site", "memphis-1", "--from", "2027-01", "--months", "12",
         "--notice-days", "90")  # fmt: skip


def test_quote_of_10_mw(loaded: dict[str, str]) -> None:
    code, out, err = neocloud(loaded, *QUOTE, "--mw", "10", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["deliverable"] is True and doc["facility_kw"] == "10000"
    # January 2027 in Chicago: 31 days, 744 h; 10 MW x 744 h = 7,440 MWh x USD 67.90
    assert doc["first_month_floor"]["energy"] == "505176.00"
    assert doc["first_month_floor"]["opex"] == "833333.33"  # USD 1 M per MW-year / 12 x 10
    assert doc["first_month_floor"]["displaced_own_use"] == "0.00"  # no own demand given
    # no own demand: keeping the block is worth nothing, so leasing wins at any fee > energy
    assert doc["lease_or_keep"]["keep_pv"] == "0.00"
    assert float(doc["lease_or_keep"]["advantage_of_leasing"]) > 0
    code, out, _ = neocloud(loaded, *QUOTE, "--mw", "10", "--json", "--hazard", "0")
    assert json.loads(out)["lease_or_keep"]["p_runs_full_term"] == "1.0000"
    code, out, _ = neocloud(loaded, *QUOTE, "--mw", "10")
    assert code == 0 and "fee floor a month" in out and "lease - keep" in out


def test_quote_refuses_a_negative_discount_rate_and_a_bad_hazard(loaded: dict[str, str]) -> None:
    code, _, err = neocloud(loaded, *QUOTE, "--mw", "10", "--discount-rate", "-0.05")
    assert code == 2 and "discount_rate" in err and "-0.05" in err
    code, _, err = neocloud(loaded, *QUOTE, "--mw", "10", "--hazard", "1.5")
    assert code == 2 and "hazard" in err and "1.5" in err
    code, _, err = neocloud(loaded, *QUOTE, "--gpus", "64", "--model", "H100", "--months", "0")
    assert code == 2 and "months" in err

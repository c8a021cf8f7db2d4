"""``neocloud economics revenue`` on each database: the reference deal's months, worked by
hand in tests/unit/test_recognition.py; here what the command shows of them."""

from __future__ import annotations

import json

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES

DEAL = str(EXAMPLES / "agreements" / "memphis-lease.yaml")


def test_revenue_json_csv_and_a_bad_month(loaded: dict[str, str]) -> None:
    env = {**loaded, "NEOCLOUD_NOW": "2026-11-01T05:00:00Z"}
    assert neocloud(env, "agreement", "create", DEAL)[0] == 0
    code, _, err = neocloud(env, "economics", "revenue", "--agreement", "memphis-lease")
    assert code == 2 and "is a draft" in err and "memphis-lease" in err
    assert neocloud(env, "agreement", "sign", "memphis-lease", "--at", "2026-05-03")[0] == 0
    code, out, err = neocloud(env, "economics", "revenue", "--agreement", "memphis-lease",
                              "--to", "2026-06", "--json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["currency"], doc["billing_timezone"]) == ("USD", "America/Chicago")
    # 45 B x 31 / 1127 days, then to 61 days: 2,435,669,920.14 - 1,237,799,467.61
    assert [(m["period"], m["billed"], m["recognized"], m["balance"]) for m in doc["months"]] == [
        ("2026-05", "625000000.00", "1237799467.61", "612799467.61"),
        ("2026-06", "625000000.00", "1197870452.53", "1185669920.14"),
    ]
    code, out, _ = neocloud(env, "economics", "revenue", "--agreement", "memphis-lease",
                            "--from", "2029-05", "--csv")  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == ("period,billed,recognized,balance,recognized_notice_reading,"
                                   "headline_backlog,enforceable_backlog")  # fmt: skip
    assert out.splitlines()[1].startswith("2029-05,1250000000.00,") and len(out.splitlines()) == 2
    assert out.splitlines()[1].split(",")[3] == "0.00"  # nothing left at the term's end
    code, _, err = neocloud(env, "economics", "revenue", "--agreement", "memphis-lease",
                            "--from", "2026-13")  # fmt: skip
    assert code != 0 and "2026-13" in err
    code, _, err = neocloud(env, "economics", "revenue", "--agreement", "memphis-lease",
                            "--from", "2027-01", "--to", "2026-01")  # fmt: skip
    assert code == 2 and "--from" in err and "2027-01" in err

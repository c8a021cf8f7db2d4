"""The reference deal through the CLI on each database: create, sign, close, invoices in
JSON / CSV / HTML, notice, value; and a bad agreement file that writes nothing."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES
from tests.unit.test_billing import BAD_DEAL

DEAL = str(EXAMPLES / "agreements" / "memphis-lease.yaml")
FEE = Decimal("1250000000.00")


@pytest.fixture
def deal(loaded: dict[str, str]) -> dict[str, str]:
    env = {**loaded, "NEOCLOUD_NOW": "2026-11-28T12:00:00Z"}
    assert neocloud(env, "agreement", "create", DEAL)[0] == 0
    code, out, _ = neocloud(
        env, "agreement", "sign", "memphis-lease", "--at", "2026-05-03T14:00:00-05:00"
    )
    assert code == 0 and "signed" in out
    return env


def close(env: dict[str, str], *periods: str) -> None:
    """Closes with availability recorded by hand (these tests meter nothing)."""
    for period in periods:
        code, _out, err = neocloud(
            env, "billing", "close", period, "--availability-source", "manual"
        )
        assert code == 0, err


def test_first_months_to_the_cent(deal: dict[str, str]) -> None:
    close(deal, "2026-05", "2026-06", "2026-07")
    _code, out, _ = neocloud(deal, "invoice", "list", "--json")
    invoices = json.loads(out)
    assert [(i["number"], i["period"], Decimal(i["total"])) for i in invoices] == [
        ("INV-neocloud-000001", "2026-05", FEE / 2),
        ("INV-neocloud-000002", "2026-06", FEE / 2),
        ("INV-neocloud-000003", "2026-07", FEE),
    ]
    may = invoices[0]
    assert [(x["kind"], Decimal(x["amount"])) for x in may["lines"]] == [
        ("capacity_fee", FEE),
        ("ramp_discount", -FEE / 2),
    ]


def test_invoice_formats(deal: dict[str, str], tmp_path: Path) -> None:
    close(deal, "2026-05")
    code, out, _ = neocloud(deal, "invoice", "show", "INV-neocloud-000001", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [Decimal(r["amount"]) for r in rows] == [FEE, -FEE / 2]
    page = tmp_path / "invoice.html"
    assert (
        neocloud(deal, "invoice", "show", "INV-neocloud-000001", "--html", "-o", str(page))[0] == 0
    )
    text = page.read_text()
    assert "INV-neocloud-000001" in text and "USD 625,000,000.00" in text
    code, out, _ = neocloud(deal, "invoice", "show", "INV-neocloud-000001")
    assert code == 0 and "625,000,000.00" in out


def test_closing_a_month_not_ended_is_refused(deal: dict[str, str]) -> None:
    code, _, err = neocloud(deal, "billing", "close", "2026-11", "--availability-source", "manual")
    assert code == 2 and "has not ended" in err


def test_an_sla_month_without_telemetry_is_not_invoiced_unless_told_manual(
    deal: dict[str, str],
) -> None:
    code, out, err = neocloud(deal, "billing", "close", "2026-05")
    assert (code, out) == (4, "")
    assert err == (
        "error: memphis-lease not invoiced: memphis-lease held no nodes in 2026-05 (allocation "
        "history), so its availability cannot be metered: allocate it, record the "
        "availability by hand, or close with the manual availability source\n"
    )
    code, _, err = neocloud(deal, "billing", "close", "2026-05", "--availability-source", "hourly")
    assert (code, err) == (
        2,
        "error: availability_source='hourly': must be one of auto, metered, manual\n",
    )
    code, out, _ = neocloud(deal, "billing", "close", "2026-05", "--availability-source", "manual")
    assert code == 0 and "issued INV-neocloud-000001" in out


def test_notice_and_value(deal: dict[str, str]) -> None:
    code, out, _ = neocloud(
        deal,
        "agreement",
        "notice",
        "memphis-lease",
        "--by",
        "tenant",
        "--at",
        "2026-11-02T18:00:00Z",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["effective_at"] == "2027-01-31T18:00:00+00:00"  # + 90 x 24 h
    code, out, _ = neocloud(
        deal, "agreement", "value", "memphis-lease", "--as-of", "2026-07-01T05:00:00Z", "--json"
    )
    value = json.loads(out)
    assert Decimal(value["headline_total"]) == 35 * FEE + 2 * FEE / 2
    assert Decimal(value["earned_to_date"]) == FEE  # May and June at half price
    # July to December in full, plus January 2027 up to the 31st 18:00Z: Chicago's January
    # starts Jan 1 06:00Z, so 30.5 of 31 days
    expected = 6 * FEE + (FEE * Decimal("30.5") / 31).quantize(Decimal("0.01"))
    assert Decimal(value["contracted_total"]) == FEE + expected
    code, _, err = neocloud(deal, "agreement", "notice", "memphis-lease", "--by", "operator")
    assert code == 6 and "notice_given" in err


def test_naive_instant_on_the_command_line(deal: dict[str, str]) -> None:
    code, _, err = neocloud(
        deal,
        "agreement",
        "notice",
        "memphis-lease",
        "--by",
        "tenant",
        "--at",
        "2026-11-02T18:00:00",
    )
    assert code == 2 and "naive" in err and "2026-11-02T18:00:00" in err


def test_bad_agreement_file_writes_nothing(loaded: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad-deal.yaml"
    bad.write_text(BAD_DEAL)
    code, _, err = neocloud(loaded, "agreement", "create", str(bad))
    assert code == 2
    for where in (
        "bad-deal.yaml:8",
        "bad-deal.yaml:10",
        "bad-deal.yaml:11",
        "bad-deal.yaml:13",
        "bad-deal.yaml:15",
    ):
        assert where in err
    code, out, _ = neocloud(loaded, "agreement", "list", "--json")
    assert json.loads(out) == []


def test_dates_on_the_command_line_and_money_in_json(deal: dict[str, str]) -> None:
    """``--at 2026-11-02`` is local midnight in the billing time zone (CST, UTC-6 that day);
    money in JSON keeps its cents."""
    close(deal, "2026-05")
    code, out, err = neocloud(
        deal, "agreement", "notice", "memphis-lease", "--by", "tenant", "--at", "2026-11-02",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    notice = json.loads(out)
    assert notice["given_at"] == "2026-11-02T06:00:00+00:00"
    assert notice["effective_at"] == "2027-01-31T06:00:00+00:00"  # 90 calendar days later
    _, out, _ = neocloud(deal, "agreement", "show", "memphis-lease", "--json")
    shown = json.loads(out)
    assert shown["capacity_released"]["at"] == "2027-01-31T06:00:00+00:00"
    assert shown["monthly_fee"] == "1250000000.00"
    code, out, _ = neocloud(
        deal, "agreement", "value", "memphis-lease", "--as-of", "2026-06-01", "--json"
    )
    value = json.loads(out)
    assert value["as_of"] == "2026-06-01T05:00:00+00:00"  # midnight CDT
    assert value["earned_to_date"] == "625000000.00"  # May at half price, cents kept
    assert value["billed_to_date"] == "625000000.00"
    _, out, _ = neocloud(deal, "invoice", "show", "INV-neocloud-000001", "--json")
    assert json.loads(out)["total"] == "625000000.00"
    code, _, err = neocloud(deal, "agreement", "sign", "memphis-lease", "--at", "2026-13-01")
    assert code == 2 and "at='2026-13-01'" in err
    _, out, _ = neocloud(deal, "agreement", "list", "--tenant", "nobody", "--json")
    assert json.loads(out) == []
    _, out, _ = neocloud(deal, "agreement", "list", "--site", "memphis-1", "--json")
    assert [a["key"] for a in json.loads(out)] == ["memphis-lease"]


def test_a_file_with_one_mistake_names_it(loaded: dict[str, str], tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(Path(DEAL).read_text().replace("currency: USD", "currency: USX"))
    code, _, err = neocloud(loaded, "agreement", "create", str(one))
    assert code == 2  # one line, the problem itself: no "1 problem(s)" summary before it
    assert err == (
        "error: one.yaml:20: agreement.currency='USX': not a known ISO 4217 currency code "
        "(e.g. USD)\n"
    )


def test_writing_where_nothing_can_be_written_is_one_clear_line(
    deal: dict[str, str], tmp_path: Path
) -> None:
    close(deal, "2026-05")
    missing = tmp_path / "no-such-folder" / "invoice.html"
    code, _, err = neocloud(
        deal, "invoice", "show", "INV-neocloud-000001", "--html", "-o", str(missing)
    )
    assert code == 2 and f"output='{missing}': cannot be written" in err
    code, _, err = neocloud(
        deal, "invoice", "credit-note", "INV-neocloud-000001",
        "--amount", "999999999999999999999999999999", "--reason", "x",
    )  # fmt: skip
    assert code == 2 and "must be less than 9,000,000,000,000" in err

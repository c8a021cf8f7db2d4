"""`neocloud metering`, `maintenance` and `allocation fail-node --failed-at` from the
command line, on both databases, over the month worked by hand in
``tests/integration/metering_case.py`` (its figures are worked in ``test_metering.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from neocloud.adapters.telemetry.store import ParquetStore
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreements, allocation
from neocloud.services.context import Context
from tests import factories
from tests.cli.test_cli import neocloud
from tests.integration import metering_case as case

JULY = "2027-07-02T00:00:00Z"  # the business clock: June is over


@pytest.fixture
def june(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The hand-worked June: site test-1, deal-1 allocated, maintenance, a failure, and
    its rollups in the store under NEOCLOUD_HOME."""
    settings = Settings(tmp_path, cli_env["NEOCLOUD_DATABASE_URL"], "tester")
    app = App(settings, FixedClock(datetime(2027, 7, 2, tzinfo=UTC)))
    assert neocloud(cli_env, "init")[0] == 0
    case.setup(app)
    case.write_rollups(ParquetStore(tmp_path / "telemetry"))
    app.engine.dispose()
    return {**cli_env, "NEOCLOUD_NOW": JULY}


def test_show_gives_the_hand_worked_availability_and_energy(june: dict[str, str]) -> None:
    code, out, err = neocloud(june, "metering", "show", "--agreement", "deal-1",
                              "--period", "2027-06", "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert Decimal(str(data["availability_ratio"])) == Decimal("0.995519")
    assert data["recorded"] is None and data["proposed_note"] is None
    # the facility energy at the test site's USD 67.90/MWh and 283.47 kg CO2/MWh
    facility_mwh = Decimal(str(data["facility_energy_kwh"])) / 1000
    assert data["energy_currency"] == "USD"
    assert Decimal(data["energy_cost"]) == (facility_mwh * Decimal("67.90")).quantize(
        Decimal("0.01"), ROUND_HALF_UP)  # fmt: skip
    assert Decimal(str(data["carbon_kg"])) == (facility_mwh * Decimal("283.47")).quantize(
        Decimal("0.001"), ROUND_HALF_UP)  # fmt: skip
    code, out, _ = neocloud(
        june, "metering", "show", "--agreement", "deal-1", "--period", "2027-06"
    )
    assert code == 0
    assert "99.5519 %" in out and "availability (per gpu)" in out


def test_explain_lists_the_causes_and_the_excluded_maintenance(june: dict[str, str]) -> None:
    args = ("metering", "explain", "--agreement", "deal-1", "--period", "2027-06")
    code, out, err = neocloud(june, *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    causes = {(d["node"], d["cause"]) for d in data["down"]}
    assert causes == {(case.A, "xid"), (case.B, "missing"), (case.B, "silent")}
    xid = next(d for d in data["down"] if d["cause"] == "xid")
    assert Decimal(str(xid["unit_s"])) == 600 * 60  # one GPU for 600 minutes
    assert [(x["node"], x["from"]) for x in data["excluded"]] == [
        (case.A, "2027-06-05T10:00:00+00:00")
    ]
    assert [(x["node"], x["from"], x["to"]) for x in data["failed"]] == [
        (case.A, "2027-06-10T00:00:00+00:00", "2027-06-10T03:00:00+00:00")
    ]
    code, out, _ = neocloud(june, *args)
    assert code == 0 and "excluded (announced maintenance): 1" in out


def test_a_month_closed_by_hand_shows_the_note_metering_would_propose(
    june: dict[str, str],
) -> None:
    """Typed 99.99 % (no credit); metered 99.5519 %: a credit note of 10 % of the fee."""
    assert neocloud(june, "agreement", "availability", "deal-1", "2027-05", "1")[0] == 0
    code, _, err = neocloud(june, "agreement", "availability", "deal-1", "2027-06", "0.9999")
    assert code == 0, err
    code, _, err = neocloud(june, "billing", "close", "2027-06", "--availability-source", "manual")
    assert code == 0, err
    code, out, _ = neocloud(june, "metering", "show", "--agreement", "deal-1",
                            "--period", "2027-06", "--json")  # fmt: skip
    proposed = json.loads(out)["proposed_note"]
    assert proposed["kind"] == "credit_note"
    assert Decimal(str(proposed["total"])) == Decimal("-123456.79")
    code, out, _ = neocloud(
        june, "metering", "show", "--agreement", "deal-1", "--period", "2027-06"
    )
    assert "by a credit note of USD -123,456.79" in " ".join(out.split())


def test_run_meters_every_agreement_of_the_site(june: dict[str, str]) -> None:
    code, out, err = neocloud(june, "metering", "run", "--period", "2027-06", "--json")
    assert code == 0, err
    (only,) = json.loads(out)
    assert only["agreement"] == "deal-1"
    assert Decimal(str(only["availability_ratio"])) == Decimal("0.995519")


def test_maintenance_announce_and_list(june: dict[str, str]) -> None:
    code, out, err = neocloud(june, "maintenance", "announce", "--site", "test-1",
                              "--nodes", "r0001-n[01-02]", "--from", "2027-08-01T00:00:00Z",
                              "--to", "2027-08-01T04:00:00Z", "--reason", "firmware")  # fmt: skip
    assert code == 0, err
    assert "maintenance of 2 node(s) of test-1" in out
    assert "announced 2027-07-02T00:00:00+00:00" in out
    code, out, err = neocloud(june, "maintenance", "announce", "--site", "test-1",
                              "--nodes", case.A, "--from", "2027-09-01T00:00:00Z",
                              "--to", "2027-09-02T00:00:00Z", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["nodes"] == [case.A] and json.loads(out)["reason"] == ""
    code, out, _ = neocloud(june, "maintenance", "list", "--site", "test-1", "--json")
    windows = json.loads(out)[:-1]
    assert len(windows) == 3  # the case's two, and this one
    assert windows[-1] == {
        "nodes": [case.A, case.B], "from": "2027-08-01T00:00:00+00:00",
        "to": "2027-08-01T04:00:00+00:00", "announced_at": "2027-07-02T00:00:00+00:00",
        "reason": "firmware",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--nodes", "r0009-n01"), "nodes='r0009-n01': names no node of site test-1"),
        (("--from", "2027-08-02T00:00:00Z"), "end='2027-08-01T04:00:00+00:00': must be after"),
        (("--from", "yesterday"), "from='yesterday': not an ISO 8601 date-time"),
        (("--site", "nowhere"), "nowhere"),
    ],
)
def test_maintenance_refuses_what_it_cannot_mean(
    june: dict[str, str], args: tuple[str, str], message: str
) -> None:
    base = {"--site": "test-1", "--nodes": case.A, "--from": "2027-08-01T00:00:00Z",
            "--to": "2027-08-01T04:00:00Z"}  # fmt: skip
    base.update(dict([args]))
    flat = [x for pair in base.items() for x in pair]
    code, _, err = neocloud(june, "maintenance", "announce", *flat)
    assert code != 0
    assert message in err
    _, out, _ = neocloud(june, "maintenance", "list", "--site", "test-1", "--json")
    assert len(json.loads(out)) == 2  # nothing written


def test_fail_node_counts_the_node_down_from_the_failure(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """deal-1 holds 4 racks of test-1 and keeps r0005 spare; r0002-n05 fails at 22:00 and
    is swapped at midnight: two hours down, whatever its telemetry says."""
    app = App(Settings(tmp_path, cli_env["NEOCLOUD_DATABASE_URL"], "tester"),
              FixedClock(datetime(2026, 9, 1, tzinfo=UTC)))  # fmt: skip
    assert neocloud(cli_env, "init")[0] == 0
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=8)))
    with app.uow().write() as uow:
        uow.sites.add(site)
        uow.commit()
    ctx = Context("ops", FixedClock(datetime(2026, 11, 1, tzinfo=UTC)))
    doc = factories.agreement_document(capacity={"gpus": 256, "gpu_model": "H100"})
    agreements.create_agreement(app.uow(), ctx, SourceDocument("d.yaml", doc))
    agreements.sign_agreement(app.uow(), ctx, "deal-1", datetime(2026, 10, 1, tzinfo=UTC))
    allocation.apply_for_agreement(app.uow(), ctx, "deal-1", Decimal("0.25"))
    app.engine.dispose()
    env = {**cli_env, "NEOCLOUD_NOW": "2027-03-01T00:00:00Z"}
    swap = ("allocation", "fail-node", "r0002-n05", "--site", "test-1",
            "--at", "2027-03-01T00:00:00Z")  # fmt: skip
    code, _, err = neocloud(env, *swap, "--failed-at", "2027-03-01T01:00:00Z")
    assert code == 2 and "failed_at='2027-03-01T01:00:00+00:00': is after the swap" in err
    code, out, err = neocloud(env, *swap, "--failed-at", "2027-02-28T22:00:00Z")
    assert code == 0, err
    assert "r0002-n05 -> maintenance; r0005-n01 (r0005) now serves deal-1" in out
    code, out, err = neocloud(env, "metering", "explain", "--agreement", "deal-1",
                              "--period", "2027-02", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["failed"] == [
        {"node": "r0002-n05", "from": "2027-02-28T22:00:00+00:00",
         "to": "2027-03-01T00:00:00+00:00"}
    ]  # fmt: skip


def test_a_truncated_store_file_is_refused_in_words(june: dict[str, str], tmp_path: Path) -> None:
    (first, *_) = ParquetStore(tmp_path / "telemetry").files("node_minutes", "test-1")
    first.write_bytes(first.read_bytes()[:300])
    code, out, err = neocloud(june, "metering", "show", "--agreement", "deal-1",
                              "--period", "2027-06")  # fmt: skip
    assert code == 2 and out == ""
    assert "NEOCLOUD_TELEMETRY_DIR=" in err and "holds a file that cannot be read" in err
    assert first.name in err and "Traceback" not in err


def test_site_hour_by_hour_and_what_it_refuses(june: dict[str, str]) -> None:
    """deal-1 holds both nodes (16 GPUs) all June: every hour is 16 GPU-hours leased."""
    args = ("metering", "site", "--site", "test-1", "--from", "2027-06-12T14:00:00Z")
    code, out, err = neocloud(june, *args, "--to", "2027-06-12T16:00:00Z", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [r["hour"] for r in data["rows"]] == [
        "2027-06-12T14:00:00+00:00", "2027-06-12T15:00:00+00:00"]  # fmt: skip
    assert {(r["installed"], r["leased"], r["internal"], r["idle"]) for r in data["rows"]} == {
        ("16", "16", "0", "0")  # exact decimals travel as text
    }
    code, out, _ = neocloud(june, *args, "--to", "2027-06-13T00:00:00Z", "--by", "day", "--csv")
    assert code == 0
    assert out.splitlines()[1] == "2027-06-12,160,160,0,0,0,0,0"  # 10 hours x 16 GPUs
    code, _, err = neocloud(june, *args, "--to", "2027-06-12T16:30:00Z")
    assert code == 2 and "to='2027-06-12T16:30:00+00:00': must be on the hour (UTC)" in err
    code, _, err = neocloud(june, *args, "--to", "2027-06-13T00:00:00Z", "--by", "week")
    assert code == 2 and "--by='week': must be hour or day" in err

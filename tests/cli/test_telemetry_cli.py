"""`neocloud telemetry` and `neocloud agent` end to end, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from neocloud.adapters.telemetry.metering import DuckDbMeter
from neocloud.adapters.telemetry.store import ParquetStore
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Held, Unit, plan_units
from tests.cli.test_cli import neocloud
from tests.factories import fleet, shared_fixture, site_document

FIXTURE = shared_fixture("nvml-h200")


@pytest.fixture
def small(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A database with site test-1: one hall of 2 H100 racks (r0001, r0002) of 8 nodes."""
    assert neocloud(cli_env, "init")[0] == 0
    doc = fleet(site_document("test-1", racks=2)).data
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(doc, default=str))))
    code, _, err = neocloud(cli_env, "fleet", "import", str(path))
    assert code == 0, err
    return cli_env


def test_ingest_reports_kept_duplicate_rejected_and_unmatched(
    small: dict[str, str], tmp_path: Path
):
    page = tmp_path / "page.prom"
    page.write_text(
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",Hostname="stranger"} 500\n'
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",Hostname="stranger"} 500\n'
        "garbage here\n"
    )
    args = ("telemetry", "ingest", str(page), "--at", "2026-06-01T00:00:00Z", "--json")
    code, out, err = neocloud(small, *args)
    report = json.loads(out)
    assert code == 2 and "1 line(s) rejected" in err
    assert (report["kept"], report["duplicate"], report["rejected"], report["unmatched"]) == (
        1,
        1,
        1,
        1,
    )
    assert report["unmatched_hosts"] == ["stranger"]
    assert report["rejected_lines"][0]["line"] == 3
    code, out, _ = neocloud(small, *args)
    assert json.loads(out)["kept"] == 0 and json.loads(out)["duplicate"] == 2


def test_ingest_of_a_missing_file_stores_nothing(small: dict[str, str], tmp_path: Path):
    code, _, err = neocloud(
        small, "telemetry", "ingest", str(tmp_path / "nope.prom"), "--at", "2026-06-01T00:00:00Z"
    )
    assert code == 2 and "cannot be read" in err
    code, out, _ = neocloud(small, "telemetry", "status", "--json")
    assert json.loads(out)["partitions"] == []


def test_agent_replay_then_status(small: dict[str, str]):
    code, out, err = neocloud(
        small, "agent", "--replay", str(FIXTURE), "--node", "r0001-n01", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["kept"] == 118 * 9 and report["unmatched"] == 0
    code, out, _ = neocloud(small, "telemetry", "status", "--json")
    (partition,) = json.loads(out)["partitions"]
    assert (partition["site"], partition["day"], partition["rows"], partition["nodes"]) == (
        "test-1",
        "2026-11-28",
        118,
        1,
    )
    assert partition["first"] == "2026-11-28T01:35:20.012000+00:00"


def test_the_h200_capture_meters_to_its_counter_delta(small: dict[str, str]) -> None:
    """Replayed, rolled up by the store's SQL and metered: the GPU energy is the counter's
    own delta, 14,392,389 - 2,491,085 = 11,901,304 mJ (first and last rows of the capture),
    within 0.1 % (here exactly: no reset, every increase inside the holding)."""
    code, _, err = neocloud(small, "agent", "--replay", str(FIXTURE), "--node", "r0001-n01")
    assert code == 0, err
    store = ParquetStore(Path(small["NEOCLOUD_HOME"]) / "telemetry")
    day = Interval(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
    meter = DuckDbMeter(store)
    meter.prepare("test-1", day, frozenset({79}))
    plan = plan_units([Held("r0001-n01", 1, day.start, None)], period=day, unit=Unit.GPU)
    observed, usage = meter.measure("test-1", plan, 300)
    delta = 14_392_389 - 2_491_085
    assert abs(usage.gpu_energy_mj - delta) <= Decimal(delta) / 1000
    assert usage.gpu_energy_mj == delta
    assert observed.reported_unit_s == 60  # the capture's 31 s fall in one minute's row


def test_simulate_writes_the_site_and_a_rerun_writes_nothing(small: dict[str, str]):
    args: tuple[str, ...] = ("telemetry", "simulate", "--site", "test-1", "--seed", "5")
    args = (*args, "--from", "2026-06-01T00:00:00Z", "--to", "2026-06-01T02:00:00Z", "--json")
    code, out, err = neocloud(small, *args)
    assert code == 0, err
    result = json.loads(out)
    # 16 nodes x 8 GPUs x 120 minutes, less any minute a simulated node fell silent
    assert result["nodes"] == 16 and result["gpus"] == 128
    assert result["rows"] <= 16 * 8 * 120 and result["rollup_rows"] <= 16 * 120
    code, out, _ = neocloud(small, *args)
    assert json.loads(out)["files"] == [] and json.loads(out)["skipped_days"] == ["2026-06-01"]

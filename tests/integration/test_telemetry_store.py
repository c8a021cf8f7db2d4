"""The Parquet store: dedupe per sample, unmatched hosts kept, atomic writes, bad input
refused whole, and the agent, scraper and simulator writing into it."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pyarrow.parquet as pq
import pytest

from neocloud.adapters.telemetry import nvml, scrape, simulator
from neocloud.adapters.telemetry.sources import read_sources
from neocloud.adapters.telemetry.store import SAMPLES_DIR, ParquetStore
from neocloud.domain.kernel.errors import Conflict, InvalidInput
from tests.factories import shared_fixture

FIXTURE = shared_fixture("nvml-h200")
AT = 1_780_272_000_000_000  # 2026-06-01T00:00:00Z in microseconds
KNOWN = {"test-1": frozenset({"n1", "n2"})}


def page(host: str, gpus: int = 2, power: float = 500.0, energy: int = 1000) -> str:
    lines = ["# TYPE DCGM_FI_DEV_POWER_USAGE gauge"]
    for g in range(gpus):
        labels = f'gpu="{g}",UUID="GPU-{host}-{g}",Hostname="{host}"'
        lines.append(f"DCGM_FI_DEV_POWER_USAGE{{{labels}}} {power + g}")
        lines.append(f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{labels}}} {energy + g}")
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def ingest(store: ParquetStore, *paths: Path, at: int | None = AT):
    batch = read_sources(list(paths), site="test-1", at_us=at)
    return batch, store.append(batch, KNOWN)


def rows(store: ParquetStore) -> int:
    con = store.connect()
    return int(con.sql("SELECT count(*) FROM samples").fetchall()[0][0])


def test_the_same_page_twice_is_stored_once(tmp_path: Path):
    store = ParquetStore(tmp_path / "store")
    first = write(tmp_path, "a.prom", page("n1") + page("ghost"))
    batch, written = ingest(store, first)
    # 2 hosts x 2 GPUs x 2 fields = 8 samples; ghost's 4 are kept and unmatched
    assert (batch.report.samples, written.kept, written.unmatched) == (8, 8, 4)
    assert written.unmatched_hosts == {"ghost"}
    again, twice = ingest(store, first, first)
    assert (twice.kept, again.report.duplicate + twice.duplicate) == (0, 16)
    assert rows(store) == 4
    assert len(store.files()) == 1


def test_a_metric_new_at_a_stored_instant_is_added_and_a_different_value_is_a_conflict(
    tmp_path: Path,
):
    store = ParquetStore(tmp_path / "store")
    ingest(store, write(tmp_path, "p.prom", 'DCGM_FI_DEV_POWER_USAGE{gpu="0",Hostname="n1"} 5\n'))
    text = (
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",Hostname="n1"} 6\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n1"} 50\n'
    )
    _, written = ingest(store, write(tmp_path, "q.prom", text))
    assert (written.kept, written.duplicate, written.conflicting) == (1, 1, 1)
    con = store.connect()
    stored = con.sql("SELECT max(power_w), max(util_ratio), count(*) FROM samples").fetchall()
    assert stored == [(5.0, 0.5, 2)]  # the first power stays; utilisation 50 % = 0.5


def test_late_and_out_of_order_pages_are_accepted(tmp_path: Path):
    store = ParquetStore(tmp_path / "store")
    later = write(tmp_path, "l.prom", page("n1"))
    ingest(store, later, at=AT + 120_000_000)
    _, written = ingest(store, later, at=AT)  # two minutes earlier, ingested after
    assert written.kept == 4
    con = store.connect()
    ordered = con.sql("SELECT count(DISTINCT ts) FROM samples").fetchall()
    assert ordered == [(2,)]


def test_a_crash_before_the_rename_leaves_nothing_visible_and_a_rerun_converges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = ParquetStore(tmp_path / "store")
    source = write(tmp_path, "a.prom", page("n1"))

    def crash(*_: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(InvalidInput, match="cannot be written"):
        ingest(store, source)
    monkeypatch.undo()
    assert store.files() == [] and rows(store) == 0
    _, written = ingest(store, source)
    assert written.kept == 4 and rows(store) == 2  # 2 GPUs x (power, energy)
    leftovers = list((tmp_path / "store").rglob("*.tmp"))
    assert leftovers == []


def test_bad_sources_are_refused_whole_and_nothing_is_stored(tmp_path: Path):
    store = ParquetStore(tmp_path / "store")
    good = write(tmp_path, "good.prom", page("n1"))
    truncated = tmp_path / "cut.parquet"
    batch = read_sources([good], site="test-1", at_us=AT)
    pq.write_table(batch.table, truncated)
    truncated.write_bytes(truncated.read_bytes()[:-40])
    with pytest.raises(InvalidInput) as refused:
        read_sources([good, tmp_path / "missing.prom", truncated], site="test-1", at_us=AT)
    messages = [str(p) for p in refused.value.problems]
    assert any("missing.prom" in m and "cannot be read" in m for m in messages)
    assert any("cut.parquet" in m and "not a readable Parquet file" in m for m in messages)
    assert store.files() == []


def test_a_page_of_garbage_is_all_rejected_by_line(tmp_path: Path):
    garbage = write(tmp_path, "g.prom", "hello world\n\x00\x01\n{}}\n")
    batch = read_sources([garbage], site="test-1", at_us=AT)
    assert batch.report.samples == 0
    assert [r.line for r in batch.report.rejected] == [1, 2, 3]


def test_a_store_that_cannot_be_written_is_refused_and_the_input_kept(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = ParquetStore(blocker / "telemetry")  # root or not, nothing can be made here
    source = write(tmp_path, "a.prom", page("n1"))
    with pytest.raises(InvalidInput, match="cannot be written"):
        ingest(store, source)
    assert source.read_text() == page("n1")


def test_bulk_csv_rows_are_checked_by_line(tmp_path: Path):
    text = (
        "ts,node,gpu,power_w,energy_mj,util_ratio,colour\n"
        "2026-06-01T00:00:00Z,n1,0,500,1000,0.5,red\n"
        "2026-06-01T00:00:00,n1,1,500,1000,0.5,red\n"  # naive
        "2026-06-01T00:01:00+00:00,n1,0,-1,1000,0.5,red\n"  # negative power
        "2026-06-01T00:01:00Z,n2,,900,,,blue\n"  # a node-level row: power_w of the GPU? no gpu
    )
    batch = read_sources([write(tmp_path, "b.csv", text)], site="test-1", at_us=None)
    assert [(r.line, r.reason.split(" ")[0]) for r in batch.report.rejected] == [
        (3, "ts"),
        (4, "power_w"),
    ]
    assert batch.report.ignored["column colour"] == 4
    assert batch.table.num_rows == 2


def test_the_agent_replaying_the_h200_capture_meters_its_counter(tmp_path: Path):
    source = nvml.ReplaySource(FIXTURE)
    waited: list[float] = []
    readings = [
        r for one in nvml.sample_loop(source, interval_s=0.25, sleep=waited.append) for r in one
    ]
    assert len(readings) == 118 and waited == [0.25] * 118  # paced by the loop, not slept
    store = ParquetStore(tmp_path / "store")
    table = nvml.readings_table(readings, site="test-1", node="n1")
    written = store.append(table, KNOWN)
    assert written.kept == table.num_rows * 9  # nine NVML fields in each row
    con = store.connect()
    first, last = con.sql(
        "SELECT arg_min(energy_mj, ts), arg_max(energy_mj, ts) FROM samples"
    ).fetchall()[0]
    # the capture's first and last energy_mj, read from samples.csv by hand
    assert (first, last) == (2_491_085, 14_392_389)
    metered = con.sql(
        "SELECT sum(d) FROM "
        "(SELECT energy_mj - lag(energy_mj) OVER (ORDER BY ts) AS d FROM samples)"
    ).fetchall()[0][0]
    assert abs(metered - (14_392_389 - 2_491_085)) <= 0.001 * (14_392_389 - 2_491_085)


class Pages(BaseHTTPRequestHandler):
    served: ClassVar[dict[str, list[tuple[int, str]]]] = {}

    def do_GET(self) -> None:
        answers = self.served[self.path]
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_scraping_a_local_exporter_retries_and_reports_what_never_answered(server: str):
    Pages.served = {
        "/n1": [(200, page("n1"))],
        "/n2": [(500, "busy"), (200, page("n2"))],  # answers on the second try
        "/down": [(503, "down")],
    }
    targets = [scrape.Target(f"{server}/n1", "n1"), scrape.Target(f"{server}/n2", "n2")]
    targets.append(scrape.Target(f"{server}/down", "n3"))
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    fetched = asyncio.run(
        scrape.fetch_all(
            targets, clock_us=lambda: AT, concurrency=2, retries=2, backoff_s=0.5, sleep=no_wait
        )
    )
    assert [f.attempts for f in fetched] == [1, 2, 3]
    assert sorted(slept) == [0.5, 0.5, 1.0]  # n2 once; down twice, doubling
    batch = scrape.to_batch(fetched, site="test-1")
    assert [r.source for r in batch.report.rejected] == [f"{server}/down"]
    up = batch.table.filter(batch.table.column("up").is_valid()).column("up").to_pylist()
    assert up == [1, 1, 0]


def test_the_simulator_is_deterministic_and_its_rollup_agrees_with_the_raw_rows(
    tmp_path: Path,
):
    nodes = [simulator.SimNode(f"n{i}", "H100", 8, 700.0) for i in range(3)]
    run = {"site": "test-1", "nodes": nodes, "start_us": AT, "end_us": AT + 3 * 3600 * 10**6}
    one, two = ParquetStore(tmp_path / "one"), ParquetStore(tmp_path / "two")
    report = simulator.simulate(one, **run, seed=3, resolution_s=60)  # type: ignore[arg-type]
    simulator.simulate(two, **run, seed=3, resolution_s=60)  # type: ignore[arg-type]
    assert report.rows == 3 * 8 * 180  # 3 nodes x 8 GPUs x 180 minutes (no failure drawn)
    a = pq.read_table(one.files()).to_pydict()
    assert a == pq.read_table(two.files()).to_pydict()
    again = simulator.simulate(one, **run, seed=3, resolution_s=60)  # type: ignore[arg-type]
    assert again.skipped == ["2026-06-01"] and again.partitions == []
    con = one.connect()
    raw = con.sql(
        "SELECT sum(d) FROM (SELECT energy_mj - lag(energy_mj) OVER "
        "(PARTITION BY node, gpu ORDER BY ts) AS d FROM samples)"
    ).fetchall()[0][0]
    rolled, first_minute = con.sql(
        "SELECT sum(energy_mj), min(minute) FROM node_minutes WHERE minute > $m",
        params={"m": con.sql("SELECT min(minute) FROM node_minutes").fetchall()[0][0]},
    ).fetchall()[0]
    assert rolled == raw and first_minute is not None
    power = con.sql("SELECT min(power_w), max(power_w) FROM samples").fetchall()[0]
    assert power[0] >= 82 and power[1] <= 700  # idle H100 draw to its TDP


def test_the_simulator_refuses_a_day_that_holds_other_telemetry(tmp_path: Path):
    store = ParquetStore(tmp_path / "store")
    ingest(store, write(tmp_path, "a.prom", page("n1")))
    nodes = [simulator.SimNode("n1", "H100", 8, 700.0)]
    with pytest.raises(Conflict, match="already has telemetry"):
        simulator.simulate(
            store,
            site="test-1",
            nodes=nodes,
            start_us=AT,
            end_us=AT + 3600 * 10**6,
            seed=1,
            resolution_s=60,
        )
    assert len(store.files(SAMPLES_DIR)) == 1

"""Rollups made from ingested samples: which Xids are critical is configuration (a changed
list makes the day's rollup again), and the node-minute energy is the counters' increase."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.adapters.telemetry.metering import DuckDbMeter
from neocloud.adapters.telemetry.sources import read_sources
from neocloud.adapters.telemetry.store import ROLLUP_DIR, ParquetStore
from neocloud.config import load_settings
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Cause, Held, Unit, plan_units

MINUTE_US = 60_000_000
T0 = 1_780_272_000_000_000  # 2026-06-01T00:00:00Z
DAY = Interval(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))


def pages(tmp_path: Path) -> list[tuple[Path, int]]:
    """GPU 0 of n1 for three minutes: Xid 13 in the second; energy 1000, 1600, 400 mJ
    (a driver reload before the third: its increase is 400, as increase() reads it)."""
    out = []
    for minute, (xid, energy) in enumerate([(0, 1000), (13, 1600), (0, 400)]):
        path = tmp_path / f"p{minute}.prom"
        labels = 'gpu="0",Hostname="n1"'
        path.write_text(f"DCGM_FI_DEV_XID_ERRORS{{{labels}}} {xid}\n"
                        f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{labels}}} {energy}\n")  # fmt: skip
        out.append((path, T0 + minute * MINUTE_US))
    return out


def measured(store: ParquetStore, critical: frozenset[int]) -> tuple[object, object]:
    meter = DuckDbMeter(store)
    meter.prepare("s-1", DAY, critical)
    plan = plan_units([Held("n1", 1, DAY.start, None)], period=DAY, unit=Unit.GPU)
    observed, usage = meter.measure("s-1", plan, 300)
    return observed.down_unit_s[Cause.XID], usage.gpu_energy_mj


def test_the_critical_list_decides_and_a_change_makes_the_rollup_again(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "telemetry")
    for path, at in pages(tmp_path):
        store.append(read_sources([path], site="s-1", at_us=at), {"s-1": frozenset({"n1"})})
    # energy: (1600 - 1000) + 400 (after the reset) = 1000 mJ, whichever list
    assert measured(store, frozenset({79})) == (0, 1000)  # 13 is not critical by default
    (first,) = store.files(ROLLUP_DIR, "s-1", ["2026-06-01"])
    assert measured(store, frozenset({13, 79})) == (60, 1000)  # one GPU-minute down
    (second,) = store.files(ROLLUP_DIR, "s-1", ["2026-06-01"])
    assert first.name != second.name


def test_the_list_is_read_from_the_environment() -> None:
    env = {"NEOCLOUD_HOME": "/tmp/x", "NEOCLOUD_ACTOR": "t"}
    assert load_settings(env).critical_xids is None  # the default list
    chosen = load_settings({**env, "NEOCLOUD_CRITICAL_XIDS": "48, 79,13"})
    assert chosen.critical_xids == frozenset({13, 48, 79})
    for bad in ("x", "79,", "0", "1000", "٧٩", "-79"):
        with pytest.raises(InvalidInput) as caught:
            load_settings({**env, "NEOCLOUD_CRITICAL_XIDS": bad})
        assert caught.value.problems[0].field == "NEOCLOUD_CRITICAL_XIDS"


@settings(max_examples=15, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 600), st.integers(0, 5_000), st.booleans()),
        min_size=2,
        max_size=12,
    ),
    order=st.randoms(use_true_random=False),
    copies=st.integers(0, 3),
)
def test_duplicates_order_and_resets_give_the_counters_increase(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, int, bool]],
    order: random.Random, copies: int,
) -> None:  # fmt: skip
    """Readings of one GPU's energy counter (each ``gap`` seconds after the last; a reset
    starts again from ``rise``), ingested in any order, some twice: the metered energy is
    the counter's increase worked here: each rise, or after a reset the value itself."""
    tmp = tmp_path_factory.mktemp("rollup")
    at, value, readings, increase = T0, 10_000, [], 0
    for gap, rise, reset in steps:
        at += gap * 1_000_000
        new = rise if reset else value + rise
        increase += new if new < value else new - value
        value = new
        readings.append((at, value))
    readings = [(T0, 10_000), *readings]
    shuffled = readings + order.sample(readings, min(copies, len(readings)))
    order.shuffle(shuffled)
    store = ParquetStore(tmp / "telemetry")
    for i, (stamp, energy) in enumerate(shuffled):
        path = tmp / f"r{i}.prom"
        path.write_text(f'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu="0",Hostname="n1"}} {energy}\n')
        store.append(read_sources([path], site="s-1", at_us=stamp), {"s-1": frozenset({"n1"})})
    assert measured(store, frozenset({79}))[1] == increase

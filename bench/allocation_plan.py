"""Bench: plan a 300 MW agreement on the ~29,000-node reference site (goal: < 1 s).

Prints the median of several runs on this machine for: the planner alone (domain, racks in
memory), the planner with its reads (rack capacities, busy racks and site summary from
SQLite: what ``neocloud allocation plan`` does), and applying the plan (writes one
holding per node, 28,160 rows). The baseline, side by side, is a greedy loop that takes
racks in site order until the MW are reached, with no ramp, halls or busy checks: the
floor for any planner over these racks.

Run with ``make bench``.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from common import print_table, timed  # bench/ is the script's directory
from neocloud.adapters.db import migrate
from neocloud.adapters.db.uow import make_engine
from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.allocation.planner import demand_of, plan_allocation
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreements, allocation, fleet
from neocloud.services.context import Context

ROOT = Path(__file__).resolve().parent.parent
CTX = Context("bench", FixedClock(datetime(2026, 11, 1, 5, tzinfo=UTC)))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        with App(Settings(Path(tmp), url, "bench"), CTX.clock) as app:
            fleet.import_fleet(app.uow(), CTX, read_document(ROOT / "examples" / "fleet.yaml"))
            agreements.create_agreement(
                app.uow(),
                CTX,
                read_document(ROOT / "examples" / "agreements" / "memphis-lease.yaml"),
            )
            agreements.sign_agreement(
                app.uow(), CTX, "memphis-lease", datetime(2026, 5, 3, 19, tzinfo=UTC)
            )
            with app.uow() as uow:
                racks = uow.allocations.rack_capacities("memphis-1")
                busy = uow.allocations.busy("memphis-1")
                agreement = uow.agreements.get("memphis-lease")
                measure = allocation.site_measure(uow, "memphis-1")
            demand = demand_of(agreement)
            plan = plan_allocation("memphis-lease", demand, racks, busy, measure)
            planner_s = timed(lambda: plan_allocation("b", demand, racks, busy, measure))
            with_reads_s = timed(lambda: allocation.plan_for_agreement(app.uow(), "memphis-lease"))

            def greedy() -> int:
                target, held, taken = Decimal(300_000), Decimal(0), 0
                for rack in racks:
                    if held >= target:
                        break
                    held += measure.rack_amount(rack, demand)
                    taken += 1
                return taken

            baseline_s = timed(greedy)
            start = time.perf_counter()
            allocation.apply_for_agreement(app.uow(), CTX, "memphis-lease")
            apply_s = time.perf_counter() - start
            held: dict[str, int] = {}
            for h in allocation.holdings(app.uow(), "memphis-1"):
                held[h.rack] = held.get(h.rack, 0) + 1
            split = [r.rack for r in racks if held.get(r.rack, r.nodes) != r.nodes]
    print(
        f"site memphis-1: {len(racks):,} racks, 28,160 nodes; plan: {len(plan.racks):,} "
        f"racks in {len(plan.steps)} ramp steps; racks split between holders: "
        f"{len(split) or 'none'}"
    )
    print_table(
        [
            ("plan 300 MW: planner alone (domain)", planner_s, 1.0, baseline_s),
            ("plan 300 MW: with its database reads", with_reads_s, 1.0, baseline_s),
            ("  baseline: greedy racks in site order", baseline_s, None, None),
            ("apply the plan (28,160 node holdings, 1 run)", apply_s, None, None),
        ]
    )


if __name__ == "__main__":
    main()

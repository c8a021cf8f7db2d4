"""Bench: start-up time of the ``neocloud`` command, a whole process each run.

Goals, each against a baseline run side by side (the runs interleaved, medians):

* ``neocloud --help``                imports no database code and takes at most 1.2x
  ``python -c "import typer"`` (the floor of any Typer command line);
* ``neocloud fleet show --site ...`` and ``neocloud agreement show KEY`` on a small
  database take at most 1.5x ``python -c "import sqlalchemy.orm"`` (the floor of any
  command that reads through the ORM).

A third baseline shows what the stack a read command needs costs before any neocloud code
runs: SQLAlchemy Core and its SQLite dialect, Typer and rich's tables. neocloud uses Core,
not the ORM (``adapters/db/tables.py``), so a command imports less than the ORM baseline.
(Typer is pinned at 0.28: 0.29 imports pydantic to coerce every option that is not a flag,
about 0.1 s for each command.)

Every process runs with its bytecode cached (``PYTHONPYCACHEPREFIX`` in a temporary
folder, written by a first run that is not timed): ``make`` exports
PYTHONDONTWRITEBYTECODE=1, and without a cache each run would compile neocloud's sources
again, which an installed package never does.

Run with ``make bench`` (``--runs N`` for more rounds on a noisy machine).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from common import print_table, timed_together  # bench/ is the script's directory
from neocloud.adapters.db import migrate
from neocloud.adapters.db.uow import make_engine
from neocloud.adapters.yamlfile import parse_document, read_document
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreements, fleet
from neocloud.services.context import Context

ROOT = Path(__file__).resolve().parent.parent
NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))  # the console script pip wrote
CTX = Context("bench", FixedClock(datetime(2026, 5, 3, 15, tzinfo=UTC)))

STACK = "import sqlalchemy, sqlalchemy.dialects.sqlite, typer, rich.table"

# A small database: one site of 20 racks (160 nodes) and the reference deal, signed.
SMALL_FLEET = """
version: 1
sites:
  - name: memphis-1
    display_name: Memphis, a few racks
    location: {city: Memphis, region: TN, country: US}
    timezone: America/Chicago
    facility_capacity_mw: 300
    pue: 1.15
    electricity_price: {per_mwh: 67.90, currency: USD}
    grid_carbon_kg_per_mwh: 283.47
    halls:
      - name: hall-1
        rack_groups:
          - {prefix: h1-r, count: 10, power_budget_kw: 82, node: {gpu_model: H100}}
      - name: hall-2
        rack_groups:
          - {prefix: h2-r, count: 10, power_budget_kw: 82, node: {gpu_model: H200}}
"""


def small_database(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'small.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    with App(Settings(tmp, url, "bench"), CTX.clock) as app:
        doc = parse_document(SMALL_FLEET, "small-fleet.yaml")
        fleet.import_fleet(app.uow(), CTX, doc)
        deal = read_document(ROOT / "examples" / "agreements" / "memphis-lease.yaml")
        agreements.create_agreement(app.uow(), CTX, deal)
        agreements.sign_agreement(app.uow(), CTX, "memphis-lease", CTX.clock.now())
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
            "NEOCLOUD_HOME": str(tmp),
            "NEOCLOUD_DATABASE_URL": small_database(tmp),
            "NEOCLOUD_ACTOR": "bench",
        }
        commands = {
            "typer": [sys.executable, "-c", "import typer"],
            "help": [NEOCLOUD, "--help"],
            "orm": [sys.executable, "-c", "import sqlalchemy.orm"],
            "fleet": [NEOCLOUD, "fleet", "show", "--site", "memphis-1"],
            "agreement": [NEOCLOUD, "agreement", "show", "memphis-lease"],
            "stack": [sys.executable, "-c", STACK],
        }

        def runner(command: list[str]) -> Callable[[], object]:
            return lambda: subprocess.run(command, check=True, capture_output=True, env=env)

        for command in commands.values():
            runner(command)()  # writes the bytecode cache; not timed
        s = timed_together({k: runner(c) for k, c in commands.items()}, args.runs)
    print(f"whole processes, median of {args.runs} interleaved runs; goal = ratio x baseline")
    print_table(
        [
            ("neocloud --help (goal 1.2x)", s["help"], 1.2 * s["typer"], s["typer"]),
            ("  baseline: python -c 'import typer'", s["typer"], None, None),
            ("neocloud fleet show --site (goal 1.5x)", s["fleet"], 1.5 * s["orm"], s["orm"]),
            ("neocloud agreement show (goal 1.5x)", s["agreement"], 1.5 * s["orm"], s["orm"]),
            ("  baseline: python -c 'import sqlalchemy.orm'", s["orm"], None, None),
            ("  the stack: Core + sqlite, typer, rich.table", s["stack"], None, s["orm"]),
        ]
    )


if __name__ == "__main__":
    main()

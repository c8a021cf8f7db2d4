"""Bench: import the ~28,000-node reference fleet and show it (goals: import < 10 s, show < 1 s).

Prints, for each step, the median of several runs on this machine, the goal, and a ratio
against a baseline run side by side in the same process:

* import  vs. a bare ``sqlite3.executemany`` of the same node rows into a table without
  indexes, types or validation (the floor any SQLite import pays);
* show    vs. the same GROUP BY written by hand against ``sqlite3`` (no ORM, no domain);
* the CLI vs. a Python process that only imports SQLAlchemy, Typer and rich: the start-up
  cost every command on this stack pays before it does anything.

Run with ``make bench`` (add ``--postgres URL`` to repeat the import on PostgreSQL).
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import print_table, timed  # bench/ is the script's directory
from neocloud.adapters.db import migrate
from neocloud.adapters.db.uow import make_engine
from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import fleet
from neocloud.services.context import Context

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / "examples" / "fleet.yaml"
CLOCK = FixedClock(datetime(2026, 5, 3, tzinfo=UTC))
CTX = Context("bench", CLOCK)


def fresh_app(url: str | None, tmp: Path) -> App:
    url = url or f"sqlite:///{tmp / f'bench-{time.perf_counter_ns()}.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return App(Settings(home=tmp, database_url=url, actor="bench"), CLOCK)


def import_once(url: str | None, tmp: Path) -> None:
    with fresh_app(url, tmp) as app:
        fleet.import_fleet(app.uow(), CTX, read_document(FLEET), replace=True)


def baseline_import(tmp: Path) -> None:
    rows = [
        (hall.name, rack.name, n.name, n.gpu_model, n.gpu_count, str(n.typical_it_kw))
        for site in parse_fleet(read_document(FLEET))
        for hall, rack, n in site.nodes()
    ]
    conn = sqlite3.connect(tmp / f"floor-{time.perf_counter_ns()}.db")
    conn.execute("create table nodes (hall, rack, name, model, gpus, typical_kw)")
    conn.executemany("insert into nodes values (?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def baseline_show(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute(
        "select r.hall_id, n.gpu_model, count(*), sum(n.gpu_count), "
        "sum(n.typical_it_kw) from nodes n join racks r on r.id = n.rack_id "
        "group by r.hall_id, n.gpu_model"
    ).fetchall()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="also import into this PostgreSQL URL (emptied)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        parse_s = timed(lambda: parse_fleet(read_document(FLEET)), args.runs)
        import_s = timed(lambda: import_once(None, tmp), args.runs)
        floor_s = timed(lambda: baseline_import(tmp), args.runs)
        with fresh_app(None, tmp) as app:
            fleet.import_fleet(app.uow(), CTX, read_document(FLEET))
            db = Path(app.settings.database_url.removeprefix("sqlite:///"))
            show_s = timed(lambda: fleet.fleet_summaries(app.uow()), args.runs)
            show_floor_s = timed(lambda: baseline_show(db), args.runs)
            cli_s = timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "neocloud.cli", "fleet", "show"],
                    check=True,
                    capture_output=True,
                    env={
                        "NEOCLOUD_DATABASE_URL": app.settings.database_url,
                        "NEOCLOUD_HOME": str(tmp),
                    },
                ),
                args.runs,
            )
            imports_s = timed(
                lambda: subprocess.run(
                    [sys.executable, "-c", "import sqlalchemy.orm, typer, rich.table"], check=True
                ),
                args.runs,
            )
            export_s = timed(lambda: fleet.export_fleet(app.uow()), args.runs)
        rows = [
            ("parse + validate fleet.yaml (29,558 nodes)", parse_s, None, None),
            ("import into SQLite (parse, validate, write)", import_s, 10.0, floor_s),
            ("  baseline: bare sqlite3 executemany of the rows", floor_s, None, None),
            ("fleet show (service: GROUP BY + domain)", show_s, 1.0, show_floor_s),
            ("  baseline: hand-written GROUP BY on sqlite3", show_floor_s, None, None),
            ("neocloud fleet show (whole CLI process)", cli_s, 1.0, imports_s),
            ("  baseline: python -c 'import sqlalchemy.orm, typer'", imports_s, None, None),
            ("fleet export (load all nodes + compact)", export_s, None, None),
        ]
        if args.postgres:
            pg_s = timed(lambda: import_once(args.postgres, tmp), args.runs)
            rows.insert(3, ("import into PostgreSQL", pg_s, 10.0, floor_s))
    print_table(rows)


if __name__ == "__main__":
    main()

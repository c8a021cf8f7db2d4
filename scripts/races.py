"""Races between real ``neocloud`` processes on the reference site, on SQLite and
PostgreSQL, repeated: does any lose an update, leave a partial allocation, or print a
traceback?

    .venv/bin/python scripts/races.py [--rounds 20] [--engines sqlite,postgresql]

Each round copies a prepared database (the reference fleet, the reference deal signed,
2026-05..09 invoiced), starts two commands at once and checks what the database holds
afterwards:

* ``apply``: ``allocation apply memphis-lease`` || ``fleet import --replace``: either the
  apply won (every one of the 28,160 nodes held, the replace refused with exit 4) or the
  replace did (the apply then plans on the new racks); never holdings on half a site;
* ``closes``: ``billing close 2026-10`` twice: 1 invoice for October, numbers without a
  gap, each state once in the history, the status the history's last;
* ``notice``: ``billing close 2026-10`` || ``agreement notice``: the notice recorded with
  its history entry, October invoiced once;
* ``credit``: two credit notes each over half of an invoice: exactly one issued;
* ``sign``: an agreement signed twice: signed once.

PostgreSQL at NEOCLOUD_TEST_DATABASE_URL (default postgres@127.0.0.1:5432/test); the
script creates and drops its own databases. Exit 1 if any round failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))
NOW = "2026-11-01T12:00:00-05:00"
SERVER = os.environ.get(
    "NEOCLOUD_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Database:
    engine: str
    url: str
    home: Path

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "NEOCLOUD_HOME": str(self.home),
            "NEOCLOUD_DATABASE_URL": self.url,
            "NEOCLOUD_NOW": NOW,
            "NEOCLOUD_ACTOR": "racer",
        }

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(self.url)
        with engine.connect() as conn:
            found = [tuple(r) for r in conn.execute(text(sql))]
        engine.dispose()
        return found


def run(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEOCLOUD, *args], env=db.env(), capture_output=True, text=True, check=False
    )


def together(db: Database, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [NEOCLOUD, *c], env=db.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    done = []
    for proc, command in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(command, proc.returncode, out, err))
    return done


def admin(statement: str) -> None:
    engine = create_engine(make_url(SERVER).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def template(engine: str, home: Path) -> Database:
    """The prepared database: reference fleet and deal, signed, invoiced through 2026-09."""
    if engine == "sqlite":
        db = Database(engine, f"sqlite:///{home / 'template.db'}", home)
    else:
        name = "neocloud_races_template"
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{name}"')
        db = Database(engine, make_url(SERVER).set(database=name).render_as_string(False), home)
    for command in (
        ["init"],
        ["fleet", "import", str(ROOT / "examples" / "fleet.yaml")],
        ["agreement", "create", str(ROOT / "examples" / "agreements" / "memphis-lease.yaml")],
        ["agreement", "sign", "memphis-lease", "--at", "2026-05-03T09:00:00-05:00"],
        ["billing", "close", "2026-09"],
    ):
        done = run(db, *command)
        if done.returncode:
            raise SystemExit(f"preparing {engine}: {' '.join(command)}: {done.stderr}")
    return db


def copy(tpl: Database, round_: int) -> Database:
    if tpl.engine == "sqlite":
        home = tpl.home / f"round-{round_}"
        home.mkdir()
        shutil.copyfile(tpl.home / "template.db", home / "neocloud.db")
        return Database("sqlite", f"sqlite:///{home / 'neocloud.db'}", home)
    name = f"neocloud_races_{round_}"
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}" TEMPLATE "neocloud_races_template"')
    return Database(
        "postgresql", make_url(SERVER).set(database=name).render_as_string(False), tpl.home
    )


def drop(db: Database) -> None:
    if db.engine == "postgresql":
        admin(f'DROP DATABASE IF EXISTS "{make_url(db.url).database}" WITH (FORCE)')


def clean(done: list[subprocess.CompletedProcess[str]]) -> list[str]:
    """Problems with how the commands ended: a traceback, an internal error, a signal."""
    found = []
    for d in done:
        if "Traceback" in d.stderr or "internal error" in d.stderr or d.returncode < 0:
            found.append(f"{' '.join(d.args[:2])}: {d.returncode} {d.stderr.strip()[-200:]}")
    return found


def history(db: Database) -> list[str]:
    return [
        str(r[0])
        for r in db.rows(
            "SELECT h.status FROM agreement_status_history h JOIN agreements a "
            "ON a.id = h.agreement_id WHERE a.key = 'memphis-lease' ORDER BY h.seq"
        )
    ]


def status(db: Database) -> str:
    return str(db.rows("SELECT status FROM agreements WHERE key = 'memphis-lease'")[0][0])


def numbers_without_gap(db: Database) -> list[str]:
    found = sorted(str(r[0]) for r in db.rows("SELECT number FROM invoices WHERE kind = 'invoice'"))
    expected = [f"INV-neocloud-{n:06d}" for n in range(1, len(found) + 1)]
    return [] if found == expected else [f"invoice numbers {found}"]


def history_consistent(db: Database) -> list[str]:
    states = history(db)
    problems = [f"history repeats a state: {states}"] if len(states) != len(set(states)) else []
    if states[-1] != status(db):
        problems.append(f"status {status(db)} but history ends {states[-1]}")
    return problems


def race_apply(db: Database) -> list[str]:
    applied, replaced = together(
        db,
        ["allocation", "apply", "memphis-lease"],
        ["fleet", "import", "--replace", str(ROOT / "examples" / "fleet.yaml")],
    )
    problems = clean([applied, replaced])
    nodes = db.rows(
        "SELECT count(*) FROM nodes n JOIN sites s ON s.id = n.site_id WHERE s.name = 'memphis-1'"
    )[0][0]
    held = db.rows(
        "SELECT count(DISTINCT node_id) FROM allocations WHERE holder_kind = 'agreement'"
    )
    if applied.returncode == 0 and held[0][0] != nodes:
        problems.append(f"the apply won but holds {held[0][0]} of {nodes} nodes")
    if applied.returncode == 0 and replaced.returncode not in (0, 4):
        problems.append(f"the replace ended {replaced.returncode}: {replaced.stderr.strip()}")
    if applied.returncode and replaced.returncode:
        problems.append("both refused")
    if nodes != 28_160:
        problems.append(f"{nodes} nodes after the race")
    return problems


def race_closes(db: Database) -> list[str]:
    done = together(db, ["billing", "close", "2026-10"], ["billing", "close", "2026-10"])
    problems = clean(done) + numbers_without_gap(db) + history_consistent(db)
    october = db.rows("SELECT count(*) FROM invoices WHERE period = '2026-10'")[0][0]
    return problems + ([] if october == 1 else [f"{october} invoices for October"])


def race_notice(db: Database) -> list[str]:
    notice = ["agreement", "notice", "memphis-lease", "--by", "tenant", "--at", "2026-10-15"]
    done = together(db, ["billing", "close", "2026-10"], notice)
    problems = clean(done) + numbers_without_gap(db) + history_consistent(db)
    if "notice_given" not in history(db):
        problems.append(f"no notice in the history: {history(db)}")
    october = db.rows("SELECT count(*) FROM invoices WHERE period = '2026-10'")[0][0]
    return problems + ([] if october == 1 else [f"{october} invoices for October"])


def race_credit(db: Database) -> list[str]:
    credit = ["invoice", "credit-note", "INV-neocloud-000005", "--amount", "700000000.00"]
    done = together(db, [*credit, "--reason", "first"], [*credit, "--reason", "second"])
    notes = db.rows("SELECT count(*) FROM invoices WHERE kind = 'credit_note'")[0][0]
    problems = clean(done) + ([] if notes == 1 else [f"{notes} credit notes"])
    refused = [d for d in done if d.returncode]
    if len(refused) != 1 or "exceeds what is still open" not in refused[0].stderr:
        problems.append(f"the other note: {[d.stderr.strip() for d in refused]}")
    return problems


def race_sign(db: Database) -> list[str]:
    key = "second-deal"
    deal = ROOT / "examples" / "agreements" / "memphis-lease.yaml"
    changed = db.home / "second.yaml"
    changed.write_text(deal.read_text().replace("key: memphis-lease", f"key: {key}"))
    if run(db, "agreement", "create", str(changed)).returncode:
        return ["could not create the second agreement"]
    sign = ["agreement", "sign", key, "--at", "2026-10-01"]
    done = together(db, sign, sign)
    signed = db.rows(
        "SELECT count(*) FROM agreement_status_history h JOIN agreements a ON a.id = "
        f"h.agreement_id WHERE a.key = '{key}' AND h.status = 'signed'"
    )[0][0]
    return clean(done) + ([] if signed == 1 else [f"signed {signed} times"])


RACES: dict[str, Callable[[Database], list[str]]] = {
    "apply || fleet import --replace": race_apply,
    "close || close": race_closes,
    "close || notice": race_notice,
    "credit note || credit note": race_credit,
    "sign || sign": race_sign,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    failures = 0
    print(f"{'race':34} {'engine':11} {'rounds':>6} {'failed':>6}  first problem")
    with tempfile.TemporaryDirectory() as name:
        for engine in args.engines.split(","):
            home = Path(name) / engine
            home.mkdir()
            tpl = template(engine, home)
            for race, check in RACES.items():
                bad: list[str] = []
                for round_ in range(args.rounds):
                    db = copy(tpl, round_)
                    try:
                        bad += check(db)[:1]
                    finally:
                        drop(db)
                        if engine == "sqlite":
                            shutil.rmtree(db.home, ignore_errors=True)
                failures += len(bad)
                print(
                    f"{race:34} {engine:11} {args.rounds:>6} {len(bad):>6}  {bad[0] if bad else ''}"
                )
            drop(tpl)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()

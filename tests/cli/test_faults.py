"""Faults around the command, each a real one: a database that cannot be reached, is not
ours, is busy or read-only; standard output that cannot be written; a file that cannot be
written whole. Each says what happened and what to do, exits with its code, and changes
nothing. (Exit codes: 2 invalid input, 3 not found, 4 conflict, 7 forbidden, 8 unavailable,
74 I/O.)"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.config import load_settings
from neocloud.domain.kernel.errors import Forbidden
from neocloud.services import fleet
from tests.cli.test_cli import neocloud

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile"
UNSUPPORTED = (
    "is not a database neocloud can use: give sqlite:///PATH or "
    "postgresql+psycopg://USER@HOST:PORT/DATABASE"
)


def process(env: dict[str, str], *args: str, **options: object) -> subprocess.CompletedProcess[str]:
    pipes: dict[str, object] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "neocloud.cli", *args],
        text=True,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
        check=False,
        **(pipes | options),
    )


@pytest.fixture
def small(tmp_path: Path) -> dict[str, str]:
    """A SQLite database holding the small site s1."""
    env = {"NEOCLOUD_HOME": str(tmp_path / "home"), "NEOCLOUD_ACTOR": "tester"}
    assert neocloud(env, "init")[0] == 0
    assert neocloud(env, "fleet", "import", str(HOSTILE / "fleet.yaml"))[0] == 0
    return env


# -- the database ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/test", 8, "cannot reach PostgreSQL for"),
        ("postgresql+psycopg://postgres@no-such-host.invalid/test", 8, "cannot reach PostgreSQL"),
        ("not a url", 2, f"NEOCLOUD_DATABASE_URL='not a url': {UNSUPPORTED}"),
        ("mysql://root@127.0.0.1/test", 2, f"URL='mysql://root@127.0.0.1/test': {UNSUPPORTED}"),
        ("http://example.com/db", 2, UNSUPPORTED),
    ],
)  # fmt: skip
def test_a_database_that_cannot_be_used_is_named(url: str, code: int, says: str) -> None:
    env = {"NEOCLOUD_DATABASE_URL": url, "NEOCLOUD_HOME": "/nonexistent"}
    for command in (["fleet", "show"], ["init"]):
        done = process(env, *command)
        assert done.returncode == code, done.stderr
        assert done.stderr.startswith("error: ") and says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_postgresql_without_the_database_or_the_role(postgres_url: str) -> None:
    no_db = make_url(postgres_url).set(database="neocloud_no_such_db").render_as_string(False)
    done = process({"NEOCLOUD_DATABASE_URL": no_db}, "fleet", "show")
    assert done.returncode == 3
    assert "PostgreSQL has no database for" in done.stderr and "createdb" in done.stderr
    no_role = make_url(postgres_url).set(username="no_such_role").render_as_string(False)
    done = process({"NEOCLOUD_DATABASE_URL": no_role}, "fleet", "show")
    assert done.returncode == 7
    assert "PostgreSQL refused the login" in done.stderr


@pytest.mark.parametrize(
    "content",
    [b"hello, I am a text file\n", os.urandom(4096), b"SQLite format 3\x00" + b"\x01" * 200],
)  # fmt: skip
def test_a_file_that_is_not_a_neocloud_database(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "neocloud.db"
    path.write_bytes(content)
    env = {"NEOCLOUD_DATABASE_URL": f"sqlite:///{path}"}
    for command in (["fleet", "show"], ["init"]):
        done = process(env, *command)
        assert done.returncode == 2, done.stderr
        said = f"NEOCLOUD_DATABASE_URL='sqlite:///{path}': names a file that is not a neocloud"
        assert said in done.stderr
    assert path.read_bytes() == content  # untouched


def test_another_programs_sqlite_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    env = {"NEOCLOUD_DATABASE_URL": f"sqlite:///{path}"}
    done = process(env, "fleet", "show")
    assert done.returncode == 3 and "run `neocloud init` first" in done.stderr
    done = process(env, "init")
    assert done.returncode == 4
    assert "is not a neocloud database (it holds 1 other tables, e.g. 'customers')" in done.stderr
    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == [("customers",)]


def test_a_truncated_database_and_odd_places(small: dict[str, str], tmp_path: Path) -> None:
    database = Path(small["NEOCLOUD_HOME"]) / "neocloud.db"
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(database.read_bytes()[:8192])
    done = process({"NEOCLOUD_DATABASE_URL": f"sqlite:///{truncated}"}, "fleet", "show")
    assert done.returncode in (2, 4), done.stderr  # not a database, or damaged: either said
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    folder = tmp_path / "a-folder"
    folder.mkdir()
    done = process({"NEOCLOUD_DATABASE_URL": f"sqlite:///{folder}"}, "fleet", "show")
    assert done.returncode == 3 and "cannot open the database at" in done.stderr
    home_file = tmp_path / "home-is-a-file"
    home_file.write_text("x")
    done = process({"NEOCLOUD_HOME": str(home_file)}, "fleet", "show")
    assert done.returncode == 2
    assert f"NEOCLOUD_HOME='{home_file}': cannot be made: File exists" in done.stderr


def test_sqlite_busy_past_the_lock_timeout(small: dict[str, str]) -> None:
    """Another process holds the write lock (BEGIN EXCLUSIVE): a writer waits the timeout
    (0.2 s here, 30 by default), then says so and writes nothing; readers are not blocked
    (WAL)."""
    env = {**small, "NEOCLOUD_LOCK_TIMEOUT_S": "0.2"}
    holder = sqlite3.connect(Path(small["NEOCLOUD_HOME"]) / "neocloud.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = process(env, "fleet", "import", "--replace", str(HOSTILE / "fleet.yaml"))
        assert done.returncode == 8, done.stderr
        assert (
            "is busy: another neocloud command is writing to it; nothing was written" in done.stderr
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert process(env, "fleet", "show", "--site", "s1").returncode == 0


def test_postgresql_busy_past_the_lock_timeout(postgres_url: str, tmp_path: Path) -> None:
    env = {"NEOCLOUD_DATABASE_URL": postgres_url, "NEOCLOUD_LOCK_TIMEOUT_S": "0.2"}
    holder = create_engine(postgres_url)
    with holder.connect() as conn:
        conn.execute(text("LOCK TABLE agreements IN ACCESS EXCLUSIVE MODE"))
        done = process(env, "agreement", "list")
        conn.rollback()
    holder.dispose()
    assert done.returncode == 8, done.stderr
    assert "is busy: another command holds what this one needs" in done.stderr


def test_a_read_only_data_folder_can_still_be_read(
    small: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the operating system says when the folder is read-only (root ignores file
    modes, so the test tells ``os.access`` so): reading works, opening neither a -wal nor
    a -shm file; a change is refused in words and nothing is written."""
    home = Path(small["NEOCLOUD_HOME"])
    real = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        if mode == os.W_OK and str(path).startswith(str(home)):
            return False
        return real(path, mode, **kwargs)  # type: ignore[arg-type]

    for leftover in home.glob("neocloud.db-*"):
        leftover.unlink()
    before = (home / "neocloud.db").read_bytes()
    monkeypatch.setattr(os, "access", access)
    with App(load_settings(small)) as app:
        app.require_database()
        assert [s.site.name for s in fleet.fleet_summaries(app.uow())] == ["s1"]
        doc = read_document(HOSTILE / "fleet.yaml")
        with pytest.raises(Forbidden, match=r"is read-only .* reading works"):
            fleet.import_fleet(app.uow(), app.context(), doc, replace=True)
    assert sorted(p.name for p in home.iterdir()) == ["neocloud.db"]
    assert (home / "neocloud.db").read_bytes() == before


# -- standard output and files -----------------------------------------------------------


def test_standard_output_that_cannot_be_written(small: dict[str, str]) -> None:
    with open("/dev/full", "w") as full:
        done = process(small, "fleet", "export", stdout=full)
    assert (done.returncode, done.stderr) == (
        74,
        "error: cannot write to standard output: No space left on device\n",
    )


def test_standard_output_closed_before_the_command_starts(small: dict[str, str]) -> None:
    """``neocloud fleet show >&-``: the shell starts the command with descriptor 1 closed."""
    done = subprocess.run(
        ["sh", "-c", f'exec "{sys.executable}" -m neocloud.cli fleet show >&-'],
        env={**small, "PYTHONDONTWRITEBYTECODE": "1"},
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (
        74,
        "error: standard output is closed; nothing could be printed\n",
    )


def test_a_reader_that_stops_reading_is_not_an_error_to_report(small: dict[str, str]) -> None:
    """``neocloud fleet export | head -c 1`` on a pipe whose reader leaves at once."""
    done = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m neocloud.cli fleet export | head -c 1 >/dev/null'],
        env={**small, "PYTHONDONTWRITEBYTECODE": "1"},
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0  # head's status; neocloud said nothing on standard error
    assert done.stderr == ""


@pytest.fixture
def exported(small: dict[str, str]) -> Iterator[tuple[dict[str, str], Path]]:
    """A fleet whose export is about 60 kB (1,500 racks, each its own power budget), and
    that export written once."""
    racks = "\n".join(
        f"          - {{name: x{i:04d}, power_budget_kw: {60 + i % 7}, nodes: "
        f"[{{name: x{i:04d}-a, gpu_model: H100}}]}}"
        for i in range(1500)
    )
    big = Path(small["NEOCLOUD_HOME"]) / "big.yaml"
    big.write_text(
        (HOSTILE / "fleet.yaml")
        .read_text()
        .replace("facility_capacity_mw: 20", "facility_capacity_mw: 200")
        + "      - name: hall-2\n        racks:\n"
        + racks
        + "\n"
    )
    assert neocloud(small, "fleet", "import", "--replace", str(big))[0] == 0
    out = Path(small["NEOCLOUD_HOME"]) / "fleet-export.yaml"
    assert neocloud(small, "fleet", "export", "-o", str(out))[0] == 0
    assert out.stat().st_size > 50_000
    yield small, out


def test_a_file_is_written_whole_or_not_at_all(exported: tuple[dict[str, str], Path]) -> None:
    """A disk that fills up half way (here: a 40 kB file size limit, past what SQLite's own
    files need, as a full disk would stop the write) leaves the file there before as it
    was, and no temporary file."""
    env, out = exported
    before = out.read_bytes()
    out.write_bytes(b"version: 1  # the previous export\n")
    kept = out.read_bytes()

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, as ENOSPC would be
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    done = process(env, "fleet", "export", "-o", str(out), preexec_fn=small_files)
    assert done.returncode == 2, done.stderr
    assert f"output='{out}': cannot be written: File too large" in done.stderr
    assert out.read_bytes() == kept
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    assert process(env, "fleet", "export", "-o", str(out)).returncode == 0
    assert out.read_bytes() == before
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_where_nothing_can_be_written(exported: tuple[dict[str, str], Path]) -> None:
    env, out = exported
    for target, why in (
        (out.parent / "missing" / "x.yaml", "No such file or directory"),
        (out.parent, "Is a directory"),
        (Path("/dev/full"), "No space left on device"),
    ):
        done = process(env, "fleet", "export", "-o", str(target))
        assert (done.returncode, done.stderr) == (
            2,
            f"error: output='{target}': cannot be written: {why}\n",
        )
    assert Path("/dev/full").is_char_device()  # written to as a device, never replaced
    shutil.rmtree(out.parent / "missing", ignore_errors=True)


@pytest.mark.parametrize(
    "now", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-12:00", "soon", "2026-11-01T00:00:00"]
)
def test_neocloud_now_at_the_edges_is_refused_by_every_command(
    small: dict[str, str], now: str
) -> None:
    done = process({**small, "NEOCLOUD_NOW": now}, "fleet", "show")
    assert done.returncode == 2 and done.stderr.startswith(f"error: NEOCLOUD_NOW='{now}': ")

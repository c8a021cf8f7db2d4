"""Start-up structure (not timing: bench/startup.py measures): help imports no database code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from neocloud.cli.main import cli

# Renders help in a fresh interpreter, then lists the heavy modules it imported.
PROBE = """
import json, sys
from neocloud.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="neocloud")
except SystemExit:
    pass
heavy = ("sqlalchemy", "alembic", "yaml", "rich", "neocloud.adapters", "neocloud.bootstrap",
         "neocloud.services")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["fleet", "--help"], ["allocation", "show", "--help"], ["invoice", "--help"]],
)
def test_help_imports_no_database_code(args: list[str]) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    assert probe.stdout.startswith("Usage: neocloud")
    assert json.loads(probe.stderr.splitlines()[-1]) == []


def test_help_lists_each_command_with_its_whole_first_line() -> None:
    out = CliRunner().invoke(cli, ["agreement", "--help"], env={"COLUMNS": "80"}).stdout
    commands = out.split("Commands:")[1]
    words = " ".join(commands.split())  # wrapped at 80 columns, not cut short with "..."
    assert (
        "Give notice: service, billing and capacity end notice_days calendar days later." in words
    )
    assert "..." not in commands


# Runs a command in a fresh interpreter, then lists the modules it imported.
IMPORTED_BY = """
import json, sys
from neocloud.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="neocloud")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args", [["fleet", "show", "--site", "memphis-1"], ["agreement", "list"], ["invoice", "list"]]
)
def test_a_read_command_needs_neither_the_orm_nor_alembic(
    loaded: dict[str, str], args: list[str]
) -> None:
    """The adapters use SQLAlchemy Core (adapters/db/tables.py); the ORM's mapper set-up
    and Alembic (needed by `init` only) would cost every command start-up time."""
    run = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY, *args],
        capture_output=True,
        text=True,
        check=True,
        env=loaded,
    )
    modules = json.loads(run.stderr.splitlines()[-1])
    assert "sqlalchemy" in modules  # the command did reach the database
    assert [m for m in modules if m.startswith(("sqlalchemy.orm", "alembic"))] == []

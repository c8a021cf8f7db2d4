"""Fixtures shared by the CLI tests.

``loaded`` is a database holding the imported reference fleet. The import itself runs
through the CLI once per engine and session (``test_cli`` checks its output); each test
then gets its own copy: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL. Tests stay independent and do not pay a 28,160-node import each.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES

IMPORTED = "imported site memphis-1: 4 halls, 3,370 racks, 28,160 nodes, 216,640 GPUs"


def _import_reference(env: dict[str, str]) -> None:
    assert neocloud(env, "init")[0] == 0
    code, out, err = neocloud(env, "fleet", "import", str(EXAMPLES / "fleet.yaml"))
    assert code == 0, err
    assert IMPORTED in out


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Engine -> URL of a database with the reference fleet, built on first use."""
    built: dict[str, str] = {}
    yield built
    for url in built.values():
        if url.startswith("postgresql"):
            _admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _admin(url: str, statement: str) -> None:
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


@pytest.fixture
def loaded(
    cli_env: dict[str, str],
    templates: dict[str, str],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    url = cli_env["NEOCLOUD_DATABASE_URL"]
    engine = make_url(url).get_backend_name()
    if engine not in templates:
        if engine == "sqlite":
            reference = tmp_path_factory.mktemp("template") / "reference.db"
            templates[engine] = f"sqlite:///{reference}"
        else:
            name = f"{make_url(url).database}_reference"
            _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _admin(url, f'CREATE DATABASE "{name}"')
            templates[engine] = make_url(url).set(database=name).render_as_string(False)
        _import_reference({**cli_env, "NEOCLOUD_DATABASE_URL": templates[engine]})
    template = templates[engine]
    if engine == "sqlite":
        copy = tmp_path / "loaded.db"
        shutil.copyfile(str(make_url(template).database), copy)
        yield {**cli_env, "NEOCLOUD_DATABASE_URL": f"sqlite:///{copy}"}
        return
    name = f"{make_url(url).database}_{uuid.uuid4().hex[:8]}"
    _admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"')
    yield {
        **cli_env,
        "NEOCLOUD_DATABASE_URL": make_url(url).set(database=name).render_as_string(False),
    }
    _admin(url, f'DROP DATABASE "{name}" WITH (FORCE)')

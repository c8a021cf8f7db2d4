"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL comes from NEOCLOUD_TEST_DATABASE_URL (default: the local server at
127.0.0.1:5432, user postgres, database test). The suite creates a database of its own
there and drops it at the end. Under CI=true an unreachable server fails the run;
elsewhere the PostgreSQL half is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from neocloud.adapters.db import migrate
from neocloud.adapters.db.tables import metadata
from neocloud.adapters.db.uow import make_engine
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.kernel.instants import FixedClock

# Wall-clock deadlines make property tests flaky on a loaded 2-core machine; examples are
# bounded by max_examples instead.
hypothesis_settings.register_profile("neocloud", deadline=None, print_blob=True)
hypothesis_settings.load_profile("neocloud")

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 5, 3, 15, 0, tzinfo=UTC)  # the reference deal's signature day


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    server = make_url(os.environ.get("NEOCLOUD_TEST_DATABASE_URL", PG_DEFAULT))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL unreachable at {server.render_as_string()}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"neocloud_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each engine in turn."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        _truncate(url)
        return url
    url = f"sqlite:///{tmp_path / 'neocloud.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    application = App(
        Settings(home=tmp_path, database_url=database_url, actor="tester"), FixedClock(NOW)
    )
    yield application
    application.engine.dispose()


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "NEOCLOUD_HOME": str(tmp_path),
        "NEOCLOUD_DATABASE_URL": database_url,
        "NEOCLOUD_ACTOR": "tester",
    }


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

"""Storage on SQLite and PostgreSQL: exact money and quantities, aware UTC instants,
whole-site round trips, migrations matching the models, foreign keys where a key names a
row (and an upgrade to them that keeps every row)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from neocloud.adapters.db import migrate
from neocloud.adapters.db.schema import HEAD_REVISION
from neocloud.adapters.db.tables import metadata
from neocloud.adapters.db.uow import make_engine
from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.domain.fleet.capacity import SiteSummary, hall_totals
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import Conflict, InvalidInput, NotFound
from neocloud.domain.kernel.money import Money
from tests import factories
from tests.conftest import EXAMPLES

DB_SETTINGS = settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_migrations_match_the_models(app: App) -> None:
    with app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_a_whole_site_round_trips(app: App) -> None:
    sites = parse_fleet(read_document(EXAMPLES / "fleet.yaml"))
    with app.uow() as uow:
        for site in sites:
            uow.sites.add(site)
        uow.commit()
    with app.uow() as uow:
        assert [uow.sites.get(s.name) for s in sorted(sites, key=lambda s: s.name)] == sorted(
            sites, key=lambda s: s.name
        )
        for site in sites:  # the database's GROUP BY agrees with the domain's own totals
            assert uow.sites.summary(site.name) == SiteSummary(
                uow.sites.header(site.name), hall_totals(site)
            )


def test_missing_site_is_not_found(app: App) -> None:
    with app.uow() as uow, pytest.raises(NotFound, match="nowhere"):
        uow.sites.get("nowhere")


@DB_SETTINGS
@given(
    price=st.decimals(
        min_value=Decimal("-9e12"),
        max_value=Decimal("9e12"),
        places=6,
        allow_nan=False,
        allow_infinity=False,
    ),
    currency=st.sampled_from(["USD", "EUR", "JPY", "BHD"]),
)
def test_money_round_trips_exactly(app: App, price: Decimal, currency: str) -> None:
    name = f"s-{uuid.uuid4().hex[:12]}"
    site = factories.site(
        name, electricity_price_per_mwh=Money(price, currency), pue=Decimal("1.123456")
    )
    with app.uow() as uow:
        uow.sites.add(site)
        uow.commit()
    with app.uow() as uow:
        back = uow.sites.header(name)
    assert back.electricity_price_per_mwh == Money(price, currency)
    assert back.pue == Decimal("1.123456")


def test_more_precision_than_stored_is_refused_not_rounded(app: App) -> None:
    site = factories.site(electricity_price_per_mwh=Money(Decimal("67.9000001"), "USD"))
    with app.uow() as uow, pytest.raises(InvalidInput, match="refusing to round"):
        uow.sites.add(site)
        uow.commit()
    with app.uow() as uow:
        assert uow.sites.names() == []


@DB_SETTINGS
@given(
    instant=st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
        ),
    )
)
def test_instants_round_trip_as_aware_utc(app: App, instant: datetime) -> None:
    key = uuid.uuid4().hex
    with app.uow() as uow:
        uow.audit.record(AuditEntry(instant, instant, "tester", "test", "probe", key))
        uow.commit()
    with app.uow() as uow:
        (entry,) = uow.audit.entries("probe", key)
    assert entry.recorded_at == entry.business_at == instant
    assert entry.recorded_at.tzinfo is UTC and entry.business_at.tzinfo is UTC


def test_naive_datetime_is_refused_at_the_boundary(app: App) -> None:
    with pytest.raises(InvalidInput, match="naive"):
        AuditEntry(datetime(2026, 5, 1), datetime.now(UTC), "tester", "test", "probe", "x")
    with pytest.raises(InvalidInput, match="naive"):
        AuditEntry(datetime.now(UTC), datetime(2026, 5, 1), "tester", "test", "probe", "x")
    with app.engine.begin() as conn, pytest.raises(Exception, match="naive"):
        conn.execute(
            metadata.tables["audit_log"]
            .insert()
            .values(
                recorded_at=datetime(2026, 5, 1),
                business_at=datetime(2026, 5, 1, tzinfo=UTC),
                actor="a",
                action="b",
                entity_type="c",
                entity_key="d",
                details={},
            )
        )


def test_sqlite_and_postgresql_store_micro_units(app: App) -> None:
    with app.uow() as uow:
        uow.sites.add(factories.site(pue=Decimal("1.15")))
        uow.commit()
    with app.engine.connect() as conn:
        assert conn.execute(text("select pue from sites")).scalar_one() == 1_150_000


# --- foreign keys ----------------------------------------------------------------------

T0 = datetime(2027, 2, 1, 6, tzinfo=UTC)
# one valid row per table whose keys name other rows; each names site test-1, agreement
# deal-1 or invoice INV-1 (see ``_named_rows``)
VALID: dict[str, dict[str, object]] = {
    "agreements": {
        "key": "deal-2",
        "operator": "neocloud",
        "tenant": "lab-a",
        "site": "test-1",
        "status": "draft",
    },
    "availability": {
        "agreement_key": "deal-1",
        "period": "2027-01",
        "availability_ratio": Decimal("0.995"),
        "recorded_at": T0,
    },
    "capacity_releases": {
        "agreement_key": "deal-1",
        "site": "test-1",
        "release_at": T0,
        "reason": "notice",
    },
    "invoices": {
        "number": "CN-1",
        "kind": "credit_note",
        "operator": "neocloud",
        "tenant": "lab-a",
        "agreement_key": "deal-1",
        "period": None,
        "refers_to": "INV-1",
        "currency": "USD",
        "total": Decimal("-100.00"),
        "final": False,
        "issued_at": T0,
    },
}


def _insert(conn: Connection, table: str, **values: object) -> None:
    conn.execute(metadata.tables[table].insert().values(values))


def _named_rows(conn: Connection) -> None:
    """Site test-1 (no halls), agreement deal-1 on it with a version and a status, invoice
    INV-1 for it with one line: what the rows in VALID name. Row ids 100, clear of the ids
    PostgreSQL's sequences hand out to the rows of VALID."""
    _insert(
        conn,
        "sites",
        name="test-1",
        display_name="Test site",
        city="Memphis",
        region="TN",
        country="US",
        timezone="America/Chicago",
        facility_capacity_kw=Decimal(10_000),
        pue=Decimal("1.2"),
        electricity_price_per_mwh=Decimal("67.90"),
        electricity_currency="USD",
        grid_carbon_kg_per_mwh=Decimal("283.47"),
    )
    _insert(conn, "agreements", id=100, **{**VALID["agreements"], "key": "deal-1"})
    _insert(
        conn,
        "agreement_versions",
        agreement_id=100,
        number=1,
        effective_from=T0,
        recorded_at=T0,
        actor="t",
        note="",
        terms={},
    )
    _insert(conn, "agreement_status_history", agreement_id=100, seq=0, status="draft", at=T0)
    _insert(
        conn,
        "invoices",
        **{**VALID["invoices"], "number": "INV-1", "kind": "invoice", "period": "2027-01"},
        id=100,
    )
    _insert(
        conn,
        "invoice_lines",
        invoice_id=100,
        position=1,
        kind="fee",
        description="fee",
        precise="100",
        amount=Decimal("100.00"),
    )


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("agreements", "site", "nowhere-1"),
        ("availability", "agreement_key", "no-deal"),
        ("capacity_releases", "agreement_key", "no-deal"),
        ("capacity_releases", "site", "nowhere-1"),
        ("invoices", "agreement_key", "no-deal"),
        ("invoices", "refers_to", "INV-404"),
    ],
)
def test_a_key_that_names_no_row_is_refused(app: App, table: str, column: str, value: str) -> None:
    with app.engine.begin() as conn:
        _named_rows(conn)
    with app.engine.connect() as conn:
        _insert(conn, table, **VALID[table])  # the row as it is: accepted
        conn.rollback()
        with pytest.raises(Conflict, match="names a row that does not exist") as refused:
            _insert(conn, table, **{**VALID[table], column: value})  # naming nothing: refused
        dbapi = conn.dialect.dbapi  # by the database: the driver's own error is the cause
        assert dbapi is not None and isinstance(refused.value.__cause__, dbapi.IntegrityError)
        conn.rollback()


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A second database on the same engine as ``database_url``, with no tables at all."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    name = f"{url.database}_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


COUNTED = (
    "sites",
    "agreements",
    "agreement_versions",
    "agreement_status_history",
    "availability",
    "capacity_releases",
    "invoices",
    "invoice_lines",
)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"select count(*) from {t}")).scalar_one() for t in COUNTED}


def test_upgrading_to_foreign_keys_keeps_every_row(empty_database: Engine) -> None:
    migrate.upgrade(empty_database, "0003")
    with empty_database.begin() as conn:
        _named_rows(conn)
        for table, row in VALID.items():
            _insert(conn, table, **row)
    # 1 site; deal-1 and deal-2; 1 version, 1 status; 1 availability; 1 release;
    # INV-1 and CN-1; 1 line. Rebuilding agreements and invoices on SQLite must not
    # cascade into versions, history and lines.
    kept = {
        "sites": 1,
        "agreements": 2,
        "agreement_versions": 1,
        "agreement_status_history": 1,
        "availability": 1,
        "capacity_releases": 1,
        "invoices": 2,
        "invoice_lines": 1,
    }
    assert _counts(empty_database) == kept
    migrate.upgrade(empty_database)
    assert _counts(empty_database) == kept
    with empty_database.connect() as conn:
        with pytest.raises(Conflict, match="names a row that does not exist"):  # enforced now
            _insert(conn, "availability", **{**VALID["availability"], "agreement_key": "x"})
        conn.rollback()
    migrate.downgrade(empty_database, "0003")
    assert _counts(empty_database) == kept
    migrate.upgrade(empty_database)
    assert _counts(empty_database) == kept


def test_the_upgrade_names_rows_that_name_nothing_and_changes_nothing(
    empty_database: Engine,
) -> None:
    migrate.upgrade(empty_database, "0003")
    with empty_database.begin() as conn:
        _named_rows(conn)
        _insert(conn, "availability", **{**VALID["availability"], "agreement_key": "gone"})
    with pytest.raises(RuntimeError, match=r"1 rows of availability.agreement_key name no"):
        migrate.upgrade(empty_database)
    with empty_database.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == "0003"


def test_the_schema_revision_is_checked_before_a_command(app: App) -> None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    from neocloud.adapters.db.schema import KNOWN_REVISIONS  # noqa: PLC0415

    scripts = ScriptDirectory.from_config(migrate.alembic_config(app.engine))
    assert scripts.get_current_head() == HEAD_REVISION
    assert sorted(s.revision for s in scripts.walk_revisions()) == list(KNOWN_REVISIONS)
    app.require_database()  # at the head: fine
    migrate.downgrade(app.engine, "0003")
    with pytest.raises(
        Conflict, match="revision 0003; this neocloud needs 0007: run `neocloud init`"
    ):
        app.require_database()
    migrate.upgrade(app.engine)
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(Conflict, match="'0099', which this neocloud does not know"):
        app.require_database()
    with pytest.raises(Conflict, match="'0099', which this neocloud does not know"):
        app.init_database()  # init does not guess either
    with app.engine.begin() as conn:
        conn.execute(text(f"UPDATE alembic_version SET version_num = '{HEAD_REVISION}'"))
        conn.execute(text("DROP TABLE availability"))  # at the head, but a table is gone
    with app.uow() as uow, pytest.raises(Conflict, match="lacks a table its schema revision"):
        uow.agreements.availabilities("any")
    with app.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    try:
        with pytest.raises(NotFound, match="run `neocloud init` first"):
            app.require_database()
        with pytest.raises(Conflict, match=r"is not a neocloud database .* give neocloud an"):
            app.init_database()  # tables, but none of ours by revision: not touched
    finally:  # the session's PostgreSQL database is shared by the tests after this one
        with app.engine.begin() as conn:
            metadata.tables["availability"].create(conn)
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            conn.execute(text(f"INSERT INTO alembic_version VALUES ('{HEAD_REVISION}')"))

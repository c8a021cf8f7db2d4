"""Storage on SQLite and PostgreSQL: exact money and quantities, aware UTC instants,
whole-site round trips, migrations matching the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from neocloud.adapters.db.tables import Base
from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.domain.fleet.capacity import SiteSummary, hall_totals
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import InvalidInput, NotFound
from neocloud.domain.kernel.money import Money
from tests import factories
from tests.conftest import EXAMPLES

DB_SETTINGS = settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_migrations_match_the_models(app: App) -> None:
    with app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
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
        uow.audit.record(AuditEntry(instant, "tester", "test", "probe", key))
        uow.commit()
    with app.uow() as uow:
        (entry,) = uow.audit.entries("probe", key)
    assert entry.at == instant
    assert entry.at.tzinfo is UTC


def test_naive_datetime_is_refused_at_the_boundary(app: App) -> None:
    with pytest.raises(InvalidInput, match="naive"):
        AuditEntry(datetime(2026, 5, 1), "tester", "test", "probe", "x")
    with app.engine.begin() as conn, pytest.raises(Exception, match="naive"):
        conn.execute(
            Base.metadata.tables["audit_log"]
            .insert()
            .values(
                at=datetime(2026, 5, 1),
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

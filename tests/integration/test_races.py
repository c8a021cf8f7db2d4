"""Races between commands, with real concurrent transactions on each engine: they queue
or one gets a clear Conflict; never a lost update, a partial allocation or a raw driver
error. Each race runs a few times here; ``scripts/races.py`` runs them 20 times each with
real processes on both engines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from neocloud.adapters.db.uow import SqlUnitOfWork
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.agreements.model import Party, Status
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import NeocloudError
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreement_views, agreements, allocation, billing, fleet
from neocloud.services.context import Context
from tests import factories

LATER = datetime(2027, 6, 2, tzinfo=UTC)  # May 2027 has ended in Chicago
CTX = Context("racer", FixedClock(LATER))
ROUNDS = 3


def together(*work: Callable[[], object]) -> list[object]:
    """Run each in its own thread, released at once; each one's result or exception."""
    start = threading.Barrier(len(work), timeout=60)
    results: list[object] = [None] * len(work)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:  # judged by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def fresh(app: App) -> App:
    """The app on an empty database of its engine (a new file, or truncated tables)."""
    from tests.conftest import _truncate  # noqa: PLC0415

    url = app.settings.database_url
    if url.startswith("postgresql"):
        _truncate(url)
        return App(Settings(app.settings.home, url, "racer"), CTX.clock)
    path = Path(url.removeprefix("sqlite:///"))
    app.close()
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    from neocloud.adapters.db import migrate  # noqa: PLC0415

    new = App(Settings(app.settings.home, url, "racer"), CTX.clock)
    migrate.upgrade(new.engine)
    return new


def site(app: App, racks: int) -> None:
    doc = factories.fleet(factories.site_document("test-1", racks=racks))
    fleet.import_fleet(app.uow(), CTX, doc)


def deal(app: App, key: str = "deal-1", **changes: object) -> None:
    doc = factories.agreement_document(key, **changes)
    agreements.create_agreement(app.uow(), CTX, SourceDocument(f"{key}.yaml", doc))
    agreements.sign_agreement(app.uow(), CTX, key, datetime(2026, 12, 1, tzinfo=UTC))


def refusals(results: list[object]) -> list[NeocloudError]:
    """The exceptions among the results; anything but a NeocloudError fails the test."""
    errors = [r for r in results if isinstance(r, Exception)]
    for error in errors:
        assert isinstance(error, NeocloudError), repr(error)
    return errors  # type: ignore[return-value]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_allocation_and_a_fleet_replace_never_interleave(app: App, round_: int) -> None:
    """The site's racks replaced (8 -> 6 racks) while an agreement for 4 racks is applied:
    either the apply goes first (then the replace is refused: racks are held) or the
    replace does (then the apply plans on the new racks). Never holdings on half a site."""
    app = fresh(app)
    site(app, racks=8)
    deal(app, capacity={"gpus": 256, "gpu_model": "H100"})  # 4 racks of 64 GPUs
    smaller = factories.fleet(factories.site_document("test-1", racks=6))
    applied, replaced = together(
        lambda: allocation.apply_for_agreement(app.uow(), CTX, "deal-1"),
        lambda: fleet.import_fleet(app.uow(), CTX, smaller, replace=True),
    )
    refused = refusals([applied, replaced])
    assert len(refused) <= 1
    if refused:  # the apply went first: its holdings stand, the replace says why not
        assert refused[0] is replaced and "has allocations" in refused[0].message
    held = allocation.holdings(app.uow(), "test-1")
    assert len(held) == 32 and {h.holder for h in held} == {"deal-1"}  # 4 whole racks
    racks = {h.rack for h in held}
    assert len(racks) == 4
    stored = fleet.export_fleet(app.uow())
    count = stored["sites"][0]["halls"][0]["rack_groups"][0]["count"]  # type: ignore[index]
    assert count == (8 if refused else 6)
    app.close()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_month_closes_side_by_side(app: App, round_: int) -> None:
    app = fresh(app)
    site(app, racks=2)
    for key in ("deal-a", "deal-b"):
        deal(app, key, capacity={"gpus": 64, "gpu_model": "H100"})
    first, second = together(
        lambda: billing.close_month(app.uow(), CTX, "2027-05"),
        lambda: billing.close_month(app.uow(), CTX, "2027-05"),
    )
    assert refusals([first, second]) == []
    issued = billing.list_invoices(app.uow())
    assert [i.number for i in issued] == [f"INV-neocloud-{n:06d}" for n in range(1, 11)]
    assert sorted((i.agreement_key, i.period) for i in issued) == sorted(
        (k, f"2027-0{m}") for k in ("deal-a", "deal-b") for m in range(1, 6)
    )
    for key in ("deal-a", "deal-b"):
        stored = agreement_views.get_agreement(app.uow(), key)
        states = [s for s, _ in stored.history]
        assert states == [Status.DRAFT, Status.SIGNED, Status.ACTIVE]  # once each
        assert stored.status is states[-1]
    app.close()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_notice_given_while_a_month_is_closed(app: App, round_: int) -> None:
    app = fresh(app)
    site(app, racks=2)
    deal(app, capacity={"gpus": 64, "gpu_model": "H100"})
    closed, noticed = together(
        lambda: billing.close_month(app.uow(), CTX, "2027-05"),
        lambda: agreements.give_notice(
            app.uow(), CTX, "deal-1", by=Party.TENANT, at=datetime(2027, 5, 20, tzinfo=UTC)
        ),
    )
    assert refusals([closed, noticed]) == []
    stored = agreement_views.get_agreement(app.uow(), "deal-1")
    assert [s for s, _ in stored.history] == [
        Status.DRAFT,
        Status.SIGNED,
        Status.ACTIVE,
        Status.NOTICE_GIVEN,
    ]
    assert stored.status is Status.NOTICE_GIVEN and stored.notice is not None
    issued = billing.list_invoices(app.uow())
    assert sorted(i.period or "" for i in issued if i.period) == [f"2027-0{m}" for m in range(1, 6)]
    app.close()


def waiting_on_a_lock(conn: Connection) -> int:
    """Backends of this database waiting for a lock another transaction holds."""
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    )


def test_an_apply_waits_for_a_replace_of_its_site(postgres_url: str, tmp_path: Path) -> None:
    """Deterministic on PostgreSQL: a fleet replace has rebuilt the site (8 -> 6 racks) and
    not yet committed when an apply starts. The apply must wait for the site before it
    plans, then plan on the new racks; one that planned on the old racks would hold rows
    about to vanish (a foreign-key refusal once the replace commits)."""
    from tests.conftest import _truncate  # noqa: PLC0415

    _truncate(postgres_url)
    app = App(Settings(tmp_path, postgres_url, "racer"), CTX.clock)
    site(app, racks=8)
    deal(app, capacity={"gpus": 256, "gpu_model": "H100"})
    watcher = create_engine(postgres_url)
    rebuilt = threading.Event()

    class CommitsOnceTheApplyWaits(SqlUnitOfWork):
        def commit(self) -> None:
            rebuilt.set()
            with watcher.connect() as observer:
                while waiting_on_a_lock(observer) == 0:
                    observer.rollback()
            super().commit()

    smaller = factories.fleet(factories.site_document("test-1", racks=6))
    replacing = threading.Thread(
        target=lambda: fleet.import_fleet(
            CommitsOnceTheApplyWaits(app.engine), CTX, smaller, replace=True
        )
    )
    replacing.start()
    assert rebuilt.wait(timeout=60)
    plan = allocation.apply_for_agreement(app.uow(), CTX, "deal-1")  # waits, then plans
    replacing.join(timeout=60)
    watcher.dispose()
    assert len(plan.racks) == 4
    held = allocation.holdings(app.uow(), "test-1")
    assert len(held) == 32 and {h.rack for h in held} <= {f"r{i:04d}" for i in range(1, 7)}
    app.close()

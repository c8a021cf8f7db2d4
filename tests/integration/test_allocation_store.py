"""Allocation on SQLite and PostgreSQL: the reference deal takes the whole site along its
ramp, notice releases at the instant, the database itself refuses double booking, and 20
concurrent allocations of the same racks on PostgreSQL let exactly one through (the
others refused by the database or by the planner, each told apart)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from neocloud.adapters.db.tables import allocations, nodes
from neocloud.adapters.db.uow import SqlUnitOfWork, make_engine
from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.agreements.model import Party
from neocloud.domain.allocation.planner import HolderKind
from neocloud.domain.events.model import EventKind
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import Conflict, InsufficientCapacity, InvalidInput
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreement_views, agreements, allocation, events, fleet
from neocloud.services.context import Context
from tests import factories
from tests.conftest import EXAMPLES

NOW = datetime(2026, 11, 1, 5, tzinfo=UTC)
WRITTEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # the system clock: when entries are written
CTX = Context("tester", FixedClock(NOW), wall=FixedClock(WRITTEN))


def reference(app: App) -> None:
    fleet.import_fleet(app.uow(), CTX, read_document(EXAMPLES / "fleet.yaml"))
    agreements.create_agreement(
        app.uow(), CTX, read_document(EXAMPLES / "agreements" / "memphis-lease.yaml")
    )
    agreements.sign_agreement(app.uow(), CTX, "memphis-lease", datetime(2026, 5, 3, 19, tzinfo=UTC))


def racks_held(app: App, at: datetime, site: str = "memphis-1") -> dict[str, int]:
    held: dict[str, set[str]] = {}
    for h in allocation.holdings(app.uow(), site, at):
        held.setdefault(f"{h.kind.value} {h.holder}".strip(), set()).add(h.rack)
    return {k: len(v) for k, v in held.items()}


def overlapping_pairs(app: App) -> int:
    with app.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "select count(*) from allocations a join allocations b "
                    "on a.node_id = b.node_id and a.id < b.id "
                    "and (a.ends_at is null or b.starts_at < a.ends_at) "
                    "and (b.ends_at is null or a.starts_at < b.ends_at)"
                )
            ).scalar_one()
        )


def test_reference_deal_takes_the_whole_site_along_its_ramp(app: App) -> None:
    reference(app)
    plan = allocation.apply_for_agreement(app.uow(), CTX, "memphis-lease")
    # 50 % from May, 85 % from June, all 3,370 racks from July; never a rack split
    assert len(plan.racks) == 3_370 and len(set(plan.racks)) == 3_370
    may = racks_held(app, datetime(2026, 5, 15, tzinfo=UTC))["agreement memphis-lease"]
    june = racks_held(app, datetime(2026, 6, 15, tzinfo=UTC))["agreement memphis-lease"]
    assert racks_held(app, datetime(2026, 7, 15, tzinfo=UTC)) == {"agreement memphis-lease": 3_370}
    assert may < june < 3_370
    assert racks_held(app, datetime(2026, 4, 30, tzinfo=UTC)) == {}
    assert racks_held(app, datetime(2029, 6, 1, 5, tzinfo=UTC)) == {}  # half-open end
    assert overlapping_pairs(app) == 0
    with app.engine.connect() as conn:  # every node of every rack, once
        assert (
            conn.execute(text("select count(distinct node_id) from allocations")).scalar_one()
            == 28_160
        )
    with pytest.raises(Conflict, match="racks already"):
        allocation.apply_for_agreement(app.uow(), CTX, "memphis-lease")


def test_notice_releases_exactly_at_the_effective_instant(app: App) -> None:
    reference(app)
    allocation.apply_for_agreement(app.uow(), CTX, "memphis-lease")
    notice = agreements.give_notice(
        app.uow(),
        CTX,
        "memphis-lease",
        by=Party.TENANT,
        at=datetime(2026, 10, 20, 17, 30, tzinfo=UTC),
    ).notice
    effective = notice.effective_at
    # 12:30 CDT on Oct 20 + 90 calendar days = 12:30 CST on Jan 18 (DST ended Nov 1)
    assert effective == datetime(2027, 1, 18, 18, 30, tzinfo=UTC)
    just_before = effective - timedelta(microseconds=1)
    assert racks_held(app, just_before) == {"agreement memphis-lease": 3_370}
    assert racks_held(app, effective) == {}
    answer = allocation.what_if(
        app.uow(),
        "memphis-1",
        start=effective,
        end=effective + timedelta(days=365),
        facility_kw=Decimal(300_000),
    )
    assert answer.fits


def test_what_if_says_no_with_the_reason_and_what_fits(app: App) -> None:
    reference(app)
    allocation.apply_for_agreement(app.uow(), CTX, "memphis-lease")
    answer = allocation.what_if(
        app.uow(),
        "memphis-1",
        start=datetime(2027, 1, 1, tzinfo=UTC),
        end=datetime(2028, 1, 1, tzinfo=UTC),
        facility_kw=Decimal(20_000),
    )
    assert not answer.fits
    assert "held by agreement memphis-lease" in answer.reason
    assert "largest amount that fits is 0.000 MW facility" in answer.reason
    yes = allocation.what_if(
        app.uow(),
        "atlanta-1",
        start=datetime(2027, 1, 1, tzinfo=UTC),
        end=datetime(2028, 1, 1, tzinfo=UTC),
        gpus=2000,
        gpu_model="H100",
    )
    # 2,000 GPUs / 32 a rack (4 nodes of 8) = 62.5 -> 63 whole racks
    assert yes.fits and yes.plan is not None and len(yes.plan.racks) == 63


def test_the_database_refuses_two_holders_of_one_node(app: App) -> None:
    reference(app)
    with app.uow() as uow:
        uow.allocations.allocate_racks(
            "memphis-1",
            ["h1-r0001"],
            kind=HolderKind.AGREEMENT,
            key="memphis-lease",
            start=NOW,
            end=None,
            reason="t",
        )
        uow.commit()
    with app.engine.connect() as conn:
        node = conn.execute(select(nodes).where(nodes.c.name == "h1-r0001-n03")).one()
        raw = allocations.insert().values(
            site_id=node.site_id,
            rack_id=node.rack_id,
            node_id=node.id,
            holder_kind="maintenance",
            holder_key="",
            starts_at=NOW + timedelta(days=3),
            ends_at=None,
            reason="raw",
        )
        with pytest.raises(Conflict, match="another allocation got there first") as refused:
            conn.execute(raw)  # no planner involved: the constraint (or trigger) says no
        dbapi = conn.dialect.dbapi  # the driver's own error (PEP 249): the database said no
        assert dbapi is not None and isinstance(refused.value.__cause__, dbapi.IntegrityError)
    with app.uow() as uow, pytest.raises(Conflict):  # and through the repository, in words
        uow.allocations.allocate_racks(
            "memphis-1",
            ["h1-r0001"],
            kind=HolderKind.SPARE,
            key="x",
            start=NOW - timedelta(days=1),
            end=NOW + timedelta(seconds=1),
            reason="t",
        )
    with app.uow() as uow:  # touching ends are fine: [a, b) then [b, c)
        uow.allocations.release_agreement("memphis-lease", NOW + timedelta(days=1))
        uow.allocations.allocate_racks(
            "memphis-1",
            ["h1-r0001"],
            kind=HolderKind.SPARE,
            key="x",
            start=NOW + timedelta(days=1),
            end=None,
            reason="t",
        )
        uow.commit()
    assert overlapping_pairs(app) == 0


def test_a_failed_node_is_replaced_from_the_tenants_spares(app: App) -> None:
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=8)))
    with app.uow() as uow:
        uow.sites.add(site)
        uow.commit()
    doc = factories.agreement_document(capacity={"gpus": 256, "gpu_model": "H100"})
    agreements.create_agreement(app.uow(), CTX, SourceDocument("d.yaml", doc))
    agreements.sign_agreement(app.uow(), CTX, "deal-1", datetime(2026, 10, 1, tzinfo=UTC))
    plan = allocation.apply_for_agreement(app.uow(), CTX, "deal-1", Decimal("0.25"))
    # 256 GPUs = 4 racks of 64; 25 % of 4 = 1 spare rack, the next one in the hall
    assert plan.racks == ["r0001", "r0002", "r0003", "r0004"] and plan.spares == ("r0005",)
    at = datetime(2027, 3, 1, tzinfo=UTC)
    failed, spare = allocation.fail_node(app.uow(), CTX, "test-1", "r0002-n05", at)
    assert (failed.kind, failed.node) == (HolderKind.MAINTENANCE, "r0002-n05")
    assert (spare.kind, spare.holder, spare.node) == (HolderKind.AGREEMENT, "deal-1", "r0005-n01")
    # the reasons are stored and read back: why each node is held by whom
    now = {h.node: h for h in allocation.holdings(app.uow(), "test-1", at)}
    assert now["r0002-n05"].reason == "failed; was deal-1's"
    assert now["r0005-n01"].reason == "replaces r0002-n05"
    assert (now["r0005-n01"].start, now["r0005-n01"].end) == (
        at,
        datetime(2028, 1, 1, 6, tzinfo=UTC),
    )
    assert now["r0005-n02"].reason == "spares kept for deal-1"  # the rest of the spare rack
    assert now["r0001-n01"].reason == "deal-1 from 2027-01-01"  # term from Jan 1 (Chicago)
    with app.uow() as uow:
        applied = [
            e for e in uow.audit.entries("agreement", "deal-1") if e.action.startswith("allocation")
        ]
        swapped = uow.audit.entries("node", "test-1/r0002-n05")
    assert applied == [
        AuditEntry(
            WRITTEN,
            NOW,
            "tester",
            "allocation.apply",
            "agreement",
            "deal-1",
            {"site": "test-1", "racks": 4, "spares": 1, "halls": {"hall-1": 4}},
        )
    ]
    assert swapped == [
        AuditEntry(
            WRITTEN,
            NOW,
            "tester",
            "allocation.fail_node",
            "node",
            "test-1/r0002-n05",
            {
                "at": "2027-03-01T00:00:00+00:00",
                "failed_at": "2027-03-01T00:00:00+00:00",  # not given: the swap's instant
                "holder": "deal-1",
                "replacement": "r0005-n01",
            },
        )
    ]
    tenant_nodes = {
        h.node
        for h in allocation.holdings(app.uow(), "test-1", at)
        if h.kind is HolderKind.AGREEMENT
    }
    assert len(tenant_nodes) == 32 and "r0002-n05" not in tenant_nodes
    before = {
        h.node
        for h in allocation.holdings(app.uow(), "test-1", at - timedelta(microseconds=1))
        if h.kind is HolderKind.AGREEMENT
    }
    assert "r0002-n05" in before and "r0005-n01" not in before  # history kept
    assert overlapping_pairs(app) == 0
    with pytest.raises(Conflict, match="not held by an agreement"):
        allocation.fail_node(app.uow(), CTX, "test-1", "r0002-n05", at)


def test_release_ends_what_runs_and_removes_what_has_not_started(app: App) -> None:
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=8)))
    with app.uow() as uow:
        uow.sites.add(site)
        uow.allocations.allocate_racks(  # someone else's node holdings: never released here
            "test-1", ["r0008"], kind=HolderKind.MAINTENANCE, key="", start=NOW, end=None,
            reason="cooling work",
        )  # fmt: skip
        uow.commit()
    doc = factories.agreement_document(capacity={"gpus": 256, "gpu_model": "H100"})
    agreements.create_agreement(app.uow(), CTX, SourceDocument("d.yaml", doc))
    agreements.sign_agreement(app.uow(), CTX, "deal-1", datetime(2026, 10, 1, tzinfo=UTC))
    allocation.apply_for_agreement(app.uow(), CTX, "deal-1", Decimal("0.25"))
    # 4 racks + 1 spare rack of 8 nodes = 40 node holdings from 2027-01-01 06:00 UTC
    june = datetime(2027, 6, 1, tzinfo=UTC)
    assert allocation.release(app.uow(), CTX, "deal-1", june) == 40
    assert racks_held(app, june - timedelta(microseconds=1), "test-1") == {
        "agreement deal-1": 4,
        "spare deal-1": 1,
        "maintenance": 1,
    }
    assert racks_held(app, june, "test-1") == {"maintenance": 1}
    with app.uow() as uow:
        (entry,) = [
            e for e in uow.audit.entries("agreement", "deal-1") if e.action == "allocation.release"
        ]
    assert entry.details == {"at": "2027-06-01T00:00:00+00:00", "rows": 40}
    # earlier again: the same 40 end earlier; before the term starts: all 40 disappear
    assert allocation.release(app.uow(), CTX, "deal-1", datetime(2027, 3, 1, tzinfo=UTC)) == 40
    assert allocation.release(app.uow(), CTX, "deal-1", datetime(2026, 12, 1, tzinfo=UTC)) == 40
    left = allocation.holdings(app.uow(), "test-1")
    assert {(h.kind, h.rack, h.reason) for h in left} == {
        (HolderKind.MAINTENANCE, "r0008", "cooling work")
    }
    assert len(left) == 8


def test_a_site_with_allocations_cannot_be_replaced(app: App) -> None:
    reference(app)
    allocation.apply_for_agreement(app.uow(), CTX, "memphis-lease")
    with pytest.raises(Conflict, match="allocations"):
        fleet.import_fleet(app.uow(), CTX, read_document(EXAMPLES / "fleet.yaml"), replace=True)


def test_a_site_that_agreements_name_is_replaced_in_place(app: App) -> None:
    def load(racks: int, display_name: str) -> fleet.ImportReport:
        doc = factories.fleet(
            factories.site_document("test-1", racks=racks, display_name=display_name)
        )
        return fleet.import_fleet(app.uow(), CTX, doc, replace=True)

    load(2, "Test site")
    doc = factories.agreement_document(capacity={"gpus": 128, "gpu_model": "H100"})
    agreements.create_agreement(app.uow(), CTX, SourceDocument("d.yaml", doc))
    with app.engine.connect() as conn:
        row_id = conn.execute(text("select id from sites")).scalar_one()
    report = load(3, "Test site, three racks")
    assert report.replaced == ("test-1",)
    with app.uow() as uow:
        site = uow.sites.get("test-1")
        (entry,) = [e for e in uow.audit.entries("site", "test-1") if e.action == "fleet.replace"]
    assert site.display_name == "Test site, three racks"
    assert [r.name for h in site.halls for r in h.racks] == ["r0001", "r0002", "r0003"]
    # 3 racks of 8 nodes of 8 H100
    assert dict(entry.details) == {
        "source": "test.yaml",
        "halls": 1,
        "racks": 3,
        "nodes": 24,
        "gpus": 192,
    }
    with app.engine.connect() as conn:  # the same row, updated: the agreement still names it
        assert conn.execute(text("select id from sites")).scalar_one() == row_id
    assert agreement_views.get_agreement(app.uow(), "deal-1").terms.site == "test-1"


def test_too_much_is_refused_before_anything_is_written(app: App) -> None:
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=16)))
    with app.uow() as uow:
        uow.sites.add(site)
        uow.commit()
    doc = factories.agreement_document(capacity={"gpus": 1000, "gpu_model": "H100"})
    agreements.create_agreement(app.uow(), CTX, SourceDocument("d.yaml", doc))  # 1,024 fit
    agreements.sign_agreement(app.uow(), CTX, "deal-1", datetime(2026, 10, 1, tzinfo=UTC))
    smaller = factories.fleet(factories.site_document("test-1", racks=2))  # then racks go
    fleet.import_fleet(app.uow(), CTX, smaller, replace=True)
    with pytest.raises(InsufficientCapacity, match="largest amount that fits is 128 H100"):
        allocation.apply_for_agreement(app.uow(), CTX, "deal-1")
    assert allocation.holdings(app.uow(), "test-1") == []


# What each refusal says. Conflict: the database's exclusion constraint refused the rows
# (the adapter's words for SQLSTATE 23P01). InsufficientCapacity: the planner saw the racks
# held already; the four racks' 256 GPUs are all taken, so 0 fit.
DATABASE_REFUSAL = "another allocation got there first"


def planner_refusal(winner: str) -> str:
    return f"the rest is held by agreement {winner}. The largest amount that fits is 0 H100 GPUs."


def contenders(postgres_url: str, tmp_path: Path) -> tuple[App, list[str]]:
    """A 4-rack site and 20 signed agreements that each want all four racks for 2027."""
    from tests.conftest import _truncate  # noqa: PLC0415

    _truncate(postgres_url)
    app = App(Settings(home=tmp_path, database_url=postgres_url, actor="t"), CTX.clock)
    app.__dict__["engine"] = make_engine(postgres_url, pool_size=25)  # 20 open at once
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=4)))
    with app.uow() as uow:
        uow.sites.add(site)
        uow.commit()
    keys = [f"deal-{i:02d}" for i in range(20)]
    for key in keys:
        doc = factories.agreement_document(key, capacity={"gpus": 256, "gpu_model": "H100"})
        agreements.create_agreement(app.uow(), CTX, SourceDocument(f"{key}.yaml", doc))
        agreements.sign_agreement(app.uow(), CTX, key, datetime(2026, 10, 1, tzinfo=UTC))
    return app, keys


def race(keys: list[str], apply: Callable[[str], object]) -> dict[str, Exception | None]:
    """Run ``apply`` for every key in its own thread, all released at once; each key's
    outcome is None (it went through) or the exception it raised."""
    start = threading.Barrier(len(keys), timeout=60)
    outcomes: dict[str, Exception | None] = {}

    def attempt(key: str) -> None:
        try:
            start.wait()
            apply(key)
            outcomes[key] = None
        except Exception as exc:  # recorded, judged by the test
            outcomes[key] = exc

    threads = [threading.Thread(target=attempt, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def the_winner_holds_the_four_racks(app: App, outcomes: dict[str, Exception | None]) -> str:
    (winner,) = [k for k, v in outcomes.items() if v is None]
    held = allocation.holdings(app.uow(), "test-1")
    assert len(held) == 32 and {h.holder for h in held} == {winner}  # 4 racks x 8 nodes
    assert overlapping_pairs(app) == 0
    return winner


def test_twenty_concurrent_allocations_of_the_same_racks(postgres_url: str, tmp_path: Path) -> None:
    """Real concurrent connections to PostgreSQL: exactly one wins. Allocations of a site
    queue on its row lock, so each loser plans after the winner committed and is refused
    by the planner, which names the winner. Nothing else may happen."""
    app, keys = contenders(postgres_url, tmp_path)
    try:
        outcomes = race(keys, lambda key: allocation.apply_for_agreement(app.uow(), CTX, key))
        winner = the_winner_holds_the_four_racks(app, outcomes)
        losers = {k: v for k, v in outcomes.items() if k != winner}
        assert set(losers) == set(keys) - {winner}
        for refusal in losers.values():
            assert type(refusal) is InsufficientCapacity, refusal
            assert str(refusal).endswith(planner_refusal(winner)), refusal
    finally:
        app.close()


def test_twenty_allocations_planned_before_any_writes(postgres_url: str, tmp_path: Path) -> None:
    """Allocations queue on the site's row lock, so planners do not race. Take the lock
    away (as a writer that skipped it would) and let all 20 plan on the empty site before
    any writes: the planner approves all 20, so the database alone decides. One wins, 19
    are refused by the exclusion constraint. A 21st attempt afterwards, with the lock, is
    refused by the planner."""
    app, keys = contenders(postgres_url, tmp_path)
    planned = threading.Barrier(len(keys), timeout=60)

    class WritesAfterEveryonePlanned(SqlUnitOfWork):
        def __enter__(self) -> WritesAfterEveryonePlanned:
            super().__enter__()
            self.sites.lock = lambda name: 0  # type: ignore[method-assign]
            write = self.allocations.allocate_racks

            def allocate_racks(*args: Any, **kwargs: Any) -> int:
                planned.wait()
                return write(*args, **kwargs)

            self.allocations.allocate_racks = allocate_racks  # type: ignore[method-assign]
            return self

    try:
        outcomes = race(
            keys,
            lambda key: allocation.apply_for_agreement(
                WritesAfterEveryonePlanned(app.engine), CTX, key
            ),
        )
        winner = the_winner_holds_the_four_racks(app, outcomes)
        for key, outcome in outcomes.items():
            if key != winner:
                assert type(outcome) is Conflict and DATABASE_REFUSAL in str(outcome), outcome
        late = next(k for k in keys if k != winner)
        with pytest.raises(InsufficientCapacity) as no:
            allocation.apply_for_agreement(app.uow(), CTX, late)
        assert str(no.value).endswith(planner_refusal(winner))
    finally:
        app.close()


def test_tenant_terminates_when_a_tranche_is_late(app: App) -> None:
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=6)))
    with app.uow() as uow:
        uow.sites.add(site)
        uow.commit()
    termination = {
        "notice_days": 90,
        "may_give_notice": ["operator", "tenant"],
        "late_delivery_grace_days": 30,
    }
    # 128 GPUs (2 racks) in January, 384 (6 racks) from February: only January's is delivered
    ramp = [
        {
            "start": "2027-01-01",
            "end": "2027-02-01",
            "capacity_share": Decimal("0.3333"),
            "price_factor": Decimal(1),
        }
    ]
    doc = factories.agreement_document(
        capacity={"gpus": 384, "gpu_model": "H100"}, ramp=ramp, termination=termination
    )
    agreements.create_agreement(app.uow(), CTX, SourceDocument("d.yaml", doc))
    agreements.sign_agreement(app.uow(), CTX, "deal-1", datetime(2026, 10, 1, tzinfo=UTC))
    with app.uow() as uow:  # January's tranche delivered on time: racks 1-2
        uow.allocations.allocate_racks(
            "test-1",
            ["r0001", "r0002"],
            kind=HolderKind.AGREEMENT,
            key="deal-1",
            start=datetime(2027, 1, 1, 6, tzinfo=UTC),
            end=datetime(2028, 1, 1, 6, tzinfo=UTC),
            reason="t",
        )
        uow.commit()
    january, february = datetime(2027, 1, 1, 6, tzinfo=UTC), datetime(2027, 2, 1, 6, tzinfo=UTC)
    late = Context("tester", FixedClock(datetime(2027, 3, 10, tzinfo=UTC)))
    with pytest.raises(Conflict, match="delivered in time"):
        allocation.terminate_for_late_delivery(app.uow(), late, "deal-1", tranche_start=january)
    with pytest.raises(InvalidInput, match="grace period"):  # February's grace ends March 3
        allocation.terminate_for_late_delivery(
            app.uow(), late, "deal-1", tranche_start=february, at=datetime(2027, 3, 2, tzinfo=UTC)
        )
    notice = allocation.terminate_for_late_delivery(
        app.uow(), late, "deal-1", tranche_start=february
    ).notice
    assert notice.effective_at == datetime(2027, 3, 10, tzinfo=UTC)
    stored = agreement_views.get_agreement(app.uow(), "deal-1")
    assert stored.service_end == datetime(2027, 3, 10, tzinfo=UTC)
    assert allocation.holdings(app.uow(), "test-1", datetime(2027, 3, 10, tzinfo=UTC)) == []
    assert len(allocation.holdings(app.uow(), "test-1", datetime(2027, 3, 9, tzinfo=UTC))) == 16
    # the termination is an event like any notice, effective at once (the scan then says the
    # term ended: service ended at the termination)
    (given,) = events.list_events(app.uow(), kind=EventKind.NOTICE_GIVEN)
    assert given.event.occurred_at == datetime(2027, 3, 10, tzinfo=UTC)
    assert given.event.payload["effective_at"] == "2027-03-10T00:00:00Z"

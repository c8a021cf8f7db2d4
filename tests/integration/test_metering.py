"""Metering a month worked by hand (``metering_case.py``), on each database, through to the
invoice's SLA credit. Every expected figure is computed here from the case's words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from neocloud.adapters.telemetry.metering import DuckDbMeter
from neocloud.adapters.telemetry.store import ParquetStore
from neocloud.bootstrap import App
from neocloud.domain.billing.drafts import LineKind
from neocloud.domain.billing.invoices import DocumentKind
from neocloud.domain.kernel.errors import Conflict
from neocloud.domain.metering.availability import Cause
from neocloud.domain.metering.report import Late
from neocloud.services import agreements, billing, metering, telemetry
from neocloud.services.billing import AvailabilitySource
from neocloud.services.context import Context
from tests.integration import metering_case as case

MINUTES = 30 * 24 * 60  # June 2027 in Chicago: 43,200 minutes
CENT = Decimal("0.01")


@pytest.fixture(params=[False, True], ids=["silences-worked-out", "silences-in-the-rollup"])
def meter(app: App, tmp_path: Path, request: pytest.FixtureRequest) -> DuckDbMeter:
    """The case's rollup with or without each row's silence before it: the same answers."""
    store = ParquetStore(tmp_path / "telemetry")
    case.write_rollups(store, silences=request.param)
    return DuckDbMeter(store)


def test_a_month_metered_per_gpu(app: App, meter: DuckDbMeter) -> None:
    case.setup(app)
    m = metering.meter_agreement(app.uow(), meter, "deal-1", "2027-06")
    a = m.availability
    gpu_min = Decimal(60)  # unit-seconds per GPU-minute
    held = 16 * MINUTES  # 691,200 GPU-minutes
    excluded = 8 * 480  # A's announced 8 hours
    failed = 8 * 180  # A from the failure to the swap
    xid = 1 * 600  # A's GPU 3
    missing = 1 * 120  # B's GPU 7
    silent = 8 * (120 - 5)  # B's 2 silent hours less the 5-minute grace
    grace = 8 * 5
    assert a.plan.held_unit_s == held * gpu_min
    assert a.plan.excluded_unit_s == excluded * gpu_min
    assert a.down_unit_s == {
        Cause.XID: xid * gpu_min,
        Cause.MISSING: missing * gpu_min,
        Cause.SILENT: silent * gpu_min,
        Cause.FAILED: failed * gpu_min,
    }
    assert a.observed.grace_unit_s == grace * gpu_min
    required = held - excluded  # 687,360
    available = required - (xid + missing + silent + failed)  # 684,280
    assert (required, available) == (687_360, 684_280)
    assert a.ratio == Decimal("0.995519")  # 684,280 / 687,360 = 0.9955190..., truncated
    # reported: A 42,540 minutes (less maintenance and failure), B 43,080 (less its silence)
    covered = (42_540 + 43_080) * 8 + failed  # a silence's grace is not telemetry
    assert a.coverage_ratio == (Decimal(covered) / required).quantize(
        Decimal("0.000001"), "ROUND_DOWN"
    )
    assert a.covered
    assert m.held_gpu_hours == 11_520
    # energy: GPU-minutes that reported, 1 kW each: A 42,720 x 8, B 43,080 x 8 - 120
    gpu_minutes = 42_720 * 8 + 43_080 * 8 - 120  # 686,280
    assert m.gpu_kwh == Decimal(gpu_minutes) / 60  # 11,438 kWh
    assert m.it_kwh == Decimal(gpu_minutes) / 60 * Decimal("1.3")  # H100's server overhead
    assert m.facility_kwh == Decimal(gpu_minutes) / 60 * Decimal("1.3") * Decimal("1.2")


def before_june(app: App, ctx: Context) -> None:
    """January to May 2027 have no telemetry: invoiced without SLA figures."""
    billing.close_month(app.uow(), ctx, "2027-05", source=AvailabilitySource.MANUAL)


def test_the_invoice_carries_the_metered_credit_to_the_cent(app: App, meter: DuckDbMeter) -> None:
    ctx = case.setup(app)
    before_june(app, ctx)
    report = billing.close_month(
        app.uow(), ctx, "2027-06", meter=meter, source=AvailabilitySource.AUTO
    )
    june = next(i for i in report.issued if i.period == "2027-06")
    lines = {x.kind: x for x in june.lines}
    assert lines[LineKind.CAPACITY_FEE].amount == Decimal("1234567.89")
    # 0.995519 < 0.996: the 10 % tier; 10 % of 1,234,567.89 = 123,456.789 -> 123,456.79
    credit = (case.FEE * Decimal("0.10")).quantize(CENT, ROUND_HALF_UP)
    assert credit == Decimal("123456.79")
    assert lines[LineKind.SLA_CREDIT].amount == -credit
    assert lines[LineKind.SLA_CREDIT].description == (
        "SLA credit 2027-06: availability 99.5519 % (metered) < target 99.9 %, "
        "10 % of the period's charges"
    )
    assert june.total.amount == Decimal("1111111.10")
    with app.uow() as uow:
        assert uow.agreements.recorded_availability("deal-1", "2027-06") == (
            Decimal("0.995519"),
            "metered",
        )
        audited = [e for e in uow.audit.entries("agreement", "deal-1")
                   if e.action == "agreement.availability"]  # fmt: skip
    assert audited[-1].details["source"] == "metered"
    assert audited[-1].details["period"] == "2027-06"


def test_a_month_without_telemetry_is_refused_unless_told_manual(
    app: App, meter: DuckDbMeter
) -> None:
    ctx = case.setup(app)
    refused = billing.close_month(app.uow(), ctx, "2027-01", meter=meter)
    assert refused.issued == []  # January has no telemetry at all
    problem = refused.failed["deal-1"]
    assert isinstance(problem, Conflict)
    assert problem.message == (
        "telemetry covers 0.00 % of deal-1's units in 2027-01 (at least 95 % is needed to "
        "meter its availability): ingest the missing telemetry, record the availability by "
        "hand, or close with the manual availability source"
    )
    manual = billing.close_month(app.uow(), ctx, "2027-01", source=AvailabilitySource.MANUAL)
    (january,) = manual.issued
    assert [x.kind for x in january.lines] == [LineKind.CAPACITY_FEE]  # no figure: no credit


def test_a_figure_recorded_by_hand_wins_over_telemetry(app: App, meter: DuckDbMeter) -> None:
    ctx = case.setup(app)
    before_june(app, ctx)
    agreements.record_availability(app.uow(), ctx, "deal-1", "2027-06", Decimal("0.98"))
    report = billing.close_month(
        app.uow(), ctx, "2027-06", meter=meter, source=AvailabilitySource.METERED
    )
    june = next(i for i in report.issued if i.period == "2027-06")
    credit = next(x for x in june.lines if x.kind is LineKind.SLA_CREDIT)
    assert credit.amount == -(case.FEE * Decimal("0.30")).quantize(CENT, ROUND_HALF_UP)
    assert "availability 98 % (manual)" in credit.description


def test_explain_says_which_gpus_were_down_when_and_why(app: App, meter: DuckDbMeter) -> None:
    case.setup(app)
    found = metering.explain(app.uow(), meter, "deal-1", "2027-06")
    down = {(d.node, d.cause): d for d in found.down}
    assert set(down) == {(case.A, Cause.XID), (case.B, Cause.MISSING), (case.B, Cause.SILENT)}
    xid = down[case.A, Cause.XID]
    assert (xid.first, xid.last) == (case.XID_A3[0], case.XID_A3[0] + case.XID_A3[1])
    assert xid.unit_s == 600 * 60
    silent = down[case.B, Cause.SILENT]
    assert silent.first == datetime(2027, 6, 12, 14, 5, tzinfo=UTC)  # after the grace
    assert silent.last == datetime(2027, 6, 12, 16, tzinfo=UTC)
    assert silent.unit_s == 8 * 115 * 60
    assert down[case.B, Cause.MISSING].unit_s == 120 * 60
    ((node, when, why),) = found.excluded
    assert (node, when.start, when.end, why) == (
        case.A, case.MAINTENANCE_A[0], case.MAINTENANCE_A[0] + case.MAINTENANCE_A[1],
        "maintenance: fw",
    )  # fmt: skip
    ((node, when),) = found.failed
    assert (node, when.start, when.end) == (
        case.A,
        case.FAILED_A[0],
        datetime(2027, 6, 10, 3, tzinfo=UTC),
    )


def test_per_node_a_node_is_up_only_when_all_its_gpus_are(app: App, meter: DuckDbMeter) -> None:
    case.setup(app, {**case.SLA, "measured_per": "node"})
    a = metering.meter_agreement(app.uow(), meter, "deal-1", "2027-06").availability
    held = 2 * MINUTES  # 86,400 node-minutes
    excluded = 480
    down = 180 + 600 + 120 + 115  # failed, xid (any GPU), missing (any GPU), silent
    assert a.plan.held_unit_s == held * 60
    required = held - excluded  # 85,920
    assert a.ratio == Decimal("0.988186")  # 84,905 / 85,920 = 0.98818668..., truncated
    assert required - down == 84_905
    assert sum(a.down_unit_s.values()) == down * 60


def test_maintenance_must_name_nodes_the_site_has(app: App) -> None:
    from neocloud.domain.kernel.errors import InvalidInput  # noqa: PLC0415

    ctx = case.setup(app)
    with pytest.raises(InvalidInput) as err:
        metering.announce_maintenance(
            app.uow(), ctx, "test-1", ["r0001-n01", "nope-1"],
            start=datetime(2027, 8, 1, tzinfo=UTC), end=datetime(2027, 8, 2, tzinfo=UTC),
        )  # fmt: skip
    assert err.value.problems[0].message == "names no node of site test-1"
    assert str(err.value.problems[0].value) == "nope-1"


def test_late_telemetry_for_an_invoiced_month_is_flagged_and_proposes_a_note(
    app: App, meter: DuckDbMeter, tmp_path: Path
) -> None:
    """June invoiced at 99.99 % typed by hand (no credit); then a page of A's GPU 0 from
    15 June lands: kept, flagged against June's invoice. Billing June at the metered
    99.5519 % instead would credit 10 % of the fee: 123,456.79 (see above)."""
    ctx = case.setup(app)
    before_june(app, ctx)
    agreements.record_availability(app.uow(), ctx, "deal-1", "2027-06", Decimal("0.9999"))
    closed = billing.close_month(app.uow(), ctx, "2027-06", source=AvailabilitySource.MANUAL)
    june = next(i for i in closed.issued if i.period == "2027-06")
    assert june.total.amount == case.FEE  # 99.99 % >= the 99.9 % target: no credit
    page = tmp_path / "late.prom"
    page.write_text(f'DCGM_FI_DEV_GPU_UTIL{{gpu="0",Hostname="{case.A}"}} 50\n')
    stamp = datetime(2027, 6, 15, tzinfo=UTC)
    batch = app.read_telemetry([page], site="test-1", at=stamp, format=None)
    report = telemetry.ingest(app.uow(), app.telemetry_store(), batch)
    assert report.written.kept == 1  # kept, not refused
    assert report.late == (Late("deal-1", "2027-06", june.number, "2027-06-15", 1),)
    assert report.as_dict()["late"] == [
        {"agreement": "deal-1", "period": "2027-06", "invoice": june.number,
         "day": "2027-06-15", "nodes": 1}
    ]  # fmt: skip
    july = app.read_telemetry([page], site="test-1", at=datetime(2027, 7, 15, tzinfo=UTC),
                              format=None)  # fmt: skip
    assert telemetry.ingest(app.uow(), app.telemetry_store(), july).late == ()  # not invoiced
    proposal = billing.propose_correction(app.uow(), "deal-1", "2027-06", Decimal("0.995519"))
    assert proposal is not None
    assert (proposal.invoice, proposal.kind) == (june.number, DocumentKind.CREDIT_NOTE)
    assert proposal.total.amount == Decimal("-123456.79")
    assert billing.propose_correction(app.uow(), "deal-1", "2027-06", Decimal("0.9999")) is None
    with app.uow() as uow:  # proposing issued nothing
        assert [d.number for d in uow.invoices.list("deal-1")][-1] == june.number

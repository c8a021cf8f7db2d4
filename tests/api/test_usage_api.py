"""``GET /v1/agreements/{key}/usage`` (the dashboard's usage service, memoized per audit-log
version) and ``GET /v1/agreements/{key}/metering``. Expected figures are worked by hand:
16 H100 GPUs held from 2027-01-01 00:00 Chicago; business now 2027-03-02."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import update

from neocloud.adapters.db.tables import allocations
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreements, allocation, audit, dashboard
from neocloud.services.context import Context
from tests import factories
from tests.api.conftest import SIGNED, World

JAN_H, FEB_H = 31 * 24, 28 * 24
MAR_H = 31 * 24 - 1  # 2027-03-14: the clocks go forward an hour in Chicago
SLA = {
    "availability_target": Decimal("0.99"),
    "measured_per": "gpu",
    "credit_tiers": [
        {"below": Decimal("0.99"), "credit_share": Decimal("0.10")},
        {"below": Decimal("0.95"), "credit_share": Decimal("0.30")},
    ],
    "cap_share": Decimal("1.00"),
    "maintenance_notice_hours": 48,
}


def usage(world: World, key: str, who: str = "lab-a", **query: str) -> dict[str, object]:
    response = world.client.get(f"/v1/agreements/{key}/usage", params=query, headers=world.as_(who))
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def months(data: dict[str, object]) -> dict[str, dict[str, object]]:
    return {m["period"]: m for m in data["months"]}  # type: ignore[attr-defined]


def test_a_tenant_reads_its_gpu_hours_month_by_month(world: World) -> None:
    data = usage(world, "deal-a")
    assert data["agreement"] == "deal-a" and data["tenant"] == "lab-a"
    assert data["gpus_held_now"] == 16
    assert data["availability_target"] is None  # no SLA in this deal
    assert [
        (m["period"], m["held_gpu_hours"], m["availability_ratio"], m["sla_credits"])
        for m in months(data).values()
    ] == [
        ("2027-01", str(16 * JAN_H), None, "0.00"),
        ("2027-02", str(16 * FEB_H), None, "0.00"),
        ("2027-03", str(16 * MAR_H), None, "0.00"),  # the month of now, whole
    ]
    assert list(months(usage(world, "deal-a", period="2027-02"))) == ["2027-02"]
    assert list(months(usage(world, "deal-a", **{"from": "2027-02"}))) == ["2027-02", "2027-03"]
    assert list(months(usage(world, "deal-a", to="2027-01"))) == ["2027-01"]


def test_bad_months_are_named(world: World) -> None:
    a = world.as_("lab-a")
    for query, field in (
        ({"period": "2027-13"}, "period"),
        ({"from": "2027-03", "to": "2027-01"}, "to"),
        ({"period": "2027-01", "to": "2027-02"}, "period"),
    ):
        response = world.client.get("/v1/agreements/deal-a/usage", params=query, headers=a)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["errors"][0]["field"] == field
    foreign = world.client.get("/v1/agreements/deal-b/usage", headers=a)
    assert foreign.status_code == 404
    assert foreign.json()["detail"] == "agreement 'deal-b' does not exist"


def test_every_change_is_visible_on_the_next_read(world: World) -> None:
    """A deal with an SLA, read (the memo keeps it) between each change: availability
    recorded, an invoice issued, the capacity released."""
    ops = Context("setup", FixedClock(SIGNED), wall=world.app.wall)
    doc = factories.agreement_document(
        "deal-s", tenant="lab-a", capacity={"gpus": 16, "gpu_model": "H100"}, sla=SLA
    )
    agreements.create_agreement(world.app.uow(), ops, SourceDocument("deal-s.yaml", doc))
    agreements.sign_agreement(world.app.uow(), ops, "deal-s", SIGNED)
    allocation.apply_for_agreement(world.app.uow(), ops, "deal-s")
    first = months(usage(world, "deal-s"))
    assert first["2027-01"]["availability_ratio"] is None
    assert first["2027-01"]["sla_credits"] == "0.00"

    staff = world.as_("operator")
    recorded = world.client.post(
        "/v1/agreements/deal-s/availability",
        json={"period": "2027-01", "availability_ratio": "0.97"},
        headers=staff,
    )
    assert recorded.status_code in (200, 201), recorded.text
    second = months(usage(world, "deal-s"))["2027-01"]
    assert (second["availability_ratio"], second["credit_share"]) == ("0.97", "0.1")
    assert second["sla_credits"] == "0.00"  # not invoiced yet

    closed = world.client.post(
        "/v1/billing/close", json={"period": "2027-01"}, headers=world.as_("finance")
    )
    assert closed.status_code == 200, closed.text
    third = months(usage(world, "deal-s"))["2027-01"]
    assert third["sla_credits"] == "-100000.00"  # 10 % of USD 1,000,000.00

    feb_15 = datetime(2027, 2, 15, 6, tzinfo=UTC)  # 00:00 in Chicago (CST)
    allocation.release(world.app.uow(), ops, "deal-s", feb_15)
    fourth = usage(world, "deal-s")
    assert months(fourth)["2027-02"]["held_gpu_hours"] == str(16 * 14 * 24)
    assert months(fourth)["2027-03"]["held_gpu_hours"] == "0"
    assert fourth["gpus_held_now"] == 0


def test_the_memo_is_kept_until_the_audit_log_moves(world: World) -> None:
    """White box: a change made behind the services' back (no audit entry) is not seen,
    which shows the memo is used; the next audited change of anything makes it read
    again. The version moves with every entry committed."""
    memo = dashboard.UsageMemo()
    now = world.app.clock.now()
    before = dashboard.agreement_usage(world.app.uow(), "deal-a", now, memo)
    assert before.gpus_held_now == 16
    start = datetime(2027, 2, 1, 6, tzinfo=UTC)
    with world.app.uow().write() as uow:  # unaudited: no service does this
        uow.connection.execute(  # type: ignore[attr-defined]
            update(allocations).where(allocations.c.holder_key == "deal-a").values(ends_at=start)
        )
        uow.commit()
    kept = dashboard.agreement_usage(world.app.uow(), "deal-a", now, memo)
    assert kept.gpus_held_now == 16 and kept.months == before.months
    version = audit_version(world)
    world.client.post("/v1/api-keys", json={"role": "auditor"}, headers=world.as_("admin"))
    assert audit_version(world) == (version[0] + 1, version[1] + 1)
    fresh = dashboard.agreement_usage(world.app.uow(), "deal-a", now, memo)
    assert fresh.gpus_held_now == 0
    assert [m.held_gpu_hours for m in fresh.months] == [16 * JAN_H, 0, 0]
    unmemoized = dashboard.agreement_usage(world.app.uow(), "deal-a", now)
    assert unmemoized == fresh


def audit_version(world: World) -> tuple[int, int]:
    with world.app.uow() as uow:
        return uow.audit.version()


def test_the_version_counts_entries(world: World) -> None:
    count, newest = audit_version(world)
    assert count == len(audit.audit_entries(world.app.uow())) and newest >= count


def test_metering_needs_an_ended_month_and_telemetry(world: World) -> None:
    a = world.as_("lab-a")
    open_month = world.client.get("/v1/agreements/deal-a/metering?period=2027-03", headers=a)
    assert open_month.status_code == 422, open_month.text
    assert open_month.json()["errors"][0]["field"] == "period"
    none = world.client.get("/v1/agreements/deal-a/metering?period=2027-02", headers=a)
    assert none.status_code == 404, none.text
    assert "no telemetry" in none.json()["detail"]
    foreign = world.client.get("/v1/agreements/deal-b/metering?period=2027-02", headers=a)
    assert foreign.status_code == 404
    assert foreign.json()["detail"] == "agreement 'deal-b' does not exist"

"""The dashboard's slow figures (a site's use by month, its economics) are kept
(``services/dashboard.FiguresMemo``), and every change of what they read shows on the next
view: telemetry ingested, an agreement signed and allocated."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from neocloud.domain.kernel.documents import SourceDocument
from neocloud.services import agreements, allocation
from neocloud.services.context import Context
from neocloud.services.dashboard import DataVersion, FiguresMemo
from tests import factories
from tests.web.conftest import SIGNED, Visitor, World
from tests.web.test_browser import simulate_january

JANUARY = "/fleet?from=2027-01&to=2027-01"
JANUARY_ECONOMICS = "/economics/test-1?from=2027-01&to=2027-01"
HOURS = 744  # January 2027 in Chicago: 31 days, no DST change


def test_figures_are_kept_until_the_audit_log_or_the_telemetry_moves() -> None:
    memo, calls = FiguresMemo(), []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    files = ("node_minutes/day=2027-01-01/a.parquet",)
    first = DataVersion((3, 10), files)
    assert memo.get("fleet", first, compute) == 1
    assert memo.get("fleet", first, compute) == 1  # kept: not computed again
    assert memo.get("economics", first, compute) == 2  # another key, its own figures
    audited = DataVersion((4, 11), first.telemetry)
    assert memo.get("fleet", audited, compute) == 3
    ingested = DataVersion(audited.audit, (*files, "node_minutes/day=2027-01-02/b.parquet"))
    assert memo.get("fleet", ingested, compute) == 4
    assert memo.get("fleet", first, compute) == 5  # only the last version is kept


def test_a_failed_computation_keeps_nothing() -> None:
    memo, version = FiguresMemo(), DataVersion((1, 1), ())

    def broken() -> int:
        raise ValueError("telemetry unreadable")

    with pytest.raises(ValueError, match="unreadable"):
        memo.get("fleet", version, broken)
    assert memo.get("fleet", version, lambda: 7) == 7


def cells(html: str, period: str) -> dict[str, Decimal]:
    """The utilization table's GPU-hours of ``period``, by use."""
    row = re.search(rf'<tr data-period="{period}">(.*?)</tr>', html, re.DOTALL)
    assert row, f"no row for {period}"
    found = re.findall(r'data-use="(\w+)" data-gpu-hours="([0-9.]+)"', row.group(1))
    return {use: Decimal(hours) for use, hours in found}


def billed(html: str, period: str) -> Decimal:
    found = re.search(
        rf'data-period="{period}" data-column="billed"[^>]*data-value="([-0-9.]+)"', html
    )
    assert found, "no billed cell"
    return Decimal(found.group(1))


def sign_deal_c(world: World) -> None:
    """A third tenant deal for the pool's rack (64 H100) from 2027-01-01: USD 50,000.00."""
    ctx = Context("tester", world.app.clock, world.wall)
    doc = factories.agreement_document(
        "deal-c", tenant="lab-a", capacity={"gpus": 64, "gpu_model": "H100"},
        monthly_fee=Decimal("50000.00"),
    )  # fmt: skip
    agreements.create_agreement(world.app.uow(), ctx, SourceDocument("c.yaml", doc))
    agreements.sign_agreement(world.app.uow(), ctx, "deal-c", SIGNED)
    allocation.apply_for_agreement(world.app.uow(), ctx, "deal-c")


def test_every_change_shows_on_the_next_view(world: World, visitor: Visitor) -> None:
    visitor.login(world.keys["admin"])
    before = cells(visitor.get(JANUARY).text, "2027-01")
    # no telemetry yet: the pool's rack (64 GPUs) is unreported all month
    assert before["leased"] == 2 * 64 * HOURS
    assert before["internal"] + before["idle"] == 0 and before["other"] == 64 * HOURS
    assert cells(visitor.get(JANUARY).text, "2027-01") == before  # the kept figures
    assert billed(visitor.get(JANUARY_ECONOMICS).text, "2027-01") == Decimal("200000.00")

    simulate_january(world)  # telemetry: the store's files change
    reported = cells(visitor.get(JANUARY).text, "2027-01")
    assert reported["internal"] + reported["idle"] == 64 * HOURS and reported["other"] == 0

    sign_deal_c(world)  # the database: audited
    leased = cells(visitor.get(JANUARY).text, "2027-01")
    assert leased["leased"] == 3 * 64 * HOURS
    assert leased["internal"] + leased["idle"] + leased["other"] == 0
    # deal-a 100,000 + deal-b at half price 100,000 + deal-c 50,000
    assert billed(visitor.get(JANUARY_ECONOMICS).text, "2027-01") == Decimal("250000.00")


def february_ratio(html: str) -> str:
    row = re.search(r'<tr data-period="2027-02">(.*?)</tr>', html, re.DOTALL)
    assert row, "no February row"
    ratios: list[str] = re.findall(r'data-ratio="([0-9.]*)"', row.group(1))
    return ratios[0]


def test_the_usage_page_shows_availability_recorded_since(world: World, visitor: Visitor) -> None:
    visitor.login(world.keys["lab-a"])
    assert february_ratio(visitor.get("/agreements/deal-a/usage").text) == ""  # none recorded
    ctx = Context("tester", world.app.clock, world.wall)
    agreements.record_availability(world.app.uow(), ctx, "deal-a", "2027-02", Decimal("0.97"))
    assert february_ratio(visitor.get("/agreements/deal-a/usage").text) == "0.97"

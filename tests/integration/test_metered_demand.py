"""Own demand from the metered internal pool (services/planning.metered_demand), on each
database, with a meter that answers by hand: site test-1 has two nodes of 8 H100 (16 GPUs)
and nobody holds them. Where the meter reports, one node is busy every hour and the other
idle: the month's mean is 8 GPUs exactly (8 GPUs x the month's µs / the month's µs), March's
743 hours (DST) as much as April's 720."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from neocloud.bootstrap import App
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.planning.forecast import DemandPoint
from neocloud.services.planning import metered_demand
from tests import factories

HOUR_US = 3_600_000_000
CHICAGO = ZoneInfo("America/Chicago")


class HandMeter:
    """Reports every UTC hour of the months given (first days, site time zone)."""

    engine = "hand"

    def __init__(self, reported: set[date]) -> None:
        self.reported = reported

    def prepare(self, site: str, during: Interval, critical_xids: frozenset[int]) -> None:
        pass

    def site_use(
        self,
        site: str,
        period: Interval,
        nodes: Sequence[tuple[str, int]],
        holdings: Sequence[tuple[str, datetime, datetime | None]],
        busy_util_ratio: Decimal,
    ) -> dict[int, tuple[int, int]]:
        assert [g for _, g in nodes] == [8, 8] and not holdings
        out, at = {}, period.start
        while at < period.end:
            local = at.astimezone(CHICAGO)
            if date(local.year, local.month, 1) in self.reported:
                us = int(at.timestamp()) * 1_000_000
                out[us] = (8 * HOUR_US, 8 * HOUR_US)
            at += timedelta(hours=1)
        return out

    def measure(self, *args: object) -> Any:
        raise NotImplementedError  # not metering's concern here

    explain = measure
    site_energy = measure


@pytest.fixture
def site_app(app: App) -> App:
    doc = factories.site_document("test-1", racks=1)
    doc["halls"][0]["rack_groups"][0]["nodes_per_rack"] = 2  # type: ignore[index]
    (site,) = parse_fleet(factories.fleet(doc))
    with app.uow().write() as uow:
        uow.sites.add(site)
        uow.commit()
    return app


FEB, MAR, APR = date(2027, 2, 1), date(2027, 3, 1), date(2027, 4, 1)


def test_the_months_metered_give_their_mean_busy_gpus(site_app: App) -> None:
    found = metered_demand(site_app.uow(), HandMeter({MAR, APR}), "test-1", first=FEB, last=APR)
    # February reported nothing: left out before the first recorded month
    assert found == (DemandPoint(MAR, "H100", 8.0), DemandPoint(APR, "H100", 8.0))


def test_a_month_unreported_between_two_recorded_ones_is_refused(site_app: App) -> None:
    with pytest.raises(InvalidInput) as caught:
        metered_demand(site_app.uow(), HandMeter({FEB, APR}), "test-1", first=FEB, last=APR)
    assert (caught.value.problems[0].field, caught.value.problems[0].value) == (
        "telemetry",
        "2027-03",
    )


def test_no_telemetry_at_all_says_to_give_a_file(site_app: App) -> None:
    with pytest.raises(InvalidInput, match="--demand"):
        metered_demand(site_app.uow(), HandMeter(set()), "test-1", first=FEB, last=APR)

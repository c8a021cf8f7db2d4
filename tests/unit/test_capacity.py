"""Conversions against values worked by hand (arithmetic written out in each test)."""

from decimal import Decimal

from neocloud.domain.fleet.capacity import (
    SiteSummary,
    convert_gpus,
    convert_power,
    gpus_in_power,
    hall_totals,
    it_power_of_gpus,
)
from neocloud.domain.fleet.inventory import BUILTIN_GPU_MODELS, Hall
from neocloud.domain.kernel.quantities import Power, PowerBasis
from tests import factories

H100 = BUILTIN_GPU_MODELS["H100"]


def test_ten_thousand_h100_by_hand() -> None:
    # 10,000 x 700 W x 1.3 = 9,100,000 W = 9.1 MW IT; x PUE 1.3 = 11.83 MW facility
    it = it_power_of_gpus(H100, 10_000)
    assert it.mw == Decimal("9.1")
    assert it.to_facility(Decimal("1.3")).mw == Decimal("11.83")


def test_and_back_again() -> None:
    facility = Power.from_mw("11.83", PowerBasis.FACILITY)
    assert gpus_in_power(facility, it_kw_per_gpu=Decimal("0.91"), pue=Decimal("1.3")) == 10_000
    # one watt less is no longer enough for the 10,000th GPU
    short = Power(facility.kw - Decimal("0.001"), PowerBasis.FACILITY)
    assert gpus_in_power(short, it_kw_per_gpu=Decimal("0.91"), pue=Decimal("1.3")) == 9_999


def test_three_hundred_mw_of_gb200() -> None:
    # 300 MW facility / 1.15 = 260.869565.. MW IT; / (1,200 W x 1.3 = 1.56 kW) = 167,224.08
    result = convert_power(
        Power.from_mw(300, PowerBasis.FACILITY),
        pue=Decimal("1.15"),
        it_kw_per_gpu=Decimal("1.56"),
        basis_note="GB200",
        models=[BUILTIN_GPU_MODELS["GB200"], H100],
    )
    assert result.gpus == 167_224
    # 260,869.565 kW / 0.91 kW = 286,669.8 H100
    assert result.gpus_if_only == {"GB200": 167_224, "H100": 286_669}


def test_gpus_to_power() -> None:
    result = convert_gpus(64, pue=Decimal("1.15"), it_kw_per_gpu=Decimal("0.91"), basis_note="")
    assert result.it_power.kw == Decimal("58.24")  # one 64-GPU rack: 8 nodes x 7.28 kW
    assert result.facility_power.kw == Decimal("66.976")  # 58.24 x 1.15


def test_site_summary_from_its_mix() -> None:
    # 2 racks of 8 H100 nodes + 1 rack of 18 GB200 trays
    gb200 = factories.rack("g1", nodes=18, budget="132", model="GB200")
    gb200 = type(gb200)(
        gb200.name,
        gb200.power_budget_kw,
        tuple(type(n)(n.name, "GB200", 4, Decimal("6.7"), Decimal("6.24")) for n in gb200.nodes),
    )
    site = factories.site(halls=(Hall("a", (factories.rack("r1"), factories.rack("r2"), gb200)),))
    summary = SiteSummary(site, hall_totals(site))
    assert summary.gpus == 2 * 64 + 18 * 4  # 200
    assert summary.nodes == 34
    # IT: 16 x 7.28 + 18 x 6.24 = 116.48 + 112.32 = 228.8 kW; x 1.2 = 274.56 kW facility
    assert summary.it_power.kw == Decimal("228.8")
    assert summary.facility_power.kw == Decimal("274.56")
    assert summary.it_kw_per_gpu == Decimal("1.144")  # 228.8 / 200
    assert summary.facility_headroom.kw == Decimal("9725.44")  # 10,000 - 274.56
    assert summary.gpus_by_model() == {"GB200": 72, "H100": 128}

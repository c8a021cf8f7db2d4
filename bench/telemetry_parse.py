"""Parser bench: DCGM exporter pages (1,000 nodes x 8 GPUs x 20 fields, the exporter's
default label set) parsed on one core by neocloud's parser and by prometheus_client, side by
side (CPU time, best of 3). Goals: at least 20x prometheus_client, and at least 10x the
fleet's production rate (29,000 nodes x 8 GPUs x ~20 series a minute = ~77,000 samples/s).
"""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from neocloud.adapters.telemetry.dcgm import read_page
from neocloud.adapters.telemetry.exposition import parse

FIELDS = [
    "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_MEMORY_TEMP",
    "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_ENC_UTIL", "DCGM_FI_DEV_DEC_UTIL", "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_RESERVED",
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_ROW_REMAP_FAILURE",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
]  # fmt: skip
FLEET_RATE = 29_000 * 8 * 20 / 60
AT_US = 1_780_272_000_000_000  # the pages carry no timestamps: read as of 2026-06-01


def page(host: str, salt: int) -> str:
    out = []
    for f, field in enumerate(FIELDS):
        out.append(f"# HELP {field} {field}.\n# TYPE {field} gauge\n")
        for g in range(8):
            labels = (
                f'gpu="{g}",UUID="GPU-{host}-{g:04d}-4d72-b148-5019",pci_bus_id="00000000:{g:02X}:00.0",'
                f'device="nvidia{g}",modelName="NVIDIA H200",Hostname="{host}",'
                f'DCGM_FI_DRIVER_VERSION="580.159.04"'
            )
            out.append(f"{field}{{{labels}}} {(salt * 31 + f * 7 + g) % 700}\n")
    return "".join(out)


def best(run: object, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        began = time.process_time()
        run()  # type: ignore[operator]
        times.append(time.process_time() - began)
    return min(times)


def main() -> None:
    text = "".join(page(f"h1-r{i // 8:04d}-n{i % 8 + 1:02d}", i) for i in range(1000))
    samples = len(parse(text))
    ours = best(lambda: parse(text))
    theirs = best(lambda: sum(len(m.samples) for m in text_string_to_metric_families(text)))
    ingest = best(lambda: read_page(text, source="bench", site="s", default_ts_us=AT_US))
    ours_rate, theirs_rate = samples / ours, samples / theirs
    print(f"parse {samples:,} samples of DCGM pages (1,000 nodes), one core, CPU time")
    print(f"  neocloud          {ours_rate:12,.0f} samples/s")
    print(f"  prometheus_client {theirs_rate:12,.0f} samples/s")
    print(
        f"  ratio {ours_rate / theirs_rate:.1f}x prometheus_client (goal 20x); "
        f"{ours_rate / FLEET_RATE:.1f}x the fleet's {FLEET_RATE:,.0f} samples/s (goal 10x)"
    )
    print(f"  ingest (parse + DCGM -> store rows) {samples / ingest:,.0f} samples/s")


if __name__ == "__main__":
    main()

"""Write examples/own-demand.csv: memphis-1's own demand, 2022-11..2026-10 (docs/PLANNING.md).

A made-up but deterministic series (run it again: the same bytes). Per model, the monthly
mean of GPUs busy with the operator's own work is

    trend(t) + season(t) + noise(t),   then x drop from 2026-02 (the assistant lost usage)

trend: linear from ``start`` (2022-11) to ``end`` (2026-01); season: ``amplitude`` x
sin(2 pi (month - 4) / 12), a peak in July, a trough in January; noise: Gaussian with
``noise`` GPUs of standard deviation, from random.Random(20260203); from 2026-02 the level
(trend) falls to ``drop`` of itself and stays flat (season and noise continue).

    .venv/bin/python scripts/own_demand.py > examples/own-demand.csv
"""

import math
import random
import sys

MODELS = {  # model: (start, end, amplitude, noise, drop)
    "GB200": (1_500, 7_500, 300, 150, 0.40),
    "H100": (62_000, 92_000, 3_000, 1_200, 0.40),
    "H200": (30_000, 85_000, 2_500, 1_200, 0.42),
}
FIRST, MONTHS, SHIFT = (2022, 11), 48, (2026, 2)


def main() -> None:
    rng = random.Random(20260203)
    out = sys.stdout
    out.write("month,gpu_model,gpus\n")
    for model, (start, end, amplitude, noise, drop) in MODELS.items():
        for t in range(MONTHS):
            year, month0 = divmod(FIRST[0] * 12 + FIRST[1] - 1 + t, 12)
            month = month0 + 1
            shifted = (year, month) >= SHIFT
            ramp = min(t, 38) / 38  # 2022-11 + 38 months = 2026-01
            level = start + (end - start) * ramp
            if shifted:
                level = end * drop
            season = amplitude * math.sin(2 * math.pi * (month - 4) / 12)
            gpus = max(level + season + rng.gauss(0, noise), 0.0)
            out.write(f"{year:04d}-{month:02d},{model},{gpus:.1f}\n")


if __name__ == "__main__":
    main()

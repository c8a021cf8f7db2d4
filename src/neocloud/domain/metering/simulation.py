"""The simulator's model of a GPU fleet, as rates and scalar rules (numbers from DOMAIN.md;
what DOMAIN.md does not give is marked as an assumption).

The vectorised generator (``adapters/telemetry/simulator.py``) applies these rules to
arrays; they are stated here once, for one GPU and one instant, so tests can check them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neocloud.domain.metering.samples import CRITICAL_XIDS

# DOMAIN.md section 4: 419 unexpected interruptions on 16,384 H100 over 54 days.
INTERRUPTIONS_PER_GPU_DAY = 419 / (16_384 * 54)  # ~0.47 per 1,000 GPUs per day
GPU_RELATED_SHARE = 0.587  # of those, GPU-related: a critical Xid on one GPU
SIMULATED_XIDS = CRITICAL_XIDS
# Assumptions: a failed GPU is drained, diagnosed and swapped within 30 min to 4 h; an
# interruption that is not the GPU's (host, network) makes the node go silent for 5 min to
# 2 h. After a GPU is repaired its driver reloads: its energy counter starts again at 0.
REPAIR_MINUTES = (30, 240)
SILENCE_MINUTES = (5, 120)

IDLE_POWER_W = {"H100": 82.0, "H200": 82.0}  # DOMAIN.md / the H200 capture
IDLE_SHARE_OF_TDP = 0.12  # assumption for models without a measured idle draw

# Diurnal utilisation (assumption): highest at 15:00 local time, lowest at 03:00.
MEAN_UTIL = 0.72
DIURNAL_AMPLITUDE = 0.18
PEAK_HOUR_LOCAL = 15.0


def idle_power_w(model: str, tdp_w: float) -> float:
    return IDLE_POWER_W.get(model, IDLE_SHARE_OF_TDP * tdp_w)


def diurnal_util(local_hour: float) -> float:
    """Mean utilisation of the fleet at a local hour of the day (0 <= hour < 24)."""
    phase = 2 * math.pi * (local_hour - PEAK_HOUR_LOCAL) / 24
    return MEAN_UTIL + DIURNAL_AMPLITUDE * math.cos(phase)


def board_power_w(util_ratio: float, idle_w: float, tdp_w: float) -> float:
    """Board power from utilisation: linear between idle draw and the power limit (TDP)."""
    return idle_w + (tdp_w - idle_w) * min(max(util_ratio, 0.0), 1.0)


def expected_interruptions(gpus: int, days: float) -> float:
    return INTERRUPTIONS_PER_GPU_DAY * gpus * days


@dataclass(frozen=True, slots=True)
class Failure:
    """One simulated interruption: a GPU's critical Xid or a node going silent."""

    node: int  # index into the site's nodes
    gpu: int  # -1: the whole node went silent
    start_minute: int  # from the start of the simulated day
    minutes: int
    xid: int = 0

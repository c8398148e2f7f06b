"""A planet candidate's linear ephemeris (from the TOI table) and the transits it predicts in a span."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Ephemeris:
    planet: str
    epoch_bjd: float
    period_days: float
    duration_hours: float
    epoch_err_days: float | None = None
    period_err_days: float | None = None
    depth_ppm: float | None = None


def predicted_windows(ephemeris: Ephemeris | None, start: float, end: float) -> list[tuple[float, float, float]]:
    """(ingress, mid, egress) in BJD_TDB of each predicted transit overlapping [start, end]."""
    if ephemeris is None or not ephemeris.period_days or ephemeris.period_days <= 0:
        return []
    half = (ephemeris.duration_hours or 0.0) / 48.0
    first = math.floor((start - half - ephemeris.epoch_bjd) / ephemeris.period_days)
    last = math.ceil((end + half - ephemeris.epoch_bjd) / ephemeris.period_days)
    windows = []
    for n in range(first, last + 1):
        mid = ephemeris.epoch_bjd + n * ephemeris.period_days
        if mid + half >= start and mid - half <= end:
            windows.append((mid - half, mid, mid + half))
    return windows

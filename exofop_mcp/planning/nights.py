"""The nights of a span at a site: from local noon to local noon, and when each one is dark.

A night is named by the local date of its evening and runs from local mean solar noon (12:00 at the
site's longitude, whatever its time zone says) to the next, so that every moment belongs to exactly
one night.  It is dark while the Sun is below the chosen altitude (-12 degrees: nautical twilight,
by default); dusk and dawn are where the Sun's altitude, sampled every two minutes, crosses it
(interpolated between the samples: within seconds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from exofop_mcp.planning.sky import SkyOverSite

SAMPLE_DAYS = 2.0 / 1440.0
UNIX_EPOCH_JD = 2440587.5


def jd_of_date(date: dt.date) -> float:
    """JD at 00:00 UTC of a calendar date."""
    return UNIX_EPOCH_JD + (date - dt.date(1970, 1, 1)).days


def datetime_of_jd(jd: float) -> dt.datetime:
    """The UTC datetime of a JD (to the microsecond)."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=float(jd) - UNIX_EPOCH_JD)


@dataclass(frozen=True)
class Nights:
    """The nights of a span: local noons (one more than nights), and dusk and dawn (NaN: no dark time)."""

    dates: list[dt.date]
    noon: np.ndarray
    dusk: np.ndarray
    dawn: np.ndarray

    @property
    def start(self) -> float:
        return float(self.noon[0])

    @property
    def end(self) -> float:
        return float(self.noon[-1])

    def index_of(self, jd_utc: np.ndarray) -> np.ndarray:
        """The night each time belongs to (may be -1 or len(dates) outside the span)."""
        return np.floor(np.asarray(jd_utc) - self.noon[0]).astype(np.int64)


def local_noons(longitude_deg: float, first: dt.date, count: int) -> np.ndarray:
    """JD UTC of local mean noon on ``first`` and the ``count`` days after it."""
    return jd_of_date(first) + 0.5 - longitude_deg / 360.0 + np.arange(count + 1, dtype=np.float64)


def nights_of(sky: SkyOverSite, first: dt.date, count: int, sun_altitude_deg: float) -> Nights:
    """``count`` nights from the evening of ``first``, each with its dusk and dawn at ``sun_altitude_deg``."""
    noon = local_noons(sky.site.longitude_deg, first, count)
    per_night = round(1.0 / SAMPLE_DAYS)
    times = noon[:-1, None] + SAMPLE_DAYS * np.arange(per_night + 1)[None, :]
    below = sky.sun_altitude(times.ravel()).reshape(times.shape) - sun_altitude_deg  # < 0: dark
    dusk = np.full(count, np.nan)
    dawn = np.full(count, np.nan)
    for night in range(count):  # one row of 721 samples per night: a loop over nights, not events
        dusk[night], dawn[night] = _crossings(times[night], below[night])
    return Nights([first + dt.timedelta(days=i) for i in range(count)], noon, dusk, dawn)


def _crossings(times: np.ndarray, height: np.ndarray) -> tuple[float, float]:
    """The first time ``height`` falls below 0 and the last time it is below 0 (NaN, NaN: never)."""
    dark = np.flatnonzero(height < 0)
    if dark.size == 0:
        return np.nan, np.nan
    first, last = int(dark[0]), int(dark[-1])
    start = times[0] if first == 0 else _root(times[first - 1], times[first], height[first - 1], height[first])
    end = times[-1] if last == times.size - 1 else _root(times[last], times[last + 1], height[last], height[last + 1])
    return float(start), float(end)


def _root(t0: float, t1: float, h0: float, h1: float) -> float:
    return t0 + (t1 - t0) * h0 / (h0 - h1)

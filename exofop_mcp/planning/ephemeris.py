"""Every transit of every target over a span, from the TOI table's linear ephemeris, all at once.

A TOI's transits fall at ``epoch + n * period`` (BJD_TDB); the uncertainty of the n-th one grows
from the errors of the epoch and the period: ``sigma(n) = sqrt(sigma_T0**2 + (n * sigma_P)**2)``.
The times are turned into UTC at the site's Earth by removing the light's travel time from the solar
system's barycentre along the star's direction (the Earth's position from ERFA; the site's own
offset from the Earth's centre, at most 21 ms, and TDB - TT, at most 1.7 ms, are left out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exofop_mcp.planning.sky import C_M_PER_S, SECONDS_PER_DAY, SkyOverSite, unit_vectors, utc_of_tt


@dataclass(frozen=True)
class Ephemerides:
    """The targets' ephemerides, one entry per TOI (days, BJD_TDB; errors NaN when unknown)."""

    epoch: np.ndarray
    epoch_err: np.ndarray
    period: np.ndarray
    period_err: np.ndarray
    duration: np.ndarray  # days
    ra_deg: np.ndarray
    dec_deg: np.ndarray


@dataclass(frozen=True)
class Transits:
    """Transits, one entry each: which target, which cycle, when (BJD_TDB and JD UTC), how uncertain."""

    target: np.ndarray
    cycle: np.ndarray
    mid_bjd: np.ndarray
    mid_utc: np.ndarray
    sigma_days: np.ndarray  # NaN when the ephemeris has no errors

    def take(self, keep: np.ndarray) -> Transits:
        return Transits(
            self.target[keep], self.cycle[keep], self.mid_bjd[keep], self.mid_utc[keep], self.sigma_days[keep]
        )


def cycles_between(ephemerides: Ephemerides, start_bjd: float, end_bjd: float) -> tuple[np.ndarray, np.ndarray]:
    """(target index, cycle number) of every mid-transit in [start_bjd, end_bjd)."""
    first = np.ceil((start_bjd - ephemerides.epoch) / ephemerides.period).astype(np.int64)
    last = np.ceil((end_bjd - ephemerides.epoch) / ephemerides.period).astype(np.int64) - 1
    counts = np.maximum(last - first + 1, 0)
    target = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    cycle = first[target] + (np.arange(target.size) - starts[target])
    return target, cycle


def utc_of_bjd(sky: SkyOverSite, bjd: np.ndarray, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """JD UTC at the Earth of barycentric (BJD_TDB) times of light from stars at ``ra_deg``/``dec_deg``."""
    direction = unit_vectors(np.radians(ra_deg), np.radians(dec_deg))
    utc = utc_of_tt(bjd)
    for _ in range(2):  # the Earth's position at the arrival time: the second pass moves it by milliseconds
        light_seconds = np.sum(sky.earth_barycentric_m(utc) * direction, axis=-1) / C_M_PER_S
        utc = utc_of_tt(bjd - light_seconds / SECONDS_PER_DAY)
    return utc


def transits_between(sky: SkyOverSite, ephemerides: Ephemerides, start_utc: float, end_utc: float) -> Transits:
    """Every transit whose mid-time (UTC at the Earth) lies in [start_utc, end_utc)."""
    pad = 0.02  # days: the light's travel across the Earth's orbit (8.3 min) and UTC - TDB (~70 s)
    target, cycle = cycles_between(ephemerides, start_utc - pad, end_utc + pad)
    mid = ephemerides.epoch[target] + cycle * ephemerides.period[target]
    utc = utc_of_bjd(sky, mid, ephemerides.ra_deg[target], ephemerides.dec_deg[target])
    sigma = np.sqrt(ephemerides.epoch_err[target] ** 2 + (cycle * ephemerides.period_err[target]) ** 2)
    transits = Transits(target, cycle, mid, utc, sigma)
    return transits.take((utc >= start_utc) & (utc < end_utc))

"""Where the replica puts each generated transit, and how deep: the truth the fits are checked against.

A tag's transit sits at the TOI's catalog ephemeris plus an offset drawn from the tag number (a few
minutes for most; for one tag in nine, half an hour to an hour early or late, as a real TTV or a
stale ephemeris would put it).  Its depth is the catalog's: the radius ratio is chosen so that
the TESS band's limb-darkened depth is the catalog depth, and the band of the observation gives
its own (slightly different) mid-transit depth.  The light curve is ``batman``'s quadratic law at
the TOI's duration (see :mod:`exofop_mcp.lightcurves.transit_model`).  :func:`truth` gives all of
it, so a test knows the answer a fit should find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from exofop_mcp.replica.toi_table import StarRecord

LARGE_OFFSET_EVERY = 9  # one tag in nine has a transit far from its prediction


@dataclass(frozen=True)
class TransitTruth:
    """The generated transit of one observation."""

    toi: str
    predicted_mid_bjd_tdb: float  # the catalog ephemeris' transit nearest the observation
    mid_bjd_tdb: float  # where the transit really is in the data
    offset_minutes: float  # mid - predicted
    depth_ppm: float  # at mid-transit, in the band of the observation
    tess_depth_ppm: float  # the catalog's depth
    duration_hours: float
    period_days: float
    filter: str | None
    depth_parameter: float  # the (radius ratio)² of the model


@dataclass(frozen=True)
class Planet:
    toi: str
    epoch: float
    period: float
    duration_hours: float
    depth_ppm: float


def planet(star: StarRecord, toi: str) -> Planet | None:
    """The catalog ephemeris of ``toi`` (``"1130.02"``) on ``star``, if the catalog has one."""
    for index in range(len(star.rows)):
        if star.value("TOI", index) == toi:
            epoch = star.number("Epoch (BJD)", 0.0, index)
            period = star.number("Period (days)", 0.0, index)
            if epoch > 0 and period > 0:
                return Planet(
                    toi,
                    epoch,
                    period,
                    star.number("Duration (hours)", 2.0, index) or 2.0,
                    star.number("Depth (ppm)", 3000.0, index) or 3000.0,
                )
    return None


def offset_minutes(tag: int) -> float:
    """The transit's offset from its prediction for this tag (deterministic)."""
    rng = random.Random(f"transit-offset:{tag}")
    if tag % LARGE_OFFSET_EVERY == 4:
        return round(rng.choice((-1, 1)) * rng.uniform(30.0, 60.0), 2)
    return round(rng.gauss(0.0, 3.0), 2)


def predicted_near(p: Planet, bjd: float) -> float:
    return p.epoch + round((bjd - p.epoch) / p.period) * p.period


def truth(p: Planet, tag: int, near_bjd: float, filter_name: str | None) -> TransitTruth:
    """The transit of ``p`` nearest ``near_bjd``, moved by the tag's offset, in this band."""
    from exofop_mcp.lightcurves.transit_model import TransitShape, depth_parameter_for

    predicted = predicted_near(p, near_bjd)
    offset = offset_minutes(tag)
    t14 = p.duration_hours / 24
    k2 = depth_parameter_for(p.depth_ppm / 1e6, p.period, t14, "TESS")
    band_depth = TransitShape(np.array([0.0]), p.period, filter_name).depth(k2, t14)
    return TransitTruth(
        toi=p.toi,
        predicted_mid_bjd_tdb=predicted,
        mid_bjd_tdb=predicted + offset / 1440,
        offset_minutes=offset,
        depth_ppm=round(band_depth * 1e6, 3),
        tess_depth_ppm=p.depth_ppm,
        duration_hours=p.duration_hours,
        period_days=p.period,
        filter=filter_name,
        depth_parameter=k2,
    )


def transit_flux(t: TransitTruth | None, bjd: np.ndarray) -> np.ndarray:
    """The relative flux of the transit at these BJD_TDB (ones without a transit)."""
    if t is None:
        return np.ones_like(bjd)
    from exofop_mcp.lightcurves.transit_model import TransitShape

    return TransitShape(bjd, t.period_days, t.filter).flux(t.mid_bjd_tdb, t.depth_parameter, t.duration_hours / 24)


def noise_for(depth_ppm: float, rng: random.Random) -> float:
    """Per-point scatter: 0.8-2.5 ppt, less for shallow transits (bright stars), so each is seen."""
    return min(rng.uniform(0.0008, 0.0025), max(depth_ppm, 100.0) / 1e6 / 1.5)


def centre_offset_days(tag: int, span_days: float) -> float:
    """Where the observation's middle falls from the transit: up to a sixth of the span either way."""
    return random.Random(f"transit-window:{tag}").uniform(-1, 1) * span_days / 6


def night_of(p: Planet, day_start_jd: float) -> float | None:
    """The predicted mid-transit on the night of this UT date (within a day of its noon), if any."""
    mid = predicted_near(p, day_start_jd + 0.5)
    return mid if abs(mid - (day_start_jd + 0.5)) <= 1.0 else None

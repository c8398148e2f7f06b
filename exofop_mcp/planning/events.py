"""The transits of the selected targets over the span, with what each one looks like from the site: arrays.

Everything is computed for all events at once (a few hundred thousand in a month of the whole
catalog take a fraction of a second); the page a reader sees is turned into models afterwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from exofop_mcp.planning.ephemeris import Transits, transits_between
from exofop_mcp.planning.nights import Nights, local_noons, nights_of
from exofop_mcp.planning.observability import (
    AltitudeConstraint,
    Constraint,
    DarknessConstraint,
    Windows,
    observable,
)
from exofop_mcp.planning.selection import Targets
from exofop_mcp.planning.sites import ObservingSite
from exofop_mcp.planning.sky import SkyOverSite, Stars

COVERAGE = ("none", "partial", "ingress", "egress", "full")
#: How close to ingress (egress) the observable time must start (end) for the event to cover it (days).
EDGE_DAYS = 0.5 / 1440.0


@dataclass(frozen=True)
class PlanSettings:
    start_date: dt.date
    nights: int
    min_altitude_deg: float = 30.0
    sun_altitude_deg: float = -12.0
    baseline_minutes: float = 30.0


@dataclass
class EventTable:
    """All the transits of the span, one entry per event (times are JD UTC unless named BJD)."""

    transits: Transits
    night: np.ndarray
    ingress: np.ndarray
    egress: np.ndarray
    altitude: np.ndarray  # (events, 3): ingress, mid, egress
    sun_altitude: np.ndarray  # at mid
    fraction: np.ndarray
    before_fraction: np.ndarray
    after_fraction: np.ndarray
    observable_from: np.ndarray  # NaN: nothing observable
    observable_until: np.ndarray
    coverage: np.ndarray  # index into COVERAGE
    moon_separation: np.ndarray
    moon_illumination: np.ndarray

    def __len__(self) -> int:
        return int(self.night.size)


@dataclass
class SpanPlan:
    """The sky of the span, its nights, the targets' places and every event."""

    sky: SkyOverSite
    nights: Nights
    stars: Stars
    targets: Targets
    events: EventTable
    settings: PlanSettings


def constraints_of(sky: SkyOverSite, stars: Stars, nights: Nights, settings: PlanSettings) -> list[Constraint]:
    """What makes a moment observable: the target high enough, the Sun low enough."""
    return [AltitudeConstraint(sky, stars, settings.min_altitude_deg), DarknessConstraint(nights)]


def plan_span(site: ObservingSite, targets: Targets, settings: PlanSettings) -> SpanPlan:
    """Every transit of ``targets`` in the nights of ``settings`` at ``site``, and how observable each is."""
    first_noon = float(local_noons(site.longitude_deg, settings.start_date, 0)[0])
    sky = SkyOverSite(site, first_noon, first_noon + settings.nights)
    nights = nights_of(sky, settings.start_date, settings.nights, settings.sun_altitude_deg)
    stars = sky.stars(targets.ephemerides.ra_deg, targets.ephemerides.dec_deg)
    transits = transits_between(sky, targets.ephemerides, nights.start, nights.end)
    constraints = constraints_of(sky, stars, nights, settings)
    events = _describe(sky, nights, stars, targets.ephemerides.duration, constraints, settings, transits)
    return SpanPlan(sky, nights, stars, targets, events, settings)


def _describe(
    sky: SkyOverSite,
    nights: Nights,
    stars: Stars,
    duration: np.ndarray,
    constraints: list[Constraint],
    settings: PlanSettings,
    transits: Transits,
) -> EventTable:
    half = duration[transits.target] / 2.0
    mid = transits.mid_utc
    ingress, egress = mid - half, mid + half
    baseline = settings.baseline_minutes / 1440.0
    target = transits.target
    times = np.stack([ingress, mid, egress], axis=1)
    altitude = sky.altitude(stars.ra[target][:, None], stars.dec[target][:, None], times)
    whole = observable(Windows(ingress - baseline, egress + baseline, target), constraints)
    allowed = whole.within(ingress, egress)
    fraction = allowed.fraction_of(ingress, egress)
    if baseline > 0:
        before = whole.fraction_of(ingress - baseline, ingress)
        after = whole.fraction_of(egress, egress + baseline)
    else:
        before = after = np.full(mid.size, np.nan)
    first, last = allowed.first(), allowed.last()
    coverage = np.select(
        [fraction <= 0, fraction >= 0.999, first <= ingress + EDGE_DAYS, last >= egress - EDGE_DAYS],
        [0, 4, 2, 3],
        default=1,
    )
    from_, until = whole.first(), whole.last()
    return EventTable(
        transits=transits,
        night=nights.index_of(mid),
        ingress=ingress,
        egress=egress,
        altitude=altitude,
        sun_altitude=sky.sun_altitude(mid),
        fraction=fraction,
        before_fraction=before,
        after_fraction=after,
        observable_from=np.where(np.isfinite(from_), from_, np.nan),
        observable_until=np.where(np.isfinite(until), until, np.nan),
        coverage=coverage,
        moon_separation=sky.moon_separation(Stars(stars.ra[target], stars.dec[target]), mid),
        moon_illumination=sky.moon_illumination(mid),
    )

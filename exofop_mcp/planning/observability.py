"""When a transit can be observed: constraints that each give, per event, the times they allow.

Each constraint (as in astroplan) answers with intervals of JD UTC, a few per event, disjoint among
themselves; the observable time of a window is the measure of the window's intersection with every
constraint's intervals.  Intersecting two sets of disjoint intervals pairwise keeps them disjoint,
so the measure is a sum, and everything is arrays of shape (events, intervals): no loop over events.

- :class:`AltitudeConstraint`: the target above an altitude.  A star's altitude depends only on its
  hour angle, which grows at the Earth's rotation rate, so the star is above ``a`` while
  ``|hour angle| <= arccos((sin a - sin lat sin dec) / (cos lat cos dec))`` around each meridian
  passage (the passages around the window are enough).
- :class:`DarknessConstraint`: the Sun below the night's threshold: the dark part of the night of the
  event and of the nights on either side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from exofop_mcp.planning.nights import Nights
from exofop_mcp.planning.sky import SkyOverSite, Stars, era, hour_angle_rate


@dataclass(frozen=True)
class Windows:
    """One time window per event (JD UTC) and the star each event looks at (index into ``stars``)."""

    start: np.ndarray
    end: np.ndarray
    target: np.ndarray

    @property
    def middle(self) -> np.ndarray:
        return (self.start + self.end) / 2.0


@dataclass(frozen=True)
class Intervals:
    """Per event, a few disjoint intervals (shape (events, k)); empty ones have ``end <= start``."""

    start: np.ndarray
    end: np.ndarray

    @classmethod
    def of(cls, windows: Windows) -> Intervals:
        return cls(windows.start[:, None], windows.end[:, None])

    def intersect(self, other: Intervals) -> Intervals:
        start = np.maximum(self.start[:, :, None], other.start[:, None, :]).reshape(self.start.shape[0], -1)
        end = np.minimum(self.end[:, :, None], other.end[:, None, :]).reshape(self.start.shape[0], -1)
        return Intervals(start, end)

    def measure(self) -> np.ndarray:
        return np.sum(np.maximum(self.end - self.start, 0.0), axis=1)

    def within(self, start: np.ndarray, end: np.ndarray) -> Intervals:
        """The parts of the intervals inside one window per event."""
        return Intervals(np.maximum(self.start, start[:, None]), np.minimum(self.end, end[:, None]))

    def fraction_of(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The fraction of each event's window [start, end] the intervals cover (0 for an empty window)."""
        length = end - start
        return np.divide(self.within(start, end).measure(), length, out=np.zeros_like(length), where=length > 0)

    def first(self) -> np.ndarray:
        """The earliest moment of each event's intervals (NaN when all are empty)."""
        return np.min(np.where(self.end > self.start, self.start, np.inf), axis=1, initial=np.inf)

    def last(self) -> np.ndarray:
        return np.max(np.where(self.end > self.start, self.end, -np.inf), axis=1, initial=-np.inf)


class Constraint(Protocol):
    def allowed(self, windows: Windows) -> Intervals: ...


@dataclass(frozen=True)
class AltitudeConstraint:
    """The target at or above ``min_deg`` (geometric altitude)."""

    sky: SkyOverSite
    stars: Stars
    min_deg: float

    def allowed(self, windows: Windows) -> Intervals:
        dec = self.stars.dec[windows.target]
        ra = self.stars.ra[windows.target]
        lat = self.sky.latitude
        limit = (np.sin(np.radians(self.min_deg)) - np.sin(lat) * np.sin(dec)) / (np.cos(lat) * np.cos(dec))
        half = np.arccos(np.clip(limit, -1.0, 1.0))  # pi: always up; 0 with limit >= 1: never
        rate = hour_angle_rate()
        reference = windows.middle
        hour_angle = np.mod(era(reference) + self.sky.longitude - ra + np.pi, 2 * np.pi) - np.pi
        transit = reference - hour_angle / rate
        day = 2 * np.pi / rate
        centres = transit[:, None] + day * np.array([-1.0, 0.0, 1.0])[None, :]
        width = (half / rate)[:, None]
        start, end = centres - width, centres + width
        never = (limit >= 1.0)[:, None]
        always = (limit <= -1.0)[:, None]
        start = np.where(always, -np.inf, np.where(never, np.inf, start))
        end = np.where(always, np.inf, np.where(never, -np.inf, end))
        return Intervals(start, end)


@dataclass(frozen=True)
class DarknessConstraint:
    """The Sun below the nights' threshold."""

    nights: Nights

    def allowed(self, windows: Windows) -> Intervals:
        night = self.nights.index_of(windows.middle)[:, None] + np.array([-1, 0, 1])[None, :]
        inside = (night >= 0) & (night < len(self.nights.dates))
        index = np.clip(night, 0, len(self.nights.dates) - 1)
        dusk = np.where(inside, self.nights.dusk[index], np.nan)
        dawn = np.where(inside, self.nights.dawn[index], np.nan)
        dark = np.isfinite(dusk)
        return Intervals(np.where(dark, dusk, np.inf), np.where(dark, dawn, -np.inf))


def observable(windows: Windows, constraints: list[Constraint]) -> Intervals:
    """The parts of each window that every constraint allows."""
    allowed = Intervals.of(windows)
    for constraint in constraints:
        allowed = allowed.intersect(constraint.allowed(windows))
    return allowed


def observable_fraction(windows: Windows, constraints: list[Constraint]) -> np.ndarray:
    """The fraction of each window that every constraint allows (0 for an empty window)."""
    return observable(windows, constraints).fraction_of(windows.start, windows.end)

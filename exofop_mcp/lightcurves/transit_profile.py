"""Weighted least squares of a transit, profiled over its mid-time (and duration): all trials at once.

Flux = baseline − depth × dip(t − t0): the baseline (constant, slope in time, airmass) and the
depth enter linearly, so for every trial mid-time (and duration) they are solved exactly by linear
least squares, and the chi-square of each trial is a few dot products over arrays (the baseline is
projected out of the flux and of every shifted dip once, through one QR factorisation).  The dip
is the limb-darkened model of :mod:`transit_model` computed once on a fine grid and shifted by
interpolation.  (Writing the baseline as a sum rather than a factor changes the model by depth ×
(baseline − 1), a few parts per million.)

The best trial is refined on a finer grid and by a parabola through its neighbours.  The
uncertainties come from the chi-square itself, scaled by the reduced chi-square (the scatter of the
residuals, not the quoted errors) and by the red-noise factor beta: the mid-time's from the span of
trials within Δχ² = 1 of the best (a profile likelihood: honest where the minimum is flat or has
several dips, which a covariance at the best point is not), the depth's from the linear solution,
widened by the depths the duration allows within Δχ² = 1 when the duration is free.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from exofop_mcp.lightcurves.transit_model import TransitShape

BIN_DAYS = 10 / 1440
FINE_POINTS = 1201
CHUNK_ELEMENTS = 2_000_000  # trials × points scored at once: bounds the memory of a long light curve
DURATIONS = np.linspace(0.6, 1.5, 13)  # trial durations, as fractions of the TOI's, when the duration is free


@dataclass
class Photometry:
    """A light curve ready to fit: sorted times, flux divided by its median, errors, centred airmass or None."""

    t: np.ndarray
    f: np.ndarray
    e: np.ndarray
    airmass: np.ndarray | None
    tref: float

    def design(self) -> np.ndarray:
        columns = [np.ones_like(self.t), self.t - self.tref]
        if self.airmass is not None:
            columns.append(self.airmass)
        return np.column_stack(columns)


@dataclass
class Measurement:
    """The best transit and its uncertainties (days, fractions of the flux)."""

    t0: float
    sigma_t0: float
    depth: float  # at mid-transit
    sigma_depth: float
    t14: float
    sigma_t14: float | None  # None: held at the TOI's duration
    model: np.ndarray  # baseline minus transit, on the light curve's times
    chi2_red: float
    beta: float


class Dips:
    """The model's dip of one depth and duration, shifted to any mid-time by interpolation."""

    def __init__(self, shape: TransitShape, depth_parameter: float, t14: float) -> None:
        self.t14 = t14
        self.depth_parameter = depth_parameter
        self.fine = np.linspace(-0.6 * t14, 0.6 * t14, FINE_POINTS)
        template = TransitShape(self.fine, shape.period, None, shape.b).with_limb_darkening(shape.u)
        self.dip = 1.0 - template.flux(0.0, depth_parameter, t14)
        self.depth = float(self.dip.max())
        self.unit = self.dip / self.depth if self.depth > 0 else self.dip

    def at(self, t: np.ndarray, trials: np.ndarray) -> np.ndarray:
        """Unit-depth dips, one row per trial mid-time."""
        return np.interp(t[None, :] - trials[:, None], self.fine, self.unit, left=0.0, right=0.0)


def dips_for(shape: TransitShape, depth_parameter: float, t14: float) -> Dips:
    """The dips of a planet's shape, kept: the light curves of one planet in one band share them."""
    return _dips(shape.period, shape.b, tuple(shape.u), depth_parameter, t14)


@functools.lru_cache(maxsize=512)
def _dips(period: float, b: float, u: tuple[float, ...], depth_parameter: float, t14: float) -> Dips:
    return Dips(TransitShape(np.array([0.0]), period, None, b).with_limb_darkening(list(u)), depth_parameter, t14)


class Projection:
    """The light curve with its baseline projected out, ready to score many dips."""

    def __init__(self, data: Photometry) -> None:
        self.data = data
        self.w = 1 / data.e
        self.q, _ = np.linalg.qr(data.design() * self.w[:, None])
        flux = data.f * self.w
        self.flux_rest = flux - self.q @ (self.q.T @ flux)
        self.total = float(self.flux_rest @ self.flux_rest)
        self.parameters = self.q.shape[1] + 1

    def score(self, dips: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chi-square, depth, white-noise sigma of the depth) of each row of unit dips."""
        weighted = dips * self.w[None, :]
        rest = weighted - (weighted @ self.q) @ self.q.T
        power = np.einsum("gi,gi->g", rest, rest)
        usable = (np.count_nonzero(dips, axis=1) >= 3) & (power > 1e-300)
        safe = np.where(usable, power, 1.0)
        cross = rest @ self.flux_rest
        depth = np.where(usable, -cross / safe, 0.0)
        chi2 = np.where(usable, self.total - cross**2 / safe, np.inf)
        return chi2, depth, np.where(usable, 1 / np.sqrt(safe), np.inf)

    def chi2_red(self, chi2: float) -> float:
        return max(chi2 / max(self.data.t.size - self.parameters, 1), 1e-12)

    def model(self, dip: np.ndarray, depth: float) -> np.ndarray:
        """Baseline minus the transit, the baseline solved with the transit removed."""
        data = self.data
        rest = data.f + depth * dip
        coefficients = np.linalg.lstsq(data.design() * self.w[:, None], rest * self.w, rcond=None)[0]
        return np.asarray(data.design() @ coefficients) - depth * dip


def score_trials(projection: Projection, dips: Dips, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`Projection.score` of the dips at these mid-times, a bounded block of trials at a time."""
    t = projection.data.t
    block = max(1, CHUNK_ELEMENTS // max(t.size, 1))
    parts = [projection.score(dips.at(t, trials[i : i + block])) for i in range(0, trials.size, block)]
    if not parts:
        empty = np.zeros(0)
        return empty, empty, empty
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def scan(projection: Projection, dips: Dips) -> float | None:
    """The mid-time of the best positive-depth dip over every place at least a tenth of it is observed."""
    t = projection.data.t
    step = min(dips.t14 / 20, 3 / 1440)
    trials = np.arange(t[0] - 0.4 * dips.t14, t[-1] + 0.4 * dips.t14 + step / 2, step)
    chi2, depth, _ = score_trials(projection, dips, trials)
    if not chi2.size:
        return None
    chi2 = np.where(depth > 0, chi2, np.inf)
    best = int(np.argmin(chi2))
    return float(trials[best]) if math.isfinite(chi2[best]) else None


def depth_at(projection: Projection, dips: Dips, t0: float) -> tuple[float, float] | None:
    """The mid-transit depth and its sigma of a transit held at ``t0`` (the scatter of the residuals)."""
    chi2, depth, sigma = projection.score(dips.at(projection.data.t, np.array([t0])))
    if not math.isfinite(chi2[0]):
        return None
    scale = math.sqrt(projection.chi2_red(float(chi2[0])))
    return float(depth[0]), float(sigma[0]) * scale


def _refine(trials: np.ndarray, chi2: np.ndarray) -> tuple[float, int]:
    """The minimum of a sampled chi-square, by a parabola through the best sample and its neighbours."""
    best = int(np.argmin(chi2))
    if 0 < best < trials.size - 1 and np.all(np.isfinite(chi2[best - 1 : best + 2])):
        y0, y1, y2 = chi2[best - 1 : best + 2]
        bend = y0 - 2 * y1 + y2
        if bend > 0:
            step = trials[best + 1] - trials[best]
            return float(trials[best] + 0.5 * step * (y0 - y2) / bend), best
    return float(trials[best]), best


def _within(trials: np.ndarray, delta: np.ndarray) -> float:
    """Half the span of the trials with Δχ² ≤ 1, its edges interpolated between samples."""
    inside = np.flatnonzero(delta <= 1.0)
    if inside.size == 0:
        return 0.0
    low, high = int(inside[0]), int(inside[-1])

    def edge(outer: int, inner: int) -> float:
        if outer < 0 or outer >= trials.size or not math.isfinite(delta[outer]):
            return float(trials[inner])
        a, b = delta[inner], delta[outer]
        return float(trials[inner] + (trials[outer] - trials[inner]) * (1.0 - a) / (b - a)) if b > a else trials[inner]

    return (edge(high + 1, high) - edge(low - 1, low)) / 2


def _profile_t0(projection: Projection, dips: Dips, centre: float, half: float, points: int) -> tuple:
    trials = centre + np.linspace(-half, half, points)
    chi2, depth, sigma = score_trials(projection, dips, trials)
    chi2 = np.where(depth > 0, chi2, np.inf)
    return trials, chi2, depth, sigma


def measure(
    projection: Projection, shape: TransitShape, depth_parameter: float, t14: float, start: float, free_duration: bool
) -> Measurement | None:
    """The best transit near ``start`` (from :func:`scan`), with the duration free or held at ``t14``."""
    dips = dips_for(shape, depth_parameter, t14)
    t = projection.data.t
    durations = np.array([t14])
    family: list[Dips] = []
    if free_duration:  # a grid of durations × mid-times near the start: the profile over each
        durations = DURATIONS * t14
        family = [dips_for(shape, depth_parameter, float(d)) for d in durations]
        trials = start + np.linspace(-t14 / 8, t14 / 8, 41)
        grid = np.array([score_trials(projection, f, trials)[0] for f in family])
        row = int(np.argmin(np.min(grid, axis=1)))
        dips = family[row]
        start = float(trials[int(np.argmin(grid[row]))])
    # the mid-time: a coarse profile over half a duration either side, then a fine one around the best
    trials, chi2, _, _ = _profile_t0(projection, dips, start, dips.t14 / 2, 101)
    if not np.isfinite(chi2).any():
        return None
    coarse, _ = _refine(trials, chi2)
    scale = projection.chi2_red(float(np.min(chi2)))
    wide = _within(trials, (chi2 - np.min(chi2)) / scale)
    step = trials[1] - trials[0]
    half = max(6 * wide, 4 * step)
    trials, chi2, depth, sigma = _profile_t0(projection, dips, coarse, half, 61)
    if not np.isfinite(chi2).any():
        return None
    t0, best = _refine(trials, chi2)
    chi2_min = float(np.min(chi2))
    scale = projection.chi2_red(chi2_min)
    narrow = _within(trials, (chi2 - chi2_min) / scale)
    final_chi2, final_depth, final_sigma = projection.score(dips.at(t, np.array([t0])))
    if not math.isfinite(final_chi2[0]) or final_depth[0] <= 0:
        t0, final_depth, final_sigma = float(trials[best]), depth[best : best + 1], sigma[best : best + 1]
    unit_depth = float(final_depth[0])
    model = projection.model(dips.at(t, np.array([t0]))[0], unit_depth)
    beta = red_noise_factor(t, projection.data.f - model)
    sigma_t0 = max(narrow, wide) * beta
    sigma_depth = float(final_sigma[0]) * math.sqrt(scale) * beta
    sigma_t14 = None
    if free_duration:  # the duration's profile (best mid-time for each), and the depths it allows
        trials = t0 + np.linspace(-max(3 * sigma_t0, 2 / 1440), max(3 * sigma_t0, 2 / 1440), 21)
        rows = [score_trials(projection, f, trials) for f in family]
        chi2_d = np.array([float(np.min(r[0])) for r in rows])
        depth_d = np.array([float(r[1][int(np.argmin(r[0]))]) for r in rows])
        delta = (chi2_d - float(np.min(chi2_d))) / scale
        sigma_t14 = _within(durations, delta) * beta
        allowed = [depth_d[i] * Dips(shape, depth_parameter, durations[i]).depth for i in np.flatnonzero(delta <= 1.0)]
        if len(allowed) > 1:
            sigma_depth = max(sigma_depth, (max(allowed) - min(allowed)) / 2 * beta)
    return Measurement(
        t0=t0,
        sigma_t0=sigma_t0,
        depth=unit_depth,
        sigma_depth=sigma_depth,
        t14=dips.t14,
        sigma_t14=sigma_t14,
        model=model,
        chi2_red=scale,
        beta=beta,
    )


def red_noise_factor(t: np.ndarray, residuals: np.ndarray) -> float:
    """beta: the RMS of 10-minute bins of the residuals over what white noise would give (at least 1)."""
    index = np.floor((t - t[0]) / BIN_DAYS).astype(int)
    counts = np.bincount(index)
    sums = np.bincount(index, weights=residuals)
    full = counts >= max(2, int(np.median(counts[counts > 0])) // 2)
    if int(full.sum()) < 6:
        return 1.0
    means = sums[full] / counts[full]
    n = float(np.mean(counts[full]))
    bins = int(full.sum())
    expected = float(np.std(residuals)) / math.sqrt(n) * math.sqrt(bins / (bins - 1))
    observed = float(np.std(means))
    return max(1.0, observed / expected) if expected > 0 else 1.0

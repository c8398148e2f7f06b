"""A transit fitted to one light curve, from the TOI's ephemeris: when it came, how deep, how long.

1. The prediction: the transit of the TOI's ephemeris nearest the observation, with its uncertainty
   (the epoch's and the period's, times the number of periods since the epoch).  When that window
   widened by three sigma lies outside the data, no transit is expected and none is fitted.
2. A scan: the limb-darkened model at the TOI's duration, slid over every mid-time that leaves at
   least a tenth of the transit in the data, its depth and baseline solved linearly at each step;
   the best positive depth starts the fit (so a transit an hour early is found, not a local dip).
3. The fit: ``scipy.optimize.least_squares`` of mid-time, depth, (duration when both ingress and
   egress are observed) and a baseline linear in time and, where the table has it, in airmass.
4. Uncertainties: the covariance of the fit, scaled by the reduced chi-square (the scatter of the
   residuals, not the quoted errors) and by the red-noise factor beta (how much worse than white
   the residuals average down over 10 minutes).
5. The verdict: detected when the depth is 3 sigma from zero (5 sigma when the transit is found
   away from the prediction: the scan tried many places, and an edge or a trend can mimic part of
   one); on time when O−C is within 3 sigma of the combined uncertainty of prediction and
   measurement; depth compared with TESS.  Without a detection, the depth at the predicted time
   says at how many sigma a TESS-depth event is excluded.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from exofop_mcp.lightcurves.fit_results import Coverage, TransitFit
from exofop_mcp.lightcurves.transit_model import TransitShape

if TYPE_CHECKING:
    from exofop_mcp.lightcurves.plotting import Ephemeris

log = logging.getLogger(__name__)

MIN_POINTS = 20
DIFF_STEP = 1e-4  # finite-difference steps of the scaled parameters (0.03 s of mid-time)
DETECTION_SIGMA = 3.0  # a transit where the ephemeris puts it
DETECTION_SIGMA_ELSEWHERE = 5.0  # one found away from the prediction, among all the places a dip was tried
STRONG_SIGMA = 7.0  # below this depth / sigma a mid-time's likelihood is far from a parabola: the verdict says so
TIMING_SIGMA = 3.0
EXPECTED_SIGMA = 3.0
FREE_DURATION_SIGMA = 20.0  # the duration is fitted only for a transit this strong, with both edges observed
BIN_DAYS = 10 / 1440
DEFAULT_DURATION_HOURS = 2.0
MINUTES = 1440.0


@dataclass
class FitCurves:
    """What a plot draws beside the points: the fitted model on the data's times and the prediction."""

    model: np.ndarray | None  # baseline × transit, on the light curve's times
    predicted_mid: float | None
    predicted_sigma_days: float
    duration_days: float


@dataclass
class _Data:
    t: np.ndarray
    f: np.ndarray
    e: np.ndarray
    airmass: np.ndarray | None
    tref: float


def fit_light_curve(
    bjd: np.ndarray,
    flux: np.ndarray,
    flux_err: np.ndarray,
    ephemeris: Ephemeris | None,
    filter_name: str | None,
    airmass: np.ndarray | None = None,
) -> tuple[TransitFit, FitCurves | None]:
    """The fit of one light curve (see the module docstring); never raises for data it cannot fit."""
    if ephemeris is None or not ephemeris.period_days or ephemeris.period_days <= 0:
        return _no_fit("no ephemeris: the TOI catalog gives no epoch and period for this light curve's planet"), None
    data = _clean(bjd, flux, flux_err, airmass)
    if data is None:
        return _no_fit(f"fewer than {MIN_POINTS} usable points"), None
    period = float(ephemeris.period_days)
    t14 = (ephemeris.duration_hours or DEFAULT_DURATION_HOURS) / 24
    centre = 0.5 * (data.t[0] + data.t[-1])
    epoch_number = round((centre - ephemeris.epoch_bjd) / period)
    predicted = ephemeris.epoch_bjd + epoch_number * period
    sigma_pred = math.hypot(ephemeris.epoch_err_days or 0.0, abs(epoch_number) * (ephemeris.period_err_days or 0.0))
    tess_depth = ephemeris.depth_ppm if ephemeris.depth_ppm and ephemeris.depth_ppm > 0 else None
    curves = FitCurves(None, predicted, sigma_pred, t14)
    outside = _minutes_outside(predicted, data.t[0], data.t[-1])
    common = {
        "predicted_mid_bjd_tdb": round(predicted, 6),
        "predicted_uncertainty_minutes": round(sigma_pred * MINUTES, 2),
        "tess_depth_ppm": tess_depth,
        "minutes_outside": outside,
    }
    shape = TransitShape(data.t, period, filter_name)
    baseline = ["constant", "time"] + (["airmass"] if data.airmass is not None else [])
    reach = EXPECTED_SIGMA * sigma_pred + t14 / 2
    if predicted + reach < data.t[0] or predicted - reach > data.t[-1]:
        residuals = data.f - _baseline_only(data)
        rms1, rms10 = _rms(data.t, residuals)
        return TransitFit(
            status="not_expected",
            verdict=f"no transit expected in this window (prediction ± 3 sigma is outside): {_where(outside)}",
            coverage="out_of_transit",
            rms_per_cadence_ppm=rms1,
            rms_per_10min_ppm=rms10,
            baseline=baseline,
            **common,
        ), curves
    try:
        result = _fit(data, shape, predicted, t14)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return _no_fit(f"the fit did not converge ({type(exc).__name__})", **common), curves
    if result is None:  # nothing the solver could settle on: no transit it could measure
        failed = "the transit fit did not converge"
        return _not_detected(data, shape, predicted, t14, tess_depth, baseline, None, failed, common), curves
    t0, d, t14_fit, sig, model, fixed = result
    depth = shape.depth(d, t14_fit)
    depth_sigma = abs(sig["d"] * depth / d) if d else sig["d"]
    residuals = data.f - model
    rms1, rms10 = _rms(data.t, residuals)
    detection = depth / depth_sigma if depth_sigma > 0 else 0.0
    off_prediction = abs(t0 - predicted) > TIMING_SIGMA * math.hypot(sig["t0"], sigma_pred)
    if detection < (DETECTION_SIGMA_ELSEWHERE if off_prediction else DETECTION_SIGMA):
        note: str | None = None
        if off_prediction and detection >= DETECTION_SIGMA:
            minutes = (t0 - predicted) * MINUTES
            when = "earlier" if minutes < 0 else "later"
            note = f"a possible {detection:.1f}-sigma dip {abs(minutes):.0f} min {when}"
        fit = _not_detected(data, shape, predicted, t14, tess_depth, baseline, detection, note, common)
        curves.model = _flat_model(data)
        return fit, curves
    curves.model = model
    curves.duration_days = t14_fit
    oc = (t0 - predicted) * MINUTES
    combined = math.hypot(sig["t0"], sigma_pred) * MINUTES
    oc_sigma = oc / combined if combined > 0 else 0.0
    timing = "on_time" if abs(oc_sigma) < TIMING_SIGMA else ("early" if oc < 0 else "late")
    ratio = ratio_sigma = None
    if tess_depth:
        ratio = depth * 1e6 / tess_depth
        ratio_sigma = depth_sigma * 1e6 / tess_depth
    coverage = _coverage(data.t, t0, t14_fit)
    fit = TransitFit(
        status="fitted",
        verdict="",
        coverage=coverage,
        timing=timing,
        mid_bjd_tdb=round(t0, 6),
        mid_uncertainty_minutes=round(sig["t0"] * MINUTES, 2),
        o_minus_c_minutes=round(oc, 2),
        o_minus_c_sigma=round(oc_sigma, 2),
        depth_ppm=round(depth * 1e6, 1),
        depth_uncertainty_ppm=round(depth_sigma * 1e6, 1),
        depth_ratio_to_tess=None if ratio is None else round(ratio, 3),
        depth_ratio_uncertainty=None if ratio_sigma is None else round(ratio_sigma, 3),
        detection_sigma=round(detection, 1),
        duration_hours=round(t14_fit * 24, 3),
        duration_uncertainty_hours=None if fixed else round(sig.get("t14", 0.0) * 24, 3),
        duration_fixed=fixed,
        rms_per_cadence_ppm=rms1,
        rms_per_10min_ppm=rms10,
        baseline=baseline,
        **common,
    )
    fit.verdict = _fitted_words(fit)
    return fit, curves


def transit_fit_of(
    bjd: np.ndarray,
    flux: np.ndarray,
    flux_err: np.ndarray,
    ephemeris: Ephemeris | None,
    filter_name: str | None,
    airmass: np.ndarray | None = None,
) -> tuple[TransitFit, FitCurves | None]:
    """:func:`fit_light_curve` that never raises: a bug or a failure becomes a fit with a reason."""
    try:
        with np.errstate(all="ignore"):
            return fit_light_curve(bjd, flux, flux_err, ephemeris, filter_name, airmass)
    except Exception as exc:  # the light curve stands without its fit
        log.exception("transit fit failed")
        return _no_fit(f"the fit failed ({type(exc).__name__})"), None


# --- the steps ---------------------------------------------------------------------------------------------


def _clean(bjd: np.ndarray, flux: np.ndarray, err: np.ndarray, airmass: np.ndarray | None) -> _Data | None:
    ok = np.isfinite(bjd) & np.isfinite(flux)
    if airmass is not None:
        airmass_ok = np.isfinite(airmass)
        airmass = airmass if airmass_ok[ok].mean() > 0.9 else None
        if airmass is not None:
            ok &= airmass_ok
    if int(ok.sum()) < MIN_POINTS:
        return None
    t, f = np.asarray(bjd[ok], dtype=np.float64), np.asarray(flux[ok], dtype=np.float64)
    order = np.argsort(t, kind="stable")
    t, f = t[order], f[order]
    scale = float(np.median(f))
    if not math.isfinite(scale) or scale == 0:
        return None
    f = f / scale
    e = np.asarray(err[ok], dtype=np.float64)[order] / abs(scale)
    good = np.isfinite(e) & (e > 0)
    fallback = float(np.std(np.diff(f))) / math.sqrt(2) or 1e-3
    e = np.where(good, e, float(np.median(e[good])) if good.any() else fallback)
    am = None
    if airmass is not None:
        am = np.asarray(airmass[ok], dtype=np.float64)[order]
        am = am - float(np.mean(am)) if float(np.ptp(am)) > 1e-4 else None
    return _Data(t, f, e, am, float(np.mean(t)))


def _design(data: _Data) -> np.ndarray:
    columns = [np.ones_like(data.t), data.t - data.tref]
    if data.airmass is not None:
        columns.append(data.airmass)
    return np.column_stack(columns)


def _baseline_only(data: _Data) -> np.ndarray:
    design = _design(data)
    w = 1 / data.e
    coefficients = np.linalg.lstsq(design * w[:, None], data.f * w, rcond=None)[0]
    return np.asarray(design @ coefficients)


def _flat_model(data: _Data) -> np.ndarray:
    return _baseline_only(data)


def _linear_depth(data: _Data, dip: np.ndarray) -> tuple[float, float, float] | None:
    """(depth scale, its sigma, chi-square) of flux = baseline - scale × dip, solved linearly (dip of unit depth)."""
    design = np.column_stack([_design(data), -dip])
    w = 1 / data.e
    a = design * w[:, None]
    coefficients, _, rank, _ = np.linalg.lstsq(a, data.f * w, rcond=None)
    if rank < design.shape[1]:
        return None
    chi2 = float(np.sum((a @ coefficients - data.f * w) ** 2))
    cov = np.linalg.inv(a.T @ a)
    dof = max(data.t.size - design.shape[1], 1)
    return float(coefficients[-1]), float(math.sqrt(cov[-1, -1] * max(chi2 / dof, 1e-12))), chi2


def _unit_dip(shape: TransitShape, t0: float, t14: float) -> np.ndarray:
    reference = 0.01
    return (1.0 - shape.flux(t0, reference, t14)) / reference


def _depth_at(data: _Data, shape: TransitShape, t0: float, t14: float) -> tuple[float, float] | None:
    """The mid-transit depth (fraction) and its sigma of a transit held at ``t0``."""
    dip = _unit_dip(shape, t0, t14)
    if not np.any(dip > 0):
        return None
    solved = _linear_depth(data, dip)
    if solved is None:
        return None
    scale, sigma, _ = solved
    unit_depth = shape.depth(0.01, t14) / 0.01
    return scale * unit_depth, sigma * unit_depth


def _profile(data: _Data, shape: TransitShape, t14: float, trials: np.ndarray) -> tuple[np.ndarray, float]:
    """The chi-square each trial mid-time saves over the baseline alone (-1 for no positive depth), and that chi-square.

    The dip of unit depth is one template shifted in time (interpolated from a fine grid); the
    baseline is projected out of the flux and of every shifted template by weighted least squares,
    so each trial's depth and chi-square are a few dot products.
    """
    fine = np.linspace(-0.6 * t14, 0.6 * t14, 1201)
    template = TransitShape(fine, shape.period, None, shape.b)
    template.u = shape.u
    unit = (1.0 - template.flux(0.0, 0.01, t14)) / 0.01
    dips = np.interp(data.t[None, :] - trials[:, None], fine, unit, left=0.0, right=0.0)
    w = 1 / data.e
    q, _ = np.linalg.qr(_design(data) * w[:, None])
    flux = data.f * w
    flux_rest = flux - q @ (q.T @ flux)
    weighted = dips * w[None, :]
    dips_rest = weighted - (weighted @ q) @ q.T
    power = np.einsum("gi,gi->g", dips_rest, dips_rest)
    usable = (np.count_nonzero(dips, axis=1) >= 3) & (power > 0)
    safe = np.where(power > 0, power, 1.0)
    cross = dips_rest @ flux_rest
    gain = np.where(usable & (cross < 0), cross**2 / safe, -1.0)
    return gain, float(flux_rest @ flux_rest)


def _scan(data: _Data, shape: TransitShape, t14: float) -> float | None:
    """The mid-time of the best positive-depth transit at the TOI's duration, over every place it could be."""
    step = min(t14 / 20, 3 / MINUTES)
    trials = np.arange(data.t[0] - 0.4 * t14, data.t[-1] + 0.4 * t14 + step / 2, step)
    gain, _ = _profile(data, shape, t14, trials)
    best = int(np.argmax(gain))
    return float(trials[best]) if gain[best] > 0 else None


def _profile_sigma(data: _Data, shape: TransitShape, t14: float, t0: float, parameters: int) -> float:
    """Half the span of mid-times within one (scaled) chi-square of the best: honest when the minimum is not a parabola.

    At low signal-to-noise the chi-square of the mid-time is flat-bottomed or has several dips, and
    the covariance of the fit (its curvature at the best point) is too small; this profile is not.
    """
    trials = t0 + np.linspace(-t14 / 2, t14 / 2, 201)
    gain, total = _profile(data, shape, t14, trials)
    best = float(gain.max())
    if best <= 0:
        return 0.0
    chi2_red = max((total - best) / max(data.t.size - parameters, 1), 1e-12)
    inside = trials[(best - gain) / chi2_red <= 1.0]
    return float(inside.max() - inside.min()) / 2 if inside.size else 0.0


Solution = tuple[float, float, float, dict[str, float], np.ndarray, bool]


def _fit(data: _Data, shape: TransitShape, predicted: float, t14: float) -> Solution | None:
    """The fit at the TOI's duration; again with the duration free when the transit is strong and whole."""
    start = _scan(data, shape, t14)
    if start is None:
        start = predicted
    dip = _unit_dip(shape, start, t14)
    solved = _linear_depth(data, dip) if np.any(dip > 0) else None
    d0 = max(solved[0] if solved else 0.0, 1e-5)
    fixed = _least_squares(data, shape, start, d0, t14, free_duration=False)
    if fixed is None:
        return None
    t0, d, _, sig, _, _ = fixed
    if d / sig["d"] < FREE_DURATION_SIGMA or not _both_edges(data.t, t0, t14):
        return fixed
    free = _least_squares(data, shape, t0, d, t14, free_duration=True)
    if free is None or free[1] <= 0 or abs(free[0] - t0) > 3 * sig["t0"]:
        return fixed  # the free duration wandered off: the fit at the TOI's duration stands
    return free


def _least_squares(
    data: _Data, shape: TransitShape, start: float, d0: float, t14: float, *, free_duration: bool
) -> Solution | None:
    from scipy.optimize import least_squares

    base = np.linalg.lstsq(_design(data), data.f, rcond=None)[0]
    names = ["t0", "d", *(["t14"] if free_duration else []), *[f"c{i}" for i in range(base.size)]]

    origin = np.array([start, d0, *([t14] if free_duration else []), *base])
    scale = np.array([t14 / 20, max(d0, 1e-5), *([t14 / 10] if free_duration else []), *np.full(base.size, 1e-3)])

    def unpack(x: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        # the solver works on 1 + (parameter - start) / scale, all of order one: its finite differences
        # (relative to each value, so never from zero) and tolerances then mean the same for a mid-time
        # near 2.46 million days and a depth of 1e-4
        p = origin + (x - 1.0) * scale
        return float(p[0]), float(p[1]), float(p[2]) if free_duration else t14, p[3 if free_duration else 2 :]

    design = _design(data)

    def model(x: np.ndarray) -> np.ndarray:
        t0, d, duration, c = unpack(x)
        return np.asarray(design @ c) * shape.flux(t0, d, duration)

    def residuals(x: np.ndarray) -> np.ndarray:
        return np.asarray((data.f - model(x)) / data.e)

    low = np.array([start - t14, -1.0, *([t14 / 4] if free_duration else []), *np.full(base.size, -np.inf)])
    high = np.array([start + t14, 1.0, *([min(3 * t14, 0.4 * shape.period)] if free_duration else [])])
    high = np.concatenate([high, np.full(base.size, np.inf)])
    bounds = (1.0 + (low - origin) / scale, 1.0 + (high - origin) / scale)
    result = least_squares(
        residuals,
        np.ones(origin.size),
        bounds=bounds,
        method="trf",
        max_nfev=400,
        diff_step=DIFF_STEP,
        ftol=1e-7,
        xtol=1e-7,
    )
    if not result.success and result.status <= 0:
        return None
    x = result.x
    dof = max(data.t.size - x.size, 1)
    chi2_red = float(np.sum(result.fun**2)) / dof
    cov = np.linalg.pinv(result.jac.T @ result.jac) * chi2_red * np.outer(scale, scale)
    best = model(x)
    beta = _red_noise_factor(data.t, data.f - best)
    sigmas = {name: float(math.sqrt(max(cov[i, i], 0.0))) * beta for i, name in enumerate(names)}
    profile = _profile_sigma(
        data, shape, t14 if not free_duration else float(unpack(x)[2]), float(unpack(x)[0]), x.size
    )
    sigmas["t0"] = max(sigmas["t0"], profile * beta)
    p = x
    t0, d, duration, _ = unpack(p)
    if not all(math.isfinite(v) for v in (t0, d, duration, sigmas["t0"], sigmas["d"])):
        return None
    return t0, d, duration, sigmas, best, not free_duration


def _red_noise_factor(t: np.ndarray, residuals: np.ndarray) -> float:
    """beta: the RMS of 10-minute bins of the residuals over what white noise would give (at least 1)."""
    edges = np.arange(t[0], t[-1] + BIN_DAYS, BIN_DAYS)
    index = np.digitize(t, edges)
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


def _both_edges(t: np.ndarray, t0: float, t14: float) -> bool:
    margin = 15 / MINUTES
    inside = np.count_nonzero(np.abs(t - t0) < t14 / 2)
    return bool(t[0] < t0 - t14 / 2 - margin and t[-1] > t0 + t14 / 2 + margin and inside >= 10)


def _coverage(t: np.ndarray, t0: float, t14: float) -> Coverage:
    ingress, egress = t0 - t14 / 2, t0 + t14 / 2
    if t[-1] < ingress or t[0] > egress:
        return "out_of_transit"
    before, after = t[0] <= ingress, t[-1] >= egress
    if before and after:
        return "full"
    if before:
        return "ingress_only"
    if after:
        return "egress_only"
    return "in_transit_only"


def _rms(t: np.ndarray, residuals: np.ndarray) -> tuple[float, float | None]:
    per_point = float(np.std(residuals)) * 1e6
    index = np.floor((t - t[0]) / BIN_DAYS).astype(int)
    counts = np.bincount(index)
    sums = np.bincount(index, weights=residuals)
    full = counts > 0
    means = sums[full] / counts[full]
    per_10 = float(np.std(means)) * 1e6 if means.size >= 3 else None
    return round(per_point, 1), None if per_10 is None else round(per_10, 1)


def _minutes_outside(mid: float, first: float, last: float) -> float | None:
    if mid < first:
        return round((mid - first) * MINUTES, 1)
    if mid > last:
        return round((mid - last) * MINUTES, 1)
    return None


def _where(minutes: float | None) -> str:
    if minutes is None:
        return "predicted mid-transit inside the observation"
    amount = f"{abs(minutes) / 60:.1f} h" if abs(minutes) >= 90 else f"{abs(minutes):.0f} min"
    return f"predicted mid-transit {amount} {'before the first' if minutes < 0 else 'after the last'} point"


def _not_detected(
    data: _Data,
    shape: TransitShape,
    predicted: float,
    t14: float,
    tess_depth: float | None,
    baseline: list[str],
    detection: float | None,
    note: str | None,
    common: dict[str, object],
) -> TransitFit:
    """No transit measured: the depth of one held at the predicted time says what the data exclude."""
    at_prediction = _depth_at(data, shape, predicted, t14)
    excluded = None
    if tess_depth and at_prediction is not None and at_prediction[1] > 0:
        excluded = round((tess_depth / 1e6 - at_prediction[0]) / at_prediction[1], 1)
    coverage = _coverage(data.t, predicted, t14)
    rms1, rms10 = _rms(data.t, data.f - _flat_model(data))
    verdict = _not_detected_words(excluded, coverage, tess_depth)
    return TransitFit.model_validate(
        {
            "status": "not_detected",
            "verdict": verdict + (f" ({note})" if note else ""),
            "coverage": coverage,
            "depth_ppm": None if at_prediction is None else round(at_prediction[0] * 1e6, 1),
            "depth_uncertainty_ppm": None if at_prediction is None else round(at_prediction[1] * 1e6, 1),
            "detection_sigma": None if detection is None else round(detection, 1),
            "excluded_sigma": excluded,
            "rms_per_cadence_ppm": rms1,
            "rms_per_10min_ppm": rms10,
            "baseline": baseline,
            **common,
        }
    )


def _no_fit(reason: str, **common: object) -> TransitFit:
    return TransitFit.model_validate({"status": "no_fit", "verdict": f"no fit: {reason}", "reason": reason, **common})


# --- words ---------------------------------------------------------------------------------------------------

COVERAGE_WORDS: dict[str, str] = {
    "full": "full transit",
    "ingress_only": "ingress only",
    "egress_only": "egress only",
    "in_transit_only": "in transit only (neither ingress nor egress)",
    "out_of_transit": "out of transit",
}


def _signed(value: float) -> str:
    return f"{value:+.0f}".replace("-", "−")


def _fitted_words(fit: TransitFit) -> str:
    oc, sigma = (
        fit.o_minus_c_minutes or 0.0,
        math.hypot(fit.mid_uncertainty_minutes or 0.0, fit.predicted_uncertainty_minutes or 0.0),
    )
    timing = f"O−C {_signed(oc)} ± {sigma:.0f} min"
    if fit.timing == "on_time":
        words = f"on time ({timing})"
    else:
        late = "early" if oc < 0 else "late"
        words = f"{late} by {abs(oc):.0f} min ({timing}, {abs(fit.o_minus_c_sigma or 0):.1f} sigma)"
    if fit.depth_ratio_to_tess is not None and fit.depth_ratio_uncertainty is not None:
        ratio, ratio_sigma = fit.depth_ratio_to_tess, fit.depth_ratio_uncertainty
        words += f", depth {ratio:.2f} ± {ratio_sigma:.2f} × TESS"
        off = abs(ratio - 1) > 3 * ratio_sigma
        if off and ratio < 0.6:
            words += " (much shallower than TESS: the signal may be on a nearby star)"
        elif off and ratio > 1.6:
            words += " (much deeper than TESS: check for a blended eclipsing binary)"
    else:
        words += f", depth {fit.depth_ppm:.0f} ± {fit.depth_uncertainty_ppm:.0f} ppm"
    if fit.coverage not in (None, "full"):
        words = f"{COVERAGE_WORDS[fit.coverage]}: {words}"
    if fit.detection_sigma is not None and fit.detection_sigma < STRONG_SIGMA:
        words += f" (weak detection, {fit.detection_sigma:.1f} sigma: the timing is uncertain beyond its error bar)"
    return words


def _not_detected_words(excluded: float | None, coverage: Coverage, tess_depth: float | None) -> str:
    prefix = "" if coverage == "full" else f" ({COVERAGE_WORDS[coverage]} of the predicted window)"
    if excluded is None:
        return f"transit not detected{prefix}"
    if excluded >= 3:
        return f"transit not detected{prefix}: a TESS-depth event is excluded at {excluded:.1f} sigma"
    return (
        f"no clear transit{prefix}: the data neither show nor exclude a TESS-depth event "
        f"({tess_depth:.0f} ppm, excluded at only {max(excluded, 0):.1f} sigma)"
    )

"""A transit fitted to one light curve, from the TOI's ephemeris: when it came, how deep, how long.

1. The prediction: the transit of the TOI's ephemeris nearest the observation, with its uncertainty
   (the epoch's and the period's, times the number of periods since the epoch).  When that window
   widened by three sigma lies outside the data, no transit is expected and none is fitted.
2. A scan: the limb-darkened model at the TOI's duration, slid over every mid-time that leaves at
   least a tenth of the transit in the data, its depth and baseline solved linearly at each step;
   the best positive depth starts the fit (so a transit an hour early is found, not a local dip).
3. The fit: weighted least squares of mid-time, depth, (duration when the transit is strong and
   both ingress and egress are observed) and a baseline linear in time and, where the table has
   it, in airmass; linear in all but the mid-time and duration, which are profiled
   (:mod:`exofop_mcp.lightcurves.transit_profile`).
4. Uncertainties: from the chi-square, scaled by the reduced chi-square (the scatter of the
   residuals, not the quoted errors) and by the red-noise factor beta (how much worse than white
   the residuals average down over 10 minutes); the mid-time's from its profile (Δχ² = 1).
5. The verdict: detected when the depth is 3 sigma from zero (5 sigma when the transit is found
   away from the prediction: the scan tried many places, and an edge or a trend can mimic part of
   one); on time when O−C is within 3 sigma of the combined uncertainty of prediction and
   measurement; depth compared with TESS.  Without a detection, the depth at the predicted time
   says at how many sigma a TESS-depth event is excluded.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from exofop_mcp.lightcurves.fit_results import Coverage, TransitFit
from exofop_mcp.lightcurves.transit_model import TransitShape, depth_parameter_for
from exofop_mcp.lightcurves.transit_profile import (
    Dips,
    Measurement,
    Photometry,
    Projection,
    depth_at,
    dips_for,
    measure,
    scan,
)

if TYPE_CHECKING:
    from exofop_mcp.lightcurves.ephemeris import Ephemeris

log = logging.getLogger(__name__)

MIN_POINTS = 20
MAX_SPAN_DAYS = 1.5  # a longer light curve is cut to the night around the transit nearest its middle
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

    model: np.ndarray | None  # baseline minus transit (flux / its median), on the light curve's times
    predicted_mid: float | None
    predicted_sigma_days: float
    duration_days: float


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
    hours = ephemeris.duration_hours if ephemeris.duration_hours and math.isfinite(ephemeris.duration_hours) else 0.0
    t14 = min(max(hours or DEFAULT_DURATION_HOURS, 0.25), 12.0, 0.3 * period * 24) / 24
    centre = 0.5 * (data.t[0] + data.t[-1])
    epoch_number = round((centre - ephemeris.epoch_bjd) / period)
    predicted = ephemeris.epoch_bjd + epoch_number * period
    if data.t[-1] - data.t[0] > MAX_SPAN_DAYS:  # several nights: the transit nearest the middle, with its night
        data = _around(data, predicted, t14 + MAX_SPAN_DAYS / 3)
        if data is None:
            return _no_fit(f"fewer than {MIN_POINTS} points within a night of the predicted transit"), None
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
    shape = TransitShape(np.array([0.0]), period, filter_name)
    projection = Projection(data)
    dips = dips_for(shape, _depth_parameter(tess_depth, period, t14, filter_name), t14)
    baseline = ["constant", "time"] + (["airmass"] if data.airmass is not None else [])
    reach = EXPECTED_SIGMA * sigma_pred + t14 / 2
    if predicted + reach < data.t[0] or predicted - reach > data.t[-1]:
        rms1, rms10 = _rms(data.t, data.f - _baseline(projection))
        return TransitFit(
            status="not_expected",
            verdict=f"no transit expected in this window (prediction ± 3 sigma is outside): {_where(outside)}",
            coverage="out_of_transit",
            rms_per_cadence_ppm=rms1,
            rms_per_10min_ppm=rms10,
            baseline=baseline,
            **common,
        ), curves
    start = scan(projection, dips)
    result = None if start is None else _measure(projection, shape, dips, start)
    if result is None:  # no dip anywhere, or nothing the profile could settle on
        curves.model = _baseline(projection)
        return _not_detected(projection, dips, predicted, tess_depth, baseline, None, None, common), curves
    t0, depth, t14_fit, depth_sigma = result.t0, result.depth, result.t14, result.sigma_depth
    model, fixed, sig_t0 = result.model, result.sigma_t14 is None, result.sigma_t0
    rms1, rms10 = _rms(data.t, data.f - model)
    detection = depth / depth_sigma if depth_sigma > 0 else 0.0
    off_prediction = abs(t0 - predicted) > TIMING_SIGMA * math.hypot(sig_t0, sigma_pred)
    if detection < (DETECTION_SIGMA_ELSEWHERE if off_prediction else DETECTION_SIGMA):
        note: str | None = None
        if off_prediction and detection >= DETECTION_SIGMA:
            minutes = (t0 - predicted) * MINUTES
            when = "earlier" if minutes < 0 else "later"
            note = f"a possible {detection:.1f}-sigma dip {abs(minutes):.0f} min {when}"
        curves.model = _baseline(projection)
        return _not_detected(projection, dips, predicted, tess_depth, baseline, detection, note, common), curves
    curves.model = model
    curves.duration_days = t14_fit
    oc = (t0 - predicted) * MINUTES
    combined = math.hypot(sig_t0, sigma_pred) * MINUTES
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
        mid_uncertainty_minutes=round(sig_t0 * MINUTES, 2),
        o_minus_c_minutes=round(oc, 2),
        o_minus_c_sigma=round(oc_sigma, 2),
        depth_ppm=round(depth * 1e6, 1),
        depth_uncertainty_ppm=round(depth_sigma * 1e6, 1),
        depth_ratio_to_tess=None if ratio is None else round(ratio, 3),
        depth_ratio_uncertainty=None if ratio_sigma is None else round(ratio_sigma, 3),
        detection_sigma=round(detection, 1),
        duration_hours=round(t14_fit * 24, 3),
        duration_uncertainty_hours=None if result.sigma_t14 is None else round(result.sigma_t14 * 24, 3),
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


def _clean(bjd: np.ndarray, flux: np.ndarray, err: np.ndarray, airmass: np.ndarray | None) -> Photometry | None:
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
    return Photometry(t, f, e, am, float(np.mean(t)))


def _around(data: Photometry, mid: float, half: float) -> Photometry | None:
    keep = np.abs(data.t - mid) <= half
    if int(keep.sum()) < MIN_POINTS:
        return None
    airmass = None if data.airmass is None else data.airmass[keep] - float(np.mean(data.airmass[keep]))
    return Photometry(data.t[keep], data.f[keep], data.e[keep], airmass, float(np.mean(data.t[keep])))


def _measure(projection: Projection, shape: TransitShape, dips: Dips, start: float) -> Measurement | None:
    """At the TOI's duration; again with the duration free when the transit is strong and whole."""
    k2 = dips.depth_parameter
    fixed = measure(projection, shape, k2, dips.t14, start, free_duration=False)
    if fixed is None or fixed.sigma_depth <= 0:
        return fixed
    if fixed.depth / fixed.sigma_depth < FREE_DURATION_SIGMA or not _both_edges(projection.data.t, fixed.t0, dips.t14):
        return fixed
    free = measure(projection, shape, k2, dips.t14, fixed.t0, free_duration=True)
    if free is None or free.depth <= 0 or abs(free.t0 - fixed.t0) > 3 * fixed.sigma_t0:
        return fixed  # the free duration wandered off: the fit at the TOI's duration stands
    return free


@functools.lru_cache(maxsize=256)
def _depth_parameter(tess_depth: float | None, period: float, t14: float, filter_name: str | None) -> float:
    return depth_parameter_for((tess_depth or 5000.0) / 1e6, period, t14, filter_name)


def _baseline(projection: Projection) -> np.ndarray:
    return projection.model(np.zeros_like(projection.data.t), 0.0)


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
    projection: Projection,
    dips: Dips,
    predicted: float,
    tess_depth: float | None,
    baseline: list[str],
    detection: float | None,
    note: str | None,
    common: dict[str, object],
) -> TransitFit:
    """No transit measured: the depth of one held at the predicted time says what the data exclude."""
    data = projection.data
    at_prediction = depth_at(projection, dips, predicted)
    excluded = None
    if tess_depth and at_prediction is not None and at_prediction[1] > 0:
        excluded = round((tess_depth / 1e6 - at_prediction[0]) / at_prediction[1], 1)
    coverage = _coverage(data.t, predicted, dips.t14)
    rms1, rms10 = _rms(data.t, data.f - _baseline(projection))
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

"""A system's transit fits in a few numbers: how many on time, early or late, and the depths by filter.

Pure Python over the entries' :class:`TransitFit` records, so a repeated extraction answered from
the manifest summarises without importing numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from exofop_mcp.lightcurves.fit_results import FilterDepths, FitSummary, TransitFit


def summarise_fits(fits: Iterable[tuple[str | None, TransitFit]]) -> FitSummary | None:
    """The summary of ``(filter, fit)`` pairs; ``None`` when there are no fits at all."""
    summary = FitSummary()
    by_filter: dict[str, list[TransitFit]] = {}
    seen = False
    for filter_name, fit in fits:
        seen = True
        if fit.status == "fitted":
            summary.fitted += 1
            if fit.timing == "early":
                summary.early += 1
            elif fit.timing == "late":
                summary.late += 1
            else:
                summary.on_time += 1
            if fit.depth_ratio_to_tess is not None:
                by_filter.setdefault(filter_name or "unknown filter", []).append(fit)
        elif fit.status == "not_detected":
            summary.not_detected += 1
        elif fit.status == "not_expected":
            summary.not_expected += 1
        else:
            summary.no_fit += 1
    if not seen:
        return None
    summary.depth_by_filter = [_depths(name, fits) for name, fits in sorted(by_filter.items())]
    summary.text = _words(summary)
    return summary


def _depths(name: str, fits: list[TransitFit]) -> FilterDepths:
    ratios = [f.depth_ratio_to_tess for f in fits if f.depth_ratio_to_tess is not None]
    weights = [
        (f.depth_ratio_to_tess, 1 / f.depth_ratio_uncertainty**2)
        for f in fits
        if f.depth_ratio_to_tess is not None and f.depth_ratio_uncertainty
    ]
    mean = sigma = None
    total = sum(w for _, w in weights)
    if total > 0:
        mean = round(sum(r * w for r, w in weights) / total, 3)
        sigma = round(1 / math.sqrt(total), 3)
    return FilterDepths(filter=name, count=len(ratios), ratios=ratios, weighted_mean=mean, uncertainty=sigma)


def _words(s: FitSummary) -> str:
    if not s.fitted:
        parts = []
    else:
        timing = [f"{s.on_time} on time"] + [f"{n} {w}" for n, w in ((s.early, "early"), (s.late, "late")) if n]
        parts = [f"{s.fitted} transits measured: {', '.join(timing)}"]
    for count, words in (
        (s.not_detected, "not detected where predicted"),
        (s.not_expected, "with no transit expected in the window"),
        (s.no_fit, "without a fit"),
    ):
        if count:
            parts.append(f"{count} {words}")
    text = "Transit fits: " + "; ".join(parts) + "." if parts else "Transit fits: none."
    depths = [
        f"{d.filter} {d.weighted_mean:.2f} ± {d.uncertainty:.2f} ({d.count})"
        for d in s.depth_by_filter
        if d.weighted_mean is not None and d.uncertainty is not None
    ]
    if depths:
        text += " Depth / TESS by filter: " + ", ".join(depths) + "."
    return text

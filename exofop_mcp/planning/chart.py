"""A PNG of one transit's night: the target's altitude (and airmass), twilight, the transit and the Moon.

Drawn with matplotlib's object API (a ``Figure`` on a ``FigureCanvasAgg``, never pyplot, nothing
global touched), imported only when a chart is asked for; one figure at a time (a lock keeps
matplotlib's font caches to one thread).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import numpy as np

WIDTH, HEIGHT, DPI = 720, 360, 100
_lock = threading.Lock()


@dataclass(frozen=True)
class NightChart:
    """What one chart shows; times are hours from the night's local noon, in UTC on the axis labels."""

    title: str
    hours: np.ndarray  # sample times
    utc_hour_at_zero: float  # UTC hour of day at hours == 0
    target_altitude: np.ndarray
    moon_altitude: np.ndarray
    sun_altitude: np.ndarray
    ingress: float
    egress: float
    sigma_hours: float  # NaN when unknown
    baseline_hours: float
    min_altitude: float
    sun_limit: float
    moon_note: str


def draw(chart: NightChart) -> bytes:
    """The chart as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _lock:
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.08, 0.14, 0.82, 0.76))
        hours = chart.hours
        for limit, shade in ((0.0, 0.06), (-6.0, 0.1), (-12.0, 0.14), (-18.0, 0.18)):
            axes.fill_between(hours, 0, 90, where=chart.sun_altitude < limit, color="navy", alpha=shade, lw=0)
        if np.isfinite(chart.sigma_hours):
            axes.axvspan(
                chart.ingress - chart.sigma_hours, chart.egress + chart.sigma_hours, color="orange", alpha=0.15
            )
        if chart.baseline_hours > 0:
            axes.axvspan(chart.ingress - chart.baseline_hours, chart.ingress, color="green", alpha=0.12)
            axes.axvspan(chart.egress, chart.egress + chart.baseline_hours, color="green", alpha=0.12)
        axes.axvspan(chart.ingress, chart.egress, color="orange", alpha=0.4)
        axes.axvline((chart.ingress + chart.egress) / 2, color="darkorange", ls="--", lw=1)
        axes.axhline(chart.min_altitude, color="red", ls=":", lw=1)
        axes.plot(hours, chart.target_altitude, color="black", lw=2, label="target")
        axes.plot(hours, chart.moon_altitude, color="grey", lw=1, ls="--", label=chart.moon_note)
        axes.set_ylim(0, 90)
        axes.set_xlim(float(hours[0]), float(hours[-1]))
        ticks = np.arange(np.ceil(hours[0]), np.floor(hours[-1]) + 1, 2.0)
        axes.set_xticks(ticks)
        axes.set_xticklabels([f"{int((t + chart.utc_hour_at_zero) % 24):02d}" for t in ticks])
        axes.set_xlabel("UTC (h); shading: twilight and night (sun below 0, -6, -12, -18 deg)")
        axes.set_ylabel("altitude (deg)")
        secondary = axes.twinx()
        secondary.set_ylim(0, 90)
        marks = [30.0, 42.0, 60.0, 90.0]
        secondary.set_yticks(marks)
        secondary.set_yticklabels([f"{1 / np.sin(np.radians(m)):.2f}" for m in marks])
        secondary.set_ylabel("airmass")
        axes.set_title(chart.title, fontsize=10)
        axes.legend(loc="upper right", fontsize=8)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()

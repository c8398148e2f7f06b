"""A PNG of each light curve: flux against time, with the transit window the TOI's ephemeris predicts.

matplotlib is imported (with the Agg backend, no display) only when a plot is drawn; figures are
built with the object API, never pyplot, so nothing global is touched.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exofop_mcp.atomic_files import atomic_write_bytes

_lock = threading.Lock()  # matplotlib's text and font caches are not thread-safe


@dataclass(frozen=True)
class Ephemeris:
    planet: str
    epoch_bjd: float
    period_days: float
    duration_hours: float


def predicted_windows(ephemeris: Ephemeris | None, start: float, end: float) -> list[tuple[float, float, float]]:
    """(ingress, mid, egress) in BJD_TDB of each predicted transit overlapping [start, end]."""
    if ephemeris is None or not ephemeris.period_days or ephemeris.period_days <= 0:
        return []
    half = (ephemeris.duration_hours or 0.0) / 48.0
    first = math.floor((start - half - ephemeris.epoch_bjd) / ephemeris.period_days)
    last = math.ceil((end + half - ephemeris.epoch_bjd) / ephemeris.period_days)
    windows = []
    for n in range(first, last + 1):
        mid = ephemeris.epoch_bjd + n * ephemeris.period_days
        if mid + half >= start and mid - half <= end:
            windows.append((mid - half, mid, mid + half))
    return windows


class _Canvas:
    """One figure reused for every plot (building axes and ticks is most of matplotlib's cost)."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(7.0, 3.6), dpi=80)
        FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.12, right=0.98, bottom=0.14, top=0.9)
        self.axes = self.figure.add_subplot(1, 1, 1)
        (self.points,) = self.axes.plot([], [], ".", ms=3, color="0.25")
        (self.window_key,) = self.axes.plot([], [], color="tab:orange", ls="--")
        self.axes.set_ylabel("relative flux")
        self.marks: list[object] = []

    def draw(
        self,
        x: np.ndarray,
        y: np.ndarray,
        title: str,
        xlabel: str,
        label: str,
        windows: list[tuple[float, float, float]],
        window_label: str | None,
    ) -> bytes:
        for mark in self.marks:
            mark.remove()  # type: ignore[attr-defined]
        self.marks = []
        self.points.set_data(x, y)
        self.points.set_label(label)
        for ingress, mid, egress in windows:
            self.marks.append(self.axes.axvspan(ingress, egress, color="tab:orange", alpha=0.18, lw=0))
            self.marks.append(self.axes.axvline(mid, color="tab:orange", lw=1.0, ls="--"))
        self.window_key.set_label(window_label or "_nolegend_")
        self.axes.relim(visible_only=True)
        if x.size:
            low, high = float(np.min(x)), float(np.max(x))
            pad = max((high - low) * 0.03, 0.05)
            self.axes.set_xlim(low - pad, high + pad)
            ylow, yhigh = np.nanpercentile(y, [0.5, 99.5])
            ypad = max((yhigh - ylow) * 0.15, 1e-4)
            self.axes.set_ylim(ylow - ypad, yhigh + ypad)
        self.axes.set_xlabel(xlabel)
        self.axes.set_title(title, fontsize=8)
        legend = self.axes.legend(loc="lower left", fontsize=7, frameon=False)
        out = io.BytesIO()
        self.figure.savefig(out, format="png")
        legend.remove()
        return out.getvalue()


_canvas: _Canvas | None = None


def plot_png(bjd: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, title: str, ephemeris: Ephemeris | None) -> bytes:
    """The plot as PNG bytes: hours since the integer day of the first point, the predicted transit shaded."""
    global _canvas
    ok = np.isfinite(bjd) & np.isfinite(flux)
    offset = math.floor(float(np.min(bjd[ok]))) if ok.any() else 0.0
    typical = float(np.nanmedian(flux_err[ok])) if ok.any() else float("nan")
    windows = predicted_windows(ephemeris, float(bjd[ok].min()), float(bjd[ok].max())) if ok.any() else []
    hours = [((a - offset) * 24, (b - offset) * 24, (c - offset) * 24) for a, b, c in windows]
    with _lock:
        if _canvas is None:
            _canvas = _Canvas()
        return _canvas.draw(
            (bjd[ok] - offset) * 24.0,
            flux[ok],
            title,
            f"hours since BJD_TDB {offset:.0f}",
            f"median error {typical:.2g}" if np.isfinite(typical) else "flux",
            hours,
            None
            if ephemeris is None
            else f"TOI {ephemeris.planet} predicted transit" + ("" if hours else " (outside the observation)"),
        )


def write_png(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data, durable=False)

"""A PNG of each light curve: flux against time, with the transit window the TOI's ephemeris predicts.

Drawn with matplotlib's object API (``Figure`` on a ``FigureCanvasAgg``, never pyplot, so nothing
global is touched), imported only when the first plot is drawn.  Building a figure, its axes and
ticks is most of matplotlib's cost, so one figure per process is built once and reused: each plot
only replaces the points (``set_data``), moves the shaded windows and mid-time lines, sets the
limits, ticks and texts, and draws.  Nothing is measured to place things: the margins, title, axis
labels and key are at fixed places (no ``tight_layout``, no ``Legend``, whose boxes are laid out
again at every draw), and the ticks are placed and labelled here.  The canvas is drawn once and its
pixels encoded by Pillow as a 64-colour palette PNG (``savefig`` would draw and encode RGBA on top
of its own bookkeeping: ~10 ms more).  A lock keeps the threads of concurrent extractions off the
figure (and off matplotlib's font caches, which are not thread-safe) while one draws.

The picture: the points (hours since the integer BJD_TDB day of the first point), each predicted
transit shaded from ingress to egress with its mid-time dashed, a title, axis labels and a key with
the median error.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

WIDTH, HEIGHT, DPI = 640, 320, 100
LEFT, RIGHT, TOP, BOTTOM = 70, 12, 24, 44  # margins of the plotting area (pixels)
POINTS = (64, 64, 64)
ORANGE = (255, 127, 14)
SHADE_ALPHA = 0.18

_lock = threading.Lock()  # one figure per process, drawn by one thread at a time


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


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About ``count`` round values (1, 2, 2.5 or 5 times a power of ten) between ``low`` and ``high``."""
    span = high - low
    if not math.isfinite(span) or span <= 0:
        return [low]
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _labels(ticks: list[float]) -> list[str]:
    """Tick values with as many decimals as their step needs (0.25 steps: two)."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    scaled = step * 10**decimals
    if abs(scaled - round(scaled)) > 1e-6:
        decimals += 1
    return [f"{value:.{decimals}f}" for value in ticks]


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    return (color[0] / 255, color[1] / 255, color[2] / 255)


class _Canvas:
    """One figure, its axes, points, keys and a pool of transit windows, reused for every plot."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(
            left=LEFT / WIDTH, right=1 - RIGHT / WIDTH, bottom=BOTTOM / HEIGHT, top=1 - TOP / HEIGHT
        )
        axes = self.axes = self.figure.add_subplot(1, 1, 1)
        axes.tick_params(labelsize=8, length=3, direction="in")
        # fixed places for the title and axis labels: matplotlib would otherwise measure every tick
        # label at each draw to move them clear
        axes.set_ylabel("relative flux", fontsize=9)
        axes.yaxis.set_label_coords(-56 / (WIDTH - LEFT - RIGHT), 0.5)
        self.xlabel = axes.set_xlabel("", fontsize=9)
        axes.xaxis.set_label_coords(0.5, -23 / (HEIGHT - TOP - BOTTOM))
        self.title = axes.set_title("", fontsize=8, y=1.0, pad=4)
        (self.points,) = axes.plot([], [], "s", ms=1.6, mew=0, color=_rgb(POINTS), antialiased=False, zorder=3)
        # the key: fixed texts and marks in the lower left corner (a Legend would lay its boxes out
        # again at every draw); the window's line above the points' square when both are shown
        (self.key_dot,) = axes.plot(
            [0.022], [0.04], "s", ms=2.5, mew=0, color=_rgb(POINTS), transform=axes.transAxes, antialiased=False
        )
        (self.key_dash,) = axes.plot(
            [0.012, 0.034], [0.12, 0.12], color=_rgb(ORANGE), lw=1.0, ls="--", transform=axes.transAxes
        )
        key_text: dict[str, Any] = {"fontsize": 7, "va": "center", "transform": axes.transAxes}
        self.key_label = axes.text(0.055, 0.04, "", **key_text)
        self.key_window_label = axes.text(0.055, 0.12, "", **key_text)
        self.spans: list[Any] = []
        self.mids: list[Any] = []

    def _window(self, index: int) -> tuple[Any, Any]:
        """The index-th shaded window and its mid-time line, made the first time one is needed."""
        while len(self.spans) <= index:
            from matplotlib.patches import Rectangle

            blend = self.axes.get_xaxis_transform()  # x in data, y in axes fractions
            span = Rectangle((0, 0), 0, 1, transform=blend, color=_rgb(ORANGE), alpha=SHADE_ALPHA, lw=0, zorder=1)
            self.axes.add_patch(span)
            (mid,) = self.axes.plot([0, 0], [0, 1], transform=blend, color=_rgb(ORANGE), lw=1.0, ls="--", zorder=2)
            self.spans.append(span)
            self.mids.append(mid)
        return self.spans[index], self.mids[index]

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
        from PIL import Image

        axes = self.axes
        self.points.set_data(x, y)
        for index, (ingress, mid, egress) in enumerate(windows):
            span, line = self._window(index)
            span.set_x(ingress)
            span.set_width(egress - ingress)
            line.set_xdata([mid, mid])
        for index in range(len(self.spans)):
            self.spans[index].set_visible(index < len(windows))
            self.mids[index].set_visible(index < len(windows))
        if x.size:
            low, high = float(np.min(x)), float(np.max(x))
            pad = max((high - low) * 0.03, 0.05)
            xlim = (low - pad, high + pad)
            ylow, yhigh = (float(v) for v in np.nanpercentile(y, [0.5, 99.5]))
            ypad = max((yhigh - ylow) * 0.15, 1e-4)
            ylim = (ylow - ypad, yhigh + ypad)
        else:
            xlim, ylim = (0.0, 1.0), (0.0, 1.0)
        axes.set_xlim(xlim)
        axes.set_ylim(ylim)
        xticks, yticks = nice_ticks(*xlim, 6), nice_ticks(*ylim, 4)
        axes.set_xticks(xticks, _labels(xticks))
        axes.set_yticks(yticks, _labels(yticks))
        self.xlabel.set_text(xlabel)
        self.title.set_text(title)
        self.key_label.set_text(label)
        self.key_window_label.set_text(window_label or "")
        self.key_dash.set_visible(window_label is not None)
        self.canvas.draw()
        image = Image.frombuffer("RGBA", (WIDTH, HEIGHT), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        # a palette of 64 colours holds white, the greys of text and points, and the orange with its
        # shade; a palette image is a third of the size and encodes faster than RGBA
        palette = image.convert("RGB").quantize(64, method=Image.Quantize.FASTOCTREE)
        palette.save(out, format="PNG", compress_level=3)
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

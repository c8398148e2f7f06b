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

The picture: the points (hours since the integer BJD_TDB day of the first point) in grey, their
10-minute bins (5 when the span is short) with error bars, the fitted transit model, each predicted
transit shaded from ingress to egress with its mid-time dashed and a paler band widened by the
ephemeris' one-sigma uncertainty, a title with the TOI, axis labels and a key that names only what
is drawn (when the prediction falls outside the observation, the key says by how much instead).
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from exofop_mcp.lightcurves.ephemeris import Ephemeris, predicted_windows

if TYPE_CHECKING:
    from exofop_mcp.lightcurves.fit_results import TransitFit
    from exofop_mcp.lightcurves.transit_fit import FitCurves

WIDTH, HEIGHT, DPI = 640, 320, 100
LEFT, RIGHT, TOP, BOTTOM = 70, 12, 24, 44  # margins of the plotting area (pixels)
POINTS = (150, 150, 150)  # the unbinned points
BINNED = (31, 90, 160)  # binned points and their error bars
MODEL = (200, 30, 30)  # the fitted transit
ORANGE = (255, 127, 14)
SHADE_ALPHA = 0.18
BAND_ALPHA = 0.07  # the predicted window widened by the ephemeris' uncertainty
KEY_ROWS = 4

_lock = threading.Lock()  # one figure per process, drawn by one thread at a time


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


@dataclass
class Picture:
    """What one plot shows, in hours since the integer day of the first point."""

    x: np.ndarray
    y: np.ndarray
    binned: tuple[np.ndarray, np.ndarray, np.ndarray]  # x, mean, error of each bin
    model: tuple[np.ndarray, np.ndarray] | None
    windows: list[tuple[float, float, float]]  # ingress, mid, egress
    band_hours: float  # the one-sigma uncertainty of the predicted mid-time
    title: str
    xlabel: str
    key: list[tuple[str, str]]  # (what: points, binned, model, window, text), label


class _Canvas:
    """One figure, its axes, artists, key and a pool of transit windows, reused for every plot."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
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
        self.bars = LineCollection([], colors=[_rgb(BINNED)], linewidths=0.8, zorder=4)
        axes.add_collection(self.bars)
        (self.binned,) = axes.plot([], [], "o", ms=3.2, mew=0, color=_rgb(BINNED), zorder=5)
        (self.model,) = axes.plot([], [], "-", lw=1.4, color=_rgb(MODEL), zorder=6)
        # the key: fixed texts and marks in the lower left corner (a Legend would lay its boxes out
        # again at every draw); a row for each thing drawn, none for what is not
        key_text: dict[str, Any] = {"fontsize": 7, "va": "center", "transform": axes.transAxes}
        self.key_marks: dict[str, list[Any]] = {"points": [], "binned": [], "model": [], "window": []}
        self.key_texts: list[Any] = []
        for row in range(KEY_ROWS):
            y = 0.05 + 0.075 * row
            styles: tuple[tuple[str, dict[str, Any]], ...] = (
                ("points", {"marker": "s", "ms": 2.5, "mew": 0, "color": _rgb(POINTS), "ls": ""}),
                ("binned", {"marker": "o", "ms": 3.2, "mew": 0, "color": _rgb(BINNED), "ls": ""}),
                ("model", {"color": _rgb(MODEL), "lw": 1.4}),
                ("window", {"color": _rgb(ORANGE), "lw": 1.0, "ls": "--"}),
            )
            for what, style in styles:
                xs = [0.023] if what in ("points", "binned") else [0.012, 0.034]
                (mark,) = axes.plot(xs, [y] * len(xs), transform=axes.transAxes, **style)
                self.key_marks[what].append(mark)
            self.key_texts.append(axes.text(0.045, y, "", **key_text))
        self.spans: list[Any] = []
        self.bands: list[Any] = []
        self.mids: list[Any] = []

    def _window(self, index: int) -> tuple[Any, Any, Any]:
        """The index-th shaded window, its uncertainty band and mid-time line, made the first time one is needed."""
        while len(self.spans) <= index:
            from matplotlib.patches import Rectangle

            blend = self.axes.get_xaxis_transform()  # x in data, y in axes fractions
            span = Rectangle((0, 0), 0, 1, transform=blend, color=_rgb(ORANGE), alpha=SHADE_ALPHA, lw=0, zorder=1)
            band = Rectangle((0, 0), 0, 1, transform=blend, color=_rgb(ORANGE), alpha=BAND_ALPHA, lw=0, zorder=0)
            self.axes.add_patch(span)
            self.axes.add_patch(band)
            (mid,) = self.axes.plot([0, 0], [0, 1], transform=blend, color=_rgb(ORANGE), lw=1.0, ls="--", zorder=2)
            self.spans.append(span)
            self.bands.append(band)
            self.mids.append(mid)
        return self.spans[index], self.bands[index], self.mids[index]

    def draw(self, picture: Picture) -> bytes:
        from PIL import Image

        axes = self.axes
        x, y = picture.x, picture.y
        self.points.set_data(x, y)
        bx, by, be = picture.binned
        self.binned.set_data(bx, by)
        self.bars.set_segments([[(a, b - e), (a, b + e)] for a, b, e in zip(bx, by, be, strict=True)])
        if picture.model is not None:
            self.model.set_data(*picture.model)
        self.model.set_visible(picture.model is not None)
        for index, (ingress, mid, egress) in enumerate(picture.windows):
            span, band, line = self._window(index)
            span.set_x(ingress)
            span.set_width(egress - ingress)
            band.set_x(ingress - picture.band_hours)
            band.set_width(egress - ingress + 2 * picture.band_hours)
            line.set_xdata([mid, mid])
        for index in range(len(self.spans)):
            shown = index < len(picture.windows)
            self.spans[index].set_visible(shown)
            self.bands[index].set_visible(shown and picture.band_hours > 0)
            self.mids[index].set_visible(shown)
        if x.size:
            low, high = float(np.min(x)), float(np.max(x))
            pad = max((high - low) * 0.03, 0.05)
            xlim = (low - pad, high + pad)
            ylow, yhigh = (float(v) for v in np.nanpercentile(y, [0.5, 99.5]))
            if picture.model is not None and picture.model[1].size:
                ylow = min(ylow, float(np.nanmin(picture.model[1])))
                yhigh = max(yhigh, float(np.nanmax(picture.model[1])))
            ypad = max((yhigh - ylow) * 0.15, 1e-4)
            ylim = (ylow - 2.2 * ypad, yhigh + ypad)  # room below for the key
        else:
            xlim, ylim = (0.0, 1.0), (0.0, 1.0)
        axes.set_xlim(xlim)
        axes.set_ylim(ylim)
        xticks, yticks = nice_ticks(*xlim, 6), nice_ticks(*ylim, 4)
        axes.set_xticks(xticks, _labels(xticks))
        axes.set_yticks(yticks, _labels(yticks))
        self.xlabel.set_text(picture.xlabel)
        self.title.set_text(picture.title)
        for row in range(KEY_ROWS):
            what, label = picture.key[row] if row < len(picture.key) else ("", "")
            for kind, marks in self.key_marks.items():
                marks[row].set_visible(kind == what)
            self.key_texts[row].set_text(label)
            self.key_texts[row].set_x(0.012 if what == "text" else 0.045)
        self.canvas.draw()
        image = Image.frombuffer("RGBA", (WIDTH, HEIGHT), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        # a palette of 64 colours holds white, the greys of text and points, the blue, red and
        # orange with its shades; a palette image is a third of the size and encodes faster than RGBA
        palette = image.convert("RGB").quantize(64, method=Image.Quantize.FASTOCTREE)
        palette.save(out, format="PNG", compress_level=3)
        return out.getvalue()


_canvas: _Canvas | None = None


def bins(x: np.ndarray, y: np.ndarray, err: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bins of ``width`` (x units): mean x, mean y and the standard error of each bin of at least two points."""
    if not x.size:
        return x, y, err
    index = np.floor((x - x[0]) / width).astype(int)
    counts = np.bincount(index)
    keep = counts >= 2
    mean_x = np.bincount(index, weights=x)[keep] / counts[keep]
    mean_y = np.bincount(index, weights=y)[keep] / counts[keep]
    square = np.bincount(index, weights=y * y)[keep] / counts[keep]
    scatter = np.sqrt(np.maximum(square - mean_y**2, 0.0) * counts[keep] / np.maximum(counts[keep] - 1, 1))
    quoted = np.bincount(index, weights=np.where(np.isfinite(err), err, 0.0))[keep] / counts[keep]
    error = np.maximum(scatter, quoted) / np.sqrt(counts[keep])
    return mean_x, mean_y, error


def _outside_words(minutes: float) -> str:
    amount = f"{abs(minutes) / 60:.1f} h" if abs(minutes) >= 90 else f"{abs(minutes):.0f} min"
    return f"{amount} {'before the first' if minutes < 0 else 'after the last'} point"


def _nearest_mid(ephemeris: Ephemeris, start: float, end: float) -> float:
    centre = 0.5 * (start + end)
    return ephemeris.epoch_bjd + round((centre - ephemeris.epoch_bjd) / ephemeris.period_days) * ephemeris.period_days


def plot_png(
    bjd: np.ndarray,
    flux: np.ndarray,
    flux_err: np.ndarray,
    title: str,
    ephemeris: Ephemeris | None,
    fit: TransitFit | None = None,
    curves: FitCurves | None = None,
) -> bytes:
    """The plot as PNG bytes (see the module docstring)."""
    global _canvas
    ok = np.isfinite(bjd) & np.isfinite(flux)
    offset = math.floor(float(np.min(bjd[ok]))) if ok.any() else 0.0
    typical = float(np.nanmedian(flux_err[ok])) if ok.any() else float("nan")
    start, end = (float(bjd[ok].min()), float(bjd[ok].max())) if ok.any() else (0.0, 0.0)
    windows = predicted_windows(ephemeris, start, end) if ok.any() else []
    hours = [((a - offset) * 24, (b - offset) * 24, (c - offset) * 24) for a, b, c in windows]
    x, y = (bjd[ok] - offset) * 24.0, flux[ok]
    order = np.argsort(x, kind="stable")
    x, y, e = x[order], y[order], flux_err[ok][order]
    width = 10 / 60 if (end - start) * 24 >= 1.5 else 5 / 60
    binned = bins(x, y, e, width)
    key: list[tuple[str, str]] = [
        ("points", f"unbinned (median error {typical:.2g})" if np.isfinite(typical) else "unbinned"),
        ("binned", f"{width * 60:.0f}-min bins"),
    ]
    model = None
    if curves is not None and curves.model is not None and curves.model.size == int(ok.sum()):
        model = (x, curves.model[order] * float(np.median(y)))  # the fit's flux is divided by its median
        key.append(("model", _model_label(fit)))
    if ephemeris is not None and ephemeris.period_days and ok.any():
        sigma_minutes = fit.predicted_uncertainty_minutes if fit and fit.predicted_uncertainty_minutes else None
        band = f" ± {sigma_minutes:.0f} min" if sigma_minutes else ""
        if hours:
            key.append(("window", f"TOI {ephemeris.planet} predicted transit{band}"))
        else:
            mid = _nearest_mid(ephemeris, start, end)
            minutes = (mid - start if mid < start else mid - end) * 1440
            key.append(("text", f"TOI {ephemeris.planet}: predicted mid-transit {_outside_words(minutes)}"))
    picture = Picture(
        x=x,
        y=y,
        binned=binned,
        model=model,
        windows=hours,
        band_hours=(curves.predicted_sigma_days * 24) if curves is not None else 0.0,
        title=title,
        xlabel=f"hours since BJD_TDB {offset:.0f}",
        key=key[:KEY_ROWS],
    )
    with _lock:
        if _canvas is None:
            _canvas = _Canvas()
        return _canvas.draw(picture)


def _model_label(fit: TransitFit | None) -> str:
    if fit is None:
        return "model"
    if fit.status == "fitted":
        words = fit.verdict.split(" (weak detection")[0]
        if fit.detection_sigma is not None and "weak detection" in fit.verdict:
            words += f" (weak: {fit.detection_sigma:.1f} sigma)"
        label = f"fit: {words}"
        return label if len(label) <= 95 else label[:94] + "…"
    return "baseline (no transit fitted)"

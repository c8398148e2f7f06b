"""A PNG of each light curve: flux against time, with the transit window the TOI's ephemeris predicts.

Drawn directly into a pixel array with numpy and Pillow (text with Pillow's FreeType font): a plot
costs a few milliseconds, against ~100 ms for the same figure through matplotlib (mostly its text
layout), and nothing heavy is imported.  The picture: the points (hours since the integer BJD_TDB
day of the first point), each predicted transit shaded from ingress to egress with its mid-time
dashed, axes with round-number ticks, a title, axis labels and a key.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from exofop_mcp.atomic_files import atomic_write_bytes

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 12, 24, 44  # margins of the plotting area (pixels)
INK = (0, 0, 0)
POINTS = (64, 64, 64)
ORANGE = (255, 127, 14)
SHADE_ALPHA = 0.18

_lock = threading.Lock()  # one font object, shared by the threads of several extractions
_fonts: dict[int, Any] = {}


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


def _font(size: int) -> Any:
    font = _fonts.get(size)
    if font is None:
        from PIL import ImageFont

        try:
            font = ImageFont.load_default(size=size)  # Pillow's scalable font (FreeType)
        except (TypeError, OSError, ImportError):
            font = ImageFont.load_default()
        _fonts[size] = font
    return font


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


def _label(value: float, step: float) -> str:
    """A tick value with as many decimals as the step needs (0.25 steps: two)."""
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    scaled = step * 10**decimals
    if abs(scaled - round(scaled)) > 1e-6:
        decimals += 1
    return f"{value:.{decimals}f}"


class _Picture:
    """The pixels of one plot and the mapping from data to pixels."""

    def __init__(self, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
        self.pixels = np.full((HEIGHT, WIDTH, 3), 255, dtype=np.uint8)
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = TOP, HEIGHT - BOTTOM
        self.xlim, self.ylim = xlim, ylim

    def px(self, x: np.ndarray | float) -> Any:
        low, high = self.xlim
        return self.x0 + (np.asarray(x, dtype=float) - low) / (high - low) * (self.x1 - self.x0)

    def py(self, y: np.ndarray | float) -> Any:
        low, high = self.ylim
        return self.y1 - (np.asarray(y, dtype=float) - low) / (high - low) * (self.y1 - self.y0)

    def shade(self, x_from: float, x_to: float, color: tuple[int, int, int], alpha: float) -> None:
        a = int(np.clip(np.floor(self.px(x_from)), self.x0, self.x1))
        b = int(np.clip(np.ceil(self.px(x_to)), self.x0, self.x1))
        if b > a:
            area = self.pixels[self.y0 : self.y1, a:b].astype(np.float32)
            area += (np.array(color, dtype=np.float32) - area) * alpha
            self.pixels[self.y0 : self.y1, a:b] = area.astype(np.uint8)

    def dashed_vline(self, x: float, color: tuple[int, int, int]) -> None:
        column = round(float(self.px(x)))
        if self.x0 <= column < self.x1:
            rows = np.arange(self.y0, self.y1)
            self.pixels[rows[(rows - self.y0) % 8 < 5], column] = color

    def points(self, x: np.ndarray, y: np.ndarray, color: tuple[int, int, int]) -> None:
        cols = np.round(self.px(x)).astype(np.int64)
        rows = np.round(self.py(y)).astype(np.int64)
        inside = (cols >= self.x0) & (cols < self.x1 - 1) & (rows >= self.y0) & (rows < self.y1 - 1)
        cols, rows = cols[inside], rows[inside]
        for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):  # 2x2-pixel dots
            self.pixels[rows + dr, cols + dc] = color

    def frame(self) -> None:
        p = self.pixels
        p[self.y0, self.x0 : self.x1 + 1] = INK
        p[self.y1, self.x0 : self.x1 + 1] = INK
        p[self.y0 : self.y1 + 1, self.x0] = INK
        p[self.y0 : self.y1 + 1, self.x1] = INK


def _draw(
    x: np.ndarray,
    y: np.ndarray,
    title: str,
    xlabel: str,
    label: str,
    windows: list[tuple[float, float, float]],
    window_label: str | None,
) -> bytes:
    from PIL import Image, ImageDraw

    if x.size:
        low, high = float(np.min(x)), float(np.max(x))
        pad = max((high - low) * 0.03, 0.05)
        xlim = (low - pad, high + pad)
        ylow, yhigh = (float(v) for v in np.nanpercentile(y, [0.5, 99.5]))
        ypad = max((yhigh - ylow) * 0.15, 1e-4)
        ylim = (ylow - ypad, yhigh + ypad)
    else:
        xlim, ylim = (0.0, 1.0), (0.0, 1.0)
    picture = _Picture(xlim, ylim)
    for ingress, mid, egress in windows:
        picture.shade(ingress, egress, ORANGE, SHADE_ALPHA)
        picture.dashed_vline(mid, ORANGE)
    picture.points(x, y, POINTS)
    picture.frame()
    xticks, yticks = nice_ticks(*xlim, 6), nice_ticks(*ylim, 4)
    p = picture.pixels
    for value in xticks:
        column = round(float(picture.px(value)))
        if picture.x0 <= column <= picture.x1:
            p[picture.y1 - 4 : picture.y1, column] = INK
    for value in yticks:
        row = round(float(picture.py(value)))
        if picture.y0 <= row <= picture.y1:
            p[row, picture.x0 : picture.x0 + 5] = INK
    image = Image.fromarray(p, "RGB")
    draw = ImageDraw.Draw(image)
    with _lock:
        small, normal = _font(11), _font(12)
        xstep = xticks[1] - xticks[0] if len(xticks) > 1 else 1.0
        for value in xticks:
            where = float(picture.px(value))
            if picture.x0 <= where <= picture.x1:
                draw.text((where, picture.y1 + 4), _label(value, xstep), fill=INK, font=small, anchor="mt")
        ystep = yticks[1] - yticks[0] if len(yticks) > 1 else 1.0
        for value in yticks:
            where = float(picture.py(value))
            if picture.y0 <= where <= picture.y1:
                draw.text((picture.x0 - 4, where), _label(value, ystep), fill=INK, font=small, anchor="rm")
        draw.text(((picture.x0 + picture.x1) / 2, HEIGHT - 6), xlabel, fill=INK, font=normal, anchor="md")
        draw.text(((picture.x0 + picture.x1) / 2, 6), title, fill=INK, font=small, anchor="mt")
        ylabel = Image.new("RGB", (picture.y1 - picture.y0, 16), "white")
        ImageDraw.Draw(ylabel).text((ylabel.width / 2, 8), "relative flux", fill=INK, font=normal, anchor="mm")
        image.paste(ylabel.rotate(90, expand=True), (4, picture.y0))
        key_x, key_y = picture.x0 + 8, picture.y1 - 10
        keys = [(label, "dot")] + ([(window_label, "dash")] if window_label else [])
        for text, mark in reversed(keys):
            if mark == "dot":
                draw.rectangle((key_x + 6, key_y - 1, key_x + 8, key_y + 1), fill=POINTS)
            else:
                for start in (key_x, key_x + 9):
                    draw.line((start, key_y, start + 5, key_y), fill=ORANGE, width=1)
            draw.text((key_x + 18, key_y), text, fill=INK, font=small, anchor="lm")
            key_y -= 14
    out = io.BytesIO()
    # 64 colours are plenty (white, greys, black, orange and its shade); a palette image encodes 3x faster
    image.quantize(64, method=Image.Quantize.FASTOCTREE).save(out, format="PNG", compress_level=3)
    return out.getvalue()


def plot_png(bjd: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, title: str, ephemeris: Ephemeris | None) -> bytes:
    """The plot as PNG bytes: hours since the integer day of the first point, the predicted transit shaded."""
    ok = np.isfinite(bjd) & np.isfinite(flux)
    offset = math.floor(float(np.min(bjd[ok]))) if ok.any() else 0.0
    typical = float(np.nanmedian(flux_err[ok])) if ok.any() else float("nan")
    windows = predicted_windows(ephemeris, float(bjd[ok].min()), float(bjd[ok].max())) if ok.any() else []
    hours = [((a - offset) * 24, (b - offset) * 24, (c - offset) * 24) for a, b, c in windows]
    return _draw(
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

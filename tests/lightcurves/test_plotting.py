"""The light-curve plot: a valid PNG that shows the points and the predicted transit window."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from exofop_mcp.lightcurves.plotting import ORANGE, POINTS, Ephemeris, nice_ticks, plot_png, predicted_windows

BJD = 2459000.55 + np.arange(600) * 30 / 86400
FLUX = 1 + 0.002 * np.sin(np.arange(600))
ERR = np.full(600, 0.002)


def _pixels(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG")
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _shaded_columns(pixels: np.ndarray) -> int:
    """Columns of the plotting area whose middle pixel is the pale orange of a transit window."""
    row = pixels[pixels.shape[0] // 2]
    pale = (row[:, 0] > 240) & (row[:, 1] > 215) & (row[:, 1] < 245) & (row[:, 2] < 225)
    return int(pale.sum())


def test_the_predicted_window_is_shaded_and_the_points_drawn() -> None:
    inside = Ephemeris("270.01", 2459000.62, 3.36, 1.5)  # mid-transit 1.7 h after the first point
    pixels = _pixels(plot_png(BJD, FLUX, ERR, "TIC 1  tag 2", inside))
    assert pixels.shape == (320, 640, 3)
    assert _shaded_columns(pixels) > 40  # 1.5 h of a 5.6 h span on ~560 columns
    assert (np.abs(pixels.astype(int) - ORANGE).sum(axis=2) < 30).sum() > 50  # the dashed mid-time line
    assert (np.abs(pixels.astype(int) - POINTS).sum(axis=2) < 10).sum() > 600  # one dot per point, about


def test_a_window_outside_the_observation_is_not_shaded() -> None:
    outside = Ephemeris("270.01", 2459001.9, 3.36, 1.5)
    assert predicted_windows(outside, float(BJD[0]), float(BJD[-1])) == []
    assert _shaded_columns(_pixels(plot_png(BJD, FLUX, ERR, "TIC 1", outside))) == 0
    assert _shaded_columns(_pixels(plot_png(BJD, FLUX, ERR, "TIC 1", None))) == 0


def test_ticks_are_round_numbers() -> None:
    assert nice_ticks(13.2, 20.9, 6) == [14.0, 16.0, 18.0, 20.0]
    assert nice_ticks(0.9951, 1.0049, 4) == [0.9975, 1.0, 1.0025]
    assert nice_ticks(1.0, 1.0, 4) == [1.0]


def test_plots_drawn_by_several_threads_at_once_are_those_drawn_one_at_a_time() -> None:
    """One figure serves the process: threads of concurrent extractions must not draw on it together."""
    windows = [Ephemeris("270.01", 2459000.62 + k * 0.02, 3.36, 1.0 + k * 0.1) for k in range(8)]

    def plot(k: int) -> bytes:
        return plot_png(BJD, FLUX, ERR, f"TIC {k}", windows[k] if k % 2 else None)

    alone = [plot(k) for k in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(plot, range(8)))
    assert together == alone
    assert len(set(alone)) == 8  # each picture is its own: the title and the window differ


def _near(pixels: np.ndarray, color: tuple[int, int, int], tolerance: int = 30) -> int:
    return int((np.abs(pixels.astype(int) - color).sum(axis=2) < tolerance).sum())


def test_a_fit_is_drawn_with_binned_points_and_a_prediction_outside_draws_no_window_key() -> None:
    from exofop_mcp.lightcurves.plotting import BINNED, MODEL
    from exofop_mcp.lightcurves.transit_fit import fit_light_curve

    rng = np.random.default_rng(3)
    ephemeris = Ephemeris("270.01", 2459000.62, 3.36, 1.5, 0.002, 1e-5, 5000.0)
    dip = np.where(np.abs(BJD - 2459000.62) < 0.75 / 24, 0.005, 0.0)
    flux = 1 - dip + rng.normal(0, 0.001, BJD.size)
    fit, curves = fit_light_curve(BJD, flux, ERR / 2, ephemeris, "zs")
    assert fit.status == "fitted"
    pixels = _pixels(plot_png(BJD, flux, ERR / 2, "TOI 270.01 (TIC 1)", ephemeris, fit, curves))
    assert _near(pixels, MODEL) > 300  # the fitted model, a line across the plot
    assert _near(pixels, BINNED) > 100  # binned points and their error bars
    assert _shaded_columns(pixels) > 40
    outside = Ephemeris("270.01", 2459001.9, 3.36, 1.5, 0.002, 1e-5, 5000.0)
    fit, curves = fit_light_curve(BJD, FLUX, ERR, outside, "zs")
    assert fit.status == "not_expected"
    pixels = _pixels(plot_png(BJD, FLUX, ERR, "TOI 270.01 (TIC 1)", outside, fit, curves))
    assert _near(pixels, ORANGE, 60) == 0  # neither a window nor a key line for one
    assert _near(pixels, MODEL) == 0

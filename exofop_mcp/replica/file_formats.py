"""Writers for the small, valid files that fill tag archives: FITS, PNG, AstroImageJ tables, CSV.

FITS is written by hand (2880-byte blocks of 80-character header cards, big-endian data) and PNG
with zlib, so the replica needs nothing beyond the standard library.
"""

from __future__ import annotations

import array
import math
import random
import statistics
import struct
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

FITS_BLOCK = 2880
CARD = 80


# --- FITS ------------------------------------------------------------------------------------------
def _card(key: str, value: str | int | float | bool | None = None, comment: str = "") -> str:
    if key in ("COMMENT", "HISTORY", "END", ""):
        return f"{key:<8}{value or ''}"[:CARD].ljust(CARD)
    if isinstance(value, bool):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int):
        text = f"{value:>20}"
    elif isinstance(value, float):
        text = f"{value:>20.10G}"
    else:
        quoted = "'" + str(value).replace("'", "''").ljust(8) + "'"
        text = f"{quoted:<20}"
    card = f"{key:<8}= {text}"
    if comment:
        card += f" / {comment}"
    return card[:CARD].ljust(CARD)


def fits_header(cards: Sequence[tuple[str, str | int | float | bool | None, str]]) -> bytes:
    text = "".join(_card(key, value, comment) for key, value, comment in cards) + _card("END")
    padded = len(text) + (-len(text)) % FITS_BLOCK
    return text.ljust(padded).encode("ascii")


def fits_padding(data_length: int) -> bytes:
    return b"\0" * ((-data_length) % FITS_BLOCK)


def fits_image(
    pixels: array.array, shape: tuple[int, ...], extra: Sequence[tuple[str, str | int | float, str]] = ()
) -> bytes:
    """A primary-HDU FITS file; ``pixels`` is an array of type 'h' (16-bit) or 'f' (32-bit float)."""
    bitpix = {"h": 16, "f": -32, "i": 32}[pixels.typecode]
    cards: list[tuple[str, str | int | float | bool | None, str]] = [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", bitpix, "array data type"),
        ("NAXIS", len(shape), "number of array dimensions"),
    ]
    cards += [(f"NAXIS{index + 1}", size, "") for index, size in enumerate(shape)]
    cards += list(extra)
    data = array.array(pixels.typecode, pixels)
    if sys.byteorder == "little":
        data.byteswap()
    raw = data.tobytes()
    return fits_header(cards) + raw + fits_padding(len(raw))


# Maps a uniform random byte to a Gaussian-distributed one (mean 128, sigma 12): noise at C speed.
_GAUSSIAN_BYTES = bytes(
    max(0, min(255, round(128 + 12 * statistics.NormalDist().inv_cdf((index + 0.5) / 256)))) for index in range(256)
)


def star_field_image(seed: str, width: int, height: int, stars: int = 25) -> array.array:
    """A sky frame: bias plus Gaussian noise plus Gaussian stars, as 16-bit integers."""
    rng = random.Random(seed)
    count = width * height
    big_endian = bytearray(2 * count)
    big_endian[0::2] = b"\x03" * count  # bias level 768 + noise around 128
    big_endian[1::2] = rng.randbytes(count).translate(_GAUSSIAN_BYTES)
    pixels = array.array("h")
    pixels.frombytes(bytes(big_endian))
    if sys.byteorder == "little":
        pixels.byteswap()
    for _ in range(stars):
        x0, y0 = rng.uniform(4, width - 4), rng.uniform(4, height - 4)
        peak, sigma = rng.uniform(300, 20000), rng.uniform(1.2, 2.5)
        radius = int(sigma * 4)
        for y in range(max(0, int(y0) - radius), min(height, int(y0) + radius + 1)):
            for x in range(max(0, int(x0) - radius), min(width, int(x0) + radius + 1)):
                value = peak * math.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
                index = y * width + x
                pixels[index] = min(32000, pixels[index] + int(value))
    return pixels


def spectrum_pixels(seed: str, length: int) -> array.array:
    """A normalised 1-D spectrum with absorption lines, as 32-bit floats."""
    rng = random.Random(seed)
    lines = [(rng.uniform(0, length), rng.uniform(0.1, 0.7), rng.uniform(1.5, 6)) for _ in range(length // 40)]
    flux = array.array("f", (1.0 + rng.gauss(0, 0.01) for _ in range(length)))
    for centre, depth, width in lines:
        for index in range(max(0, int(centre - 4 * width)), min(length, int(centre + 4 * width) + 1)):
            flux[index] -= depth * math.exp(-((index - centre) ** 2) / (2 * width**2))
    return flux


def padding_fits_chunks(total_size: int, seed: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """A FITS image of exactly ``total_size`` bytes (a multiple of 2880) filled with noise.

    The data are incompressible pseudo-random bytes, so a zip of it is as large as the file.
    Generated in chunks: a 300 MiB file never sits in memory.
    """
    if total_size < 2 * FITS_BLOCK or total_size % FITS_BLOCK:
        raise ValueError("padding FITS size must be a multiple of 2880 of at least two blocks")
    data_size = total_size - FITS_BLOCK
    width = FITS_BLOCK // 2  # 1440 16-bit pixels: one row is one block, no padding needed
    header = fits_header(
        [
            ("SIMPLE", True, "conforms to FITS standard"),
            ("BITPIX", 16, "array data type"),
            ("NAXIS", 2, "number of array dimensions"),
            ("NAXIS1", width, ""),
            ("NAXIS2", data_size // FITS_BLOCK, ""),
            ("IMAGETYP", "Light Frame", "calibrated stack"),
            ("BZERO", 32768, ""),
            ("BSCALE", 1, ""),
        ]
    )
    if len(header) != FITS_BLOCK:  # pragma: no cover - the card list fits one block
        raise AssertionError("padding header must be one block")
    yield header
    rng = random.Random(seed)
    remaining = data_size
    while remaining > 0:
        size = min(chunk, remaining)
        yield rng.randbytes(size)
        remaining -= size


# --- PNG -------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_plot(values: Sequence[float], width: int = 480, height: int = 270) -> bytes:
    """A grayscale scatter plot of ``values`` (a light curve) as a valid PNG."""
    canvas = [bytearray(b"\xff" * width) for _ in range(height)]
    margin = 12
    for row in (margin, height - margin):
        canvas[row][margin : width - margin] = b"\x60" * (width - 2 * margin)
    for row in range(margin, height - margin):
        canvas[row][margin] = canvas[row][width - margin - 1] = 0x60
    if values:
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        for index, value in enumerate(values):
            x = margin + 2 + int(index * (width - 2 * margin - 5) / max(1, len(values) - 1))
            y = height - margin - 3 - int((value - low) / span * (height - 2 * margin - 6))
            for dy in (0, 1):
                for dx in (0, 1):
                    canvas[y + dy - 1][x + dx] = 0x10
    raw = b"".join(b"\x00" + bytes(row) for row in canvas)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


# --- light curves ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LightCurve:
    bjd: list[float]
    flux: list[float]
    error: list[float]
    airmass: list[float]
    comparison: list[float]
    jd_utc: list[float]


def observed_light_curve(
    seed: str, jd_utc: Sequence[float], bjd: Sequence[float], model: Sequence[float], noise: float
) -> LightCurve:
    """The transit model as a telescope records it: white noise, an airmass trend, comparison-star counts."""
    rng = random.Random(seed)
    points = len(bjd)
    flux, error, airmass, comparison = [], [], [], []
    for index in range(points):
        mass = 1.0 + 0.8 * ((index - points * 0.35) / points) ** 2
        flux.append(model[index] + rng.gauss(0, noise) - 0.002 * (mass - 1))
        error.append(noise * rng.uniform(0.9, 1.1))
        airmass.append(mass)
        comparison.append(rng.uniform(30000, 90000))
    return LightCurve(list(bjd), flux, error, airmass, comparison, list(jd_utc))


def aij_measurements(curve: LightCurve, exposure: float) -> bytes:
    """An AstroImageJ measurements table: tab-separated, row numbers in the first column."""
    columns = [
        "Label",
        "slice",
        "JD_UTC",
        "BJD_TDB",
        "AIRMASS",
        "EXPTIME",
        "rel_flux_T1",
        "rel_flux_err_T1",
        "rel_flux_SNR_T1",
        "Source-Sky_T1",
        "Source-Sky_C2",
        "Peak_T1",
        "Width_T1",
        "X(IJ)_T1",
        "Y(IJ)_T1",
    ]
    lines = [" \t" + "\t".join(columns)]
    for index, (utc, time, flux, error, mass, comp) in enumerate(
        zip(curve.jd_utc, curve.bjd, curve.flux, curve.error, curve.airmass, curve.comparison, strict=True), start=1
    ):
        values = [
            f"frame{index:04d}.fits",
            str(index),
            f"{utc:.7f}",
            f"{time:.7f}",
            f"{mass:.6f}",
            f"{exposure:.1f}",
            f"{flux:.8f}",
            f"{error:.8f}",
            f"{1 / error:.3f}",
            f"{flux * comp:.3f}",
            f"{comp:.3f}",
            f"{flux * comp / 40:.3f}",
            f"{2.8 + 0.4 * mass:.4f}",
            "1022.4512",
            "1019.8877",
        ]
        lines.append(f"{index}\t" + "\t".join(values))
    return ("\n".join(lines) + "\n").encode("ascii")


def light_curve_csv(curve: LightCurve) -> bytes:
    lines = ["BJD_TDB,rel_flux,rel_flux_err,airmass"]
    lines += [
        f"{time:.7f},{flux:.8f},{error:.8f},{mass:.5f}"
        for time, flux, error, mass in zip(curve.bjd, curve.flux, curve.error, curve.airmass, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def contrast_curve_csv(seed: str, limit: float) -> bytes:
    rng = random.Random(seed)
    lines = ["separation_arcsec,delta_mag"]
    for step in range(1, 60):
        separation = step * 0.025
        value = limit * (1 - math.exp(-separation / 0.18)) + rng.gauss(0, 0.05)
        lines.append(f"{separation:.3f},{value:.3f}")
    return ("\n".join(lines) + "\n").encode("ascii")

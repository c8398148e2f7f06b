"""Light-curve files of every kind observers upload, for the time-series tags of a few systems.

Times start from a JD_UTC grid at the observatory of the tag (a real site where the telescope is
known, the geocentre otherwise); BJD_TDB is computed from it by astropy when the files are built;
the transit sits at the TOI's catalog ephemeris plus a recorded offset, with the catalog's depth
(:mod:`exofop_mcp.replica.transits`; the observation dates of these systems are moved to transit
nights).  Each tag gets one kind of file (the kinds cycle through the tags), with
sidecars (plots, notes, FITS, plot configs, aperture files) and, here and there, a broken file
beside the good ones.  :func:`expected_light_curves` tells the tests what each file should give.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from exofop_mcp.replica import transits
from exofop_mcp.replica.archive_writers import Entry, bytes_producer
from exofop_mcp.replica.file_formats import fits_image, png_plot, star_field_image
from exofop_mcp.replica.follow_up_rows import TSERIES_COLUMNS, StarObservations
from exofop_mcp.replica.toi_table import StarRecord
from exofop_mcp.replica.transits import TransitTruth

LIGHT_CURVE_TEST_TIC = 403224672  # TOI-141: 11 time-series tags, one of each kind of file
LIGHT_CURVE_BENCH_TIC = 259377017  # TOI-270: 48 time-series tags, the kinds repeated
LIGHT_CURVE_TICS = (LIGHT_CURVE_TEST_TIC, LIGHT_CURVE_BENCH_TIC)

KINDS = (
    "aij_dn",  # AstroImageJ .tbl with _n and _dn columns, a compact subset.csv (BJD - 2450000), a binary .xls beside
    "aij_xls_dfn",  # AstroImageJ text .xls: BOM, CRLF, # AIJ_ lines, _n/_dn/_dfn, SITELAT/SITELONG
    "jd_only_raw",  # J.D.-2400000 only, raw rel_flux_T1; a comparison-star table with no time column beside
    "muscat",  # MuSCAT2-style counts in four bands, space-separated, in a subfolder
    "semicolon_comma",  # PEST-style _data.txt: semicolons and decimal commas
    "headerless_btjd",  # no header: BTJD, flux, error
    "keplercam_hjd",  # KeplerCam .dat with a '# ' header and HJD_UTC times
    "nested_zip",  # a zip inside the tag holding the measurements; an empty .csv beside
    "mislabelled_utc",  # a BJD_TDB column that holds JD_UTC; a prose .txt beside
    "aij_raw_csv",  # comma-separated AstroImageJ columns, raw flux only, CRLF
    "mjd_missing",  # MJD_UTC times, NaN / Infinity / '-' / empty cells in some rows
)

#: Sites of the telescopes these systems use: name fragment → (latitude, east longitude, height m).
_SITES = {
    "LCO-CTIO": (-30.1673, -70.8046, 2198),
    "LCO-SAAO": (-32.3797, 20.8107, 1760),
    "LCO-SSO": (-31.2733, 149.0644, 1165),
    "LCO-TEID": (28.3003, -16.5122, 2390),
    "LCO-McD": (30.6799, -104.0151, 2070),
    "LCO-HAL": (20.7075, -156.2571, 3055),
    "MEarth-South": (-30.1673, -70.8046, 2198),
    "PEST": (-31.9916, 115.7627, 33),
    "KeplerCam": (31.6811, -110.8783, 2345),
    "TRAPPIST-South": (-29.2563, -70.7380, 2347),
    "TRAPPIST-North": (31.2061, -7.8664, 2751),
    "NGTS": (-24.6272, -70.4048, 2635),
    "TCS": (28.3003, -16.5122, 2390),
    "ExTrA": (-29.2563, -70.7380, 2347),
    "El Sauce": (-30.4726, -70.7649, 1550),
}


@dataclass(frozen=True)
class Expected:
    """What one generated file should give: a light curve, or a refusal with its reason."""

    member: str  # path inside the tag's folder; a zip member as "inner.zip!name"
    status: str  # "extracted", "failed" or "skipped"
    reason: str | None = None
    flux_column: str | None = None  # the start of the flux source
    time_column: str | None = None  # the start of the time source
    rows: int | None = None
    cadence_seconds: float | None = None
    bjd_tdb: tuple[float, ...] = ()
    filter: str | None = None
    warning: str | None = None  # a word that one of the warnings must contain
    transit: TransitTruth | None = None  # the generated transit a fit should find


@dataclass
class Curve:
    jd_utc: np.ndarray
    bjd_tdb: np.ndarray
    hjd_utc: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    airmass: np.ndarray
    fwhm: np.ndarray
    sky: np.ndarray
    x: np.ndarray
    y: np.ndarray
    exptime: float
    cadence: float
    site: tuple[float, float, float] | None
    transit: TransitTruth | None = None  # where the transit really is, and how deep
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def _site(telescope: str) -> tuple[float, float, float] | None:
    for name, site in _SITES.items():
        if telescope.startswith(name):
            return site
    return None


def _planet(star: StarRecord, toi: str) -> tuple[float, float, float, float]:
    index = next((i for i in range(len(star.rows)) if star.value("TOI", i) == toi), 0)
    return (
        star.number("Epoch (BJD)", 2459000.0, index),
        star.number("Period (days)", 3.0, index),
        star.number("Duration (hours)", 2.0, index),
        star.number("Depth (ppm)", 5000.0, index),
    )


def _window(tag: int, row: list[str] | tuple[str, ...], star: StarRecord) -> tuple[float, float, int]:
    """(start JD_UTC, cadence s, points) of the observation: centred near the transit nearest its date."""
    rng = random.Random(f"lc-window:{tag}")
    toi = row[TSERIES_COLUMNS.index("TOI")].removeprefix("TOI ").strip()
    epoch, period, duration, _ = _planet(star, toi)
    day = dt.date.fromisoformat(row[TSERIES_COLUMNS.index("Obs Date")] or "2020-01-01")
    noon = day.toordinal() + 1721425.0
    n = round((noon - epoch) / period)
    mid = epoch + n * period
    minutes = float(row[TSERIES_COLUMNS.index("Obs Duration")] or 240)
    span = max(duration * 60 * 1.8, min(minutes, 360.0)) / 1440
    points = max(60, min(500, int(row[TSERIES_COLUMNS.index("Num Obs")] or 200)))
    cadence = max(15.0, min(240.0, round(span * 86400 / points, 1)))
    points = int(span * 86400 / cadence)
    start = mid - span / 2 + rng.uniform(-0.15, 0.15) * span - 69.184 / 86400
    return start, cadence, points


def move_to_transit_nights(observations: StarObservations, star: StarRecord) -> None:
    """Set each time-series tag's date to the UT date its observation window starts (a transit night)."""
    tag_col, date_col = TSERIES_COLUMNS.index("Tag"), TSERIES_COLUMNS.index("Obs Date")
    first: dict[str, list[str]] = {}
    for row in observations.tseries:
        first.setdefault(row[tag_col], row)
    _TAG_ORDER[star.tic] = [int(tag) for tag in first if tag.isdigit()]
    for row in observations.tseries:
        lead = first[row[tag_col]]
        if not lead[tag_col].isdigit():
            continue
        tag = int(lead[tag_col])
        window = _WINDOWS.get(tag) or _window(tag, lead, star)
        _WINDOWS[tag] = window
        row[date_col] = _jd_date(window[0]).isoformat()


#: Observation windows by tag, fixed from the tag's original date when its rows are first generated.
_WINDOWS: dict[int, tuple[float, float, int]] = {}
#: Each system's time-series tags in table order: the kinds of file cycle through them.
_TAG_ORDER: dict[int, list[int]] = {}


def _jd_date(jd: float) -> dt.date:
    return dt.date.fromordinal(math.floor(jd - 1721424.5))


def _bjd(
    jd_utc: np.ndarray, ra: float, dec: float, site: tuple[float, float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """astropy, point by point: BJD_TDB and HJD_UTC of each JD_UTC."""
    from astropy.utils import iers

    iers.conf.auto_download = False
    import astropy.units as u
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time

    if site is None:
        location = EarthLocation.from_geocentric(0.0, 0.0, 0.0, unit=u.m)
    else:
        location = EarthLocation.from_geodetic(site[1] * u.deg, site[0] * u.deg, site[2] * u.m)
    target = SkyCoord(ra * u.deg, dec * u.deg)
    t = Time(jd_utc, format="jd", scale="utc", location=location)
    bjd = (t.tdb + t.light_travel_time(target, kind="barycentric")).jd
    hjd = (t + t.light_travel_time(target, kind="heliocentric")).jd
    return np.asarray(bjd), np.asarray(hjd)


def degrees(text: str, hours: bool) -> float:
    sign = -1.0 if text.strip().startswith("-") else 1.0
    parts = [abs(float(p)) for p in text.strip().lstrip("+-").split(":")]
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    return sign * value * (15.0 if hours else 1.0)


@functools.lru_cache(maxsize=256)
def _curve_cached(tag: int, row: tuple[str, ...], star_key: int, star_rows: tuple[tuple[str, ...], ...]) -> Curve:
    star = _STARS[star_key]
    rng = random.Random(f"lc-curve:{tag}")
    np_rng = np.random.default_rng(tag)
    start, cadence, points = _WINDOWS.get(tag) or _window(tag, row, star)
    telescope = row[TSERIES_COLUMNS.index("Telescope")]
    site = _site(telescope)
    jd = start + np.arange(points) * cadence / 86400
    ra, dec = degrees(star.value("RA"), True), degrees(star.value("Dec"), False)
    bjd, hjd = _bjd(jd, ra, dec, site)
    toi = row[TSERIES_COLUMNS.index("TOI")].removeprefix("TOI ").strip()
    p = transits.planet(star, toi)
    filter_name = row[TSERIES_COLUMNS.index("Filter")] or None
    transit = None if p is None else transits.truth(p, tag, float(bjd[points // 2]), filter_name)
    noise = transits.noise_for(transit.depth_ppm if transit else 0.0, rng)
    phase = np.linspace(-1, 1, points)
    airmass = 1.05 + 0.5 * (phase - rng.uniform(-0.5, 0.5)) ** 2
    flux = transits.transit_flux(transit, bjd) + np_rng.normal(0, noise, points)
    return Curve(
        jd_utc=jd,
        bjd_tdb=bjd,
        hjd_utc=hjd,
        flux=flux,
        error=noise * np_rng.uniform(0.9, 1.1, points),
        airmass=airmass,
        fwhm=3.0 + 0.6 * airmass + np_rng.normal(0, 0.05, points),
        sky=180 + 40 * airmass + np_rng.normal(0, 2, points),
        x=1024 + np_rng.normal(0, 0.4, points),
        y=1020 + np_rng.normal(0, 0.4, points),
        exptime=round(cadence * 0.75, 1),
        cadence=cadence,
        site=site,
        transit=transit,
    )


_STARS: dict[int, StarRecord] = {}


def curve(tag: int, row: tuple[str, ...], star: StarRecord) -> Curve:
    _STARS[star.tic] = star
    return _curve_cached(tag, tuple(row), star.tic, tuple(tuple(r) for r in star.rows))


# --- writers ----------------------------------------------------------------------------------------------


def _aij_table(
    c: Curve,
    *,
    columns: list[str],
    separator: str = "\t",
    newline: str = "\n",
    metadata: dict[str, str] | None = None,
    bom: bool = False,
    raw_scale: float = 1.0,
    bjd_from: str = "bjd",
) -> bytes:
    """An AstroImageJ-style table with the named columns (a row number under a one-space header)."""
    n = c.jd_utc.size
    flux_n = c.flux * (1 + 0.004 * (c.airmass - 1))  # normalised, still with the airmass trend
    values: dict[str, Callable[[int], str]] = {
        "Label": lambda i: f"TIC field {i + 1:04d}.fits",
        "slice": lambda i: str(i + 1),
        "J.D.-2400000": lambda i: f"{c.jd_utc[i] - 2400000:.8f}",
        "JD_UTC": lambda i: f"{c.jd_utc[i]:.8f}",
        "BJD_TDB": lambda i: f"{(c.bjd_tdb if bjd_from == 'bjd' else c.jd_utc)[i]:.8f}",
        "HJD_UTC": lambda i: f"{c.hjd_utc[i]:.8f}",
        "AIRMASS": lambda i: f"{c.airmass[i]:.6f}",
        "EXPTIME": lambda i: f"{c.exptime:.1f}",
        "SITELAT": lambda i: f"{(c.site or (0, 0, 0))[0]:.4f}",
        "SITELONG": lambda i: f"{(c.site or (0, 0, 0))[1]:.4f}",
        "rel_flux_T1": lambda i: f"{flux_n[i] * raw_scale:.8f}",
        "rel_flux_err_T1": lambda i: f"{c.error[i] * raw_scale:.8f}",
        "rel_flux_T1_n": lambda i: f"{flux_n[i]:.8f}",
        "rel_flux_err_T1_n": lambda i: f"{c.error[i]:.8f}",
        "rel_flux_T1_dn": lambda i: f"{c.flux[i]:.8f}",
        "rel_flux_err_T1_dn": lambda i: f"{c.error[i]:.8f}",
        "rel_flux_T1_dfn": lambda i: f"{c.flux[i]:.8f}",
        "rel_flux_err_T1_dfn": lambda i: f"{c.error[i]:.8f}",
        "rel_flux_C2": lambda i: f"{0.83 + 0.001 * math.sin(i):.8f}",
        "FWHM_T1": lambda i: f"{c.fwhm[i]:.4f}",
        "Sky/Pixel_T1": lambda i: f"{c.sky[i]:.3f}",
        "X(IJ)_T1": lambda i: f"{c.x[i]:.4f}",
        "Y(IJ)_T1": lambda i: f"{c.y[i]:.4f}",
        "Source-Sky_T1": lambda i: f"{flux_n[i] * 152000:.3f}",
        "Source-Sky_C2": lambda i: f"{183000 + 50 * math.cos(i):.3f}",
    }
    lines = [f"# {k} {v}" for k, v in (metadata or {}).items()]
    lines.append(separator.join([" ", *columns]) if separator == "\t" else separator.join(columns))
    for i in range(n):
        cells = [values[name](i) for name in columns]
        lines.append(separator.join([str(i + 1), *cells]) if separator == "\t" else separator.join(cells))
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


AIJ_COLUMNS = [
    "Label",
    "slice",
    "J.D.-2400000",
    "JD_UTC",
    "BJD_TDB",
    "AIRMASS",
    "EXPTIME",
    "rel_flux_T1",
    "rel_flux_err_T1",
    "rel_flux_T1_n",
    "rel_flux_err_T1_n",
    "rel_flux_T1_dn",
    "rel_flux_err_T1_dn",
    "rel_flux_C2",
    "FWHM_T1",
    "Sky/Pixel_T1",
    "X(IJ)_T1",
    "Y(IJ)_T1",
    "Source-Sky_T1",
    "Source-Sky_C2",
]


def _lines(rows: list[str], newline: str = "\n") -> bytes:
    return (newline.join(rows) + newline).encode("utf-8")


def _muscat(c: Curve, band: int) -> bytes:
    rng = np.random.default_rng(band + 7)
    comps = [60000 * (1 + 0.3 * k) * (1 - 0.05 * (c.airmass - 1)) for k in range(1, 4)]
    target = c.flux * 41000 * (1 - 0.05 * (c.airmass - 1)) * (1 + 0.1 * band)
    rows = ["BJD_TDB flux_star_0 flux_star_1 flux_star_2 flux_star_3 sky airmass xshift yshift"]
    for i in range(c.jd_utc.size):
        rows.append(
            f"{c.bjd_tdb[i]:.8f} {target[i] * (sum(comps[k][i] for k in range(3)) / 234000):.3f} "
            f"{comps[0][i]:.3f} {comps[1][i]:.3f} {comps[2][i]:.3f} {c.sky[i] + rng.normal(0, 1):.3f} "
            f"{c.airmass[i]:.5f} {c.x[i] - 1024:.3f} {c.y[i] - 1020:.3f}"
        )
    return _lines(rows)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2021, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def _ole2() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random("ole2").randbytes(4088)


@dataclass(frozen=True)
class Made:
    name: str  # inside the tag folder
    produce: Callable[[], bytes]
    file_type: str
    description: str


def _files(
    kind: str, stem: str, tag: int, c: Callable[[], Curve], filter_name: str
) -> tuple[list[Made], list[Expected]]:
    """The files of one tag of ``kind`` and what each should give."""
    made: list[Made] = []
    expected: list[Expected] = []
    lazy = functools.lru_cache(maxsize=1)(c)

    def light_curve(
        name: str,
        produce: Callable[[], bytes],
        *,
        flux_column: str,
        time_column: str,
        rows: int | None = None,
        warning: str | None = None,
    ) -> None:
        made.append(Made(name, produce, "Light_Curve", "light curve"))
        cur = lazy()
        expected.append(
            Expected(
                name,
                "extracted",
                flux_column=flux_column,
                time_column=time_column,
                rows=cur.jd_utc.size if rows is None else rows,
                cadence_seconds=cur.cadence,
                bjd_tdb=tuple(float(v) for v in cur.bjd_tdb),
                filter=filter_name,
                warning=warning,
                transit=cur.transit,
            )
        )

    def broken(name: str, produce: Callable[[], bytes], status: str, reason: str) -> None:
        made.append(Made(name, produce, "Light_Curve", "light curve"))
        expected.append(Expected(name, status, reason=reason))

    if kind == "aij_dn":
        light_curve(
            f"{stem}_measurements.tbl",
            lambda: _aij_table(lazy(), columns=AIJ_COLUMNS),
            flux_column="rel_flux_T1_dn",
            time_column="BJD_TDB",
        )
        light_curve(
            f"{stem}_subset.csv",
            lambda: _lines(
                ["BJD_TDB,rel_flux,rel_flux_err"]
                + [
                    f"{t - 2450000:.8f},{f:.7f},{e:.7f}"
                    for t, f, e in zip(lazy().bjd_tdb, lazy().flux, lazy().error, strict=True)
                ]
            ),
            flux_column="rel_flux",
            time_column="BJD_TDB",
        )
        broken(f"{stem}_measurements_excel.xls", _ole2, "failed", "excel_binary")
    elif kind == "aij_xls_dfn":
        cols = [
            *AIJ_COLUMNS[:7],
            "SITELAT",
            "SITELONG",
            *AIJ_COLUMNS[7:11],
            "rel_flux_T1_dfn",
            "rel_flux_err_T1_dfn",
            *AIJ_COLUMNS[11:],
        ]
        light_curve(
            f"{stem}_Measurements.xls",
            lambda: _aij_table(
                lazy(),
                columns=cols,
                newline="\r\n",
                bom=True,
                metadata={"AIJ_version": "5.3.4.00", "AIJ_aperture": "12 20 30"},
            ),
            flux_column="rel_flux_T1_dfn",
            time_column="BJD_TDB",
        )
    elif kind == "jd_only_raw":
        light_curve(
            f"{stem}_measurements.txt",
            lambda: _aij_table(
                lazy(),
                columns=["Label", "J.D.-2400000", "AIRMASS", "rel_flux_T1", "rel_flux_err_T1", "FWHM_T1"],
                raw_scale=1.3746,
            ),
            flux_column="rel_flux_T1 (raw",
            time_column="J.D.-2400000",
        )
        broken(
            f"{stem}_comparison-stars.csv",
            lambda: _lines(["rel_flux_C2,rel_flux_C3"] + [f"{0.8 + 0.001 * i:.5f},{0.6:.5f}" for i in range(40)]),
            "failed",
            "no_time_column",
        )
    elif kind == "muscat":
        for index, band in enumerate(("g", "r", "i", "z_s")):
            made.append(
                Made(
                    f"MuSCAT2/{stem.rsplit('_', 2)[0]}_MuSCAT2_{band}_measurements.dat",
                    functools.partial(lambda k: _muscat(lazy(), k), index),
                    "Light_Curve",
                    band,
                )
            )
            cur = lazy()
            expected.append(
                Expected(
                    made[-1].name,
                    "extracted",
                    flux_column="flux_star_0 /",
                    time_column="BJD_TDB",
                    rows=cur.jd_utc.size,
                    cadence_seconds=cur.cadence,
                    bjd_tdb=tuple(float(v) for v in cur.bjd_tdb),
                    filter=band,
                    transit=cur.transit,
                )
            )
    elif kind == "semicolon_comma":
        light_curve(
            f"{stem}_data.txt",
            lambda: _lines(
                ["BJD_TDB;rel_flux;rel_flux_err;airmass"]
                + [
                    f"{t:.8f};{f:.7f};{e:.7f};{a:.4f}".replace(".", ",")
                    for t, f, e, a in zip(lazy().bjd_tdb, lazy().flux, lazy().error, lazy().airmass, strict=True)
                ]
            ),
            flux_column="rel_flux",
            time_column="BJD_TDB",
        )
    elif kind == "headerless_btjd":
        light_curve(
            f"{stem}_bjd-flux-err.txt",
            lambda: _lines(
                [
                    f"{t - 2457000:.8f}  {f:.7f}  {e:.7f}"
                    for t, f, e in zip(lazy().bjd_tdb, lazy().flux, lazy().error, strict=True)
                ]
            ),
            flux_column="flux",
            time_column="time",
            warning="BJD_TDB",
        )
    elif kind == "keplercam_hjd":
        light_curve(
            f"{stem}_measurements.dat",
            lambda: _lines(
                ["# KeplerCam photometry", "# HJD_UTC rel_flux rel_flux_err airmass"]
                + [
                    f"{h:.8f} {f:.7f} {e:.7f} {a:.4f}"
                    for h, f, e, a in zip(lazy().hjd_utc, lazy().flux, lazy().error, lazy().airmass, strict=True)
                ]
            ),
            flux_column="rel_flux",
            time_column="HJD_UTC",
        )
    elif kind == "nested_zip":
        inner = f"{stem}_measurements.tbl"
        cols = [c for c in AIJ_COLUMNS if "_dn" not in c]
        made.append(
            Made(
                f"{stem}_photometry.zip",
                lambda: _zip(
                    [
                        (f"photometry/{inner}", _aij_table(lazy(), columns=cols)),
                        (f"photometry/{stem}_lightcurve.png", png_plot(list(lazy().flux))),
                    ]
                ),
                "Light_Curve",
                "photometry",
            )
        )
        cur = lazy()
        expected.append(
            Expected(
                f"{stem}_photometry.zip!photometry/{inner}",
                "extracted",
                flux_column="rel_flux_T1_n",
                time_column="BJD_TDB",
                rows=cur.jd_utc.size,
                cadence_seconds=cur.cadence,
                bjd_tdb=tuple(float(v) for v in cur.bjd_tdb),
                filter=filter_name,
                transit=cur.transit,
            )
        )
        made.append(
            Made(
                f"{stem}_measurements_NEBcheck.zip",
                lambda: _zip([("NEB/readme.txt", b"no NEB\n")]),
                "Light_Curve",
                "NEB check",
            )
        )
        broken(f"{stem}_extra.csv", lambda: b"", "failed", "empty_file")
    elif kind == "mislabelled_utc":
        light_curve(
            f"{stem}_measurements.tbl",
            lambda: _aij_table(lazy(), columns=AIJ_COLUMNS, bjd_from="utc"),
            flux_column="rel_flux_T1_dn",
            time_column="JD_UTC",
            warning="UTC",
        )
        broken(
            f"{stem}_observing-log.txt",
            lambda: b"Clear sky all night.\nDome closed at 04:10 for wind.\n",
            "skipped",
            "not_a_table",
        )
    elif kind == "aij_raw_csv":
        light_curve(
            f"{stem}_measurements.csv",
            lambda: _aij_table(
                lazy(),
                columns=["BJD_TDB", "AIRMASS", "rel_flux_T1", "rel_flux_err_T1", "FWHM_T1"],
                separator=",",
                newline="\r\n",
                raw_scale=0.0213,
            ),
            flux_column="rel_flux_T1 (raw",
            time_column="BJD_TDB",
        )
    elif kind == "mjd_missing":
        missing = ("NaN", "Infinity", "-", "")

        def produce() -> bytes:
            cur = lazy()
            rows = ["MJD_UTC,flux,flux_err,airmass"]
            for i in range(cur.jd_utc.size):
                flux = missing[i // 7 % 4] if i % 7 == 3 and i < 28 else f"{cur.flux[i]:.7f}"
                rows.append(f"{cur.jd_utc[i] - 2400000.5:.8f},{flux},{cur.error[i]:.7f},{cur.airmass[i]:.4f}")
            return _lines(rows)

        light_curve(
            f"{stem}_lightcurve.csv",
            produce,
            flux_column="flux",
            time_column="MJD_UTC",
            rows=lazy().jd_utc.size - 4,
            warning="left out",
        )
    return made, expected


def _sidecars(stem: str, tag: int, c: Callable[[], Curve]) -> list[Made]:
    return [
        Made(f"{stem}_lightcurve.png", lambda: png_plot(list(c().flux)), "Plot", "light curve plot"),
        Made(f"{stem}_field.png", lambda: png_plot([math.sin(i / 5) for i in range(60)]), "Plot", "field"),
        Made(
            f"{stem}_measurements.plotcfg",
            lambda: b"#AstroImageJ plot configuration\nxcolumn=BJD_TDB\n",
            "Light_Curve",
            "plot configuration",
        ),
        Made(
            f"{stem}_measurements.radec",
            lambda: b"#RA in decimal or sexagesimal HOURS\n22:35:56.1, -59:51:53, 1\n",
            "Light_Curve",
            "apertures",
        ),
        Made(
            f"{stem}_WCS.fits",
            lambda: fits_image(star_field_image(f"lc-wcs:{tag}", 32, 32, stars=3), (32, 32)),
            "Image",
            "plate-solved frame",
        ),
        Made(f"{stem}_notes.txt", lambda: b"Observed in good conditions; detrended with airmass.\n", "Notes", "notes"),
        Made(f"{stem}_measurements_NEB-table.txt", lambda: b"star\tdistance\tdepth\n2\t12.4\t0.2\n", "Notes", "NEB"),
    ]


def kind_of(tic: int, tag: int) -> str:
    tags = _TAG_ORDER.get(tic, [])
    return KINDS[tags.index(tag) % len(KINDS)] if tag in tags else KINDS[0]


def tag_files(
    tag: int, tic: int, row: tuple[str, ...], star: StarRecord, stem: str, filter_name: str
) -> tuple[list[Made], list[Expected]]:
    """The files of one light-curve tag (sidecars included) and what each should give."""
    c = functools.partial(curve, tag, row, star)
    made, expected = _files(kind_of(tic, tag), stem, tag, c, filter_name)
    return [*made, *_sidecars(stem, tag, c)], expected


def archive_entries(folder: str, made: list[Made]) -> list[Entry]:
    return [
        Entry(f"{folder}/{m.name}", bytes_producer(m.produce), file_type=m.file_type, description=m.description)
        for m in made
    ]

"""Times to full BJD in the TDB scale, with astropy, offline (IERS auto-download off).

The conversion is astropy's: ``Time(jd, scale="utc", location=site)``, then ``tdb +
light_travel_time(target, "barycentric")``.  Evaluated exactly at nodes every few minutes of a
night and interpolated on the TT grid in between (the correction is smooth and leap seconds lie in
UTC, not TT), it stays within microseconds of the point-by-point computation at a fraction of the
cost.  Earth orientation (UT1-UTC, polar motion) is taken as zero rather than parsed from the
4 MB IERS tables: that moves a site by at most half a kilometre, a few microseconds of light time,
and saves a second per process.  Offsets dropped by the writer (2400000, 2400000.5, 2450000,
2457000) are restored with the file name's date.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from exofop_mcp.lightcurves.observatories import Site

SECONDS_PER_DAY = 86400.0
NODE_SPACING_DAYS = 10 / 1440  # exact evaluations every ten minutes
#: Where BJD_TDB and JD_UTC of one row may disagree with the physics before the light curve says so.
CONSISTENCY_SECONDS = 5.0
OFFSETS = (0.0, 2400000.0, 2400000.5, 2450000.0, 2457000.0)

_astropy_lock = threading.Lock()
_astropy: dict[str, Any] = {}


def _astro() -> dict[str, Any]:
    """astropy's time and coordinates, with IERS downloads off (imported at first use)."""
    with _astropy_lock:
        if not _astropy:
            from astropy.utils import iers

            iers.conf.auto_download = False
            iers.conf.auto_max_age = None
            iers.conf.iers_degraded_accuracy = "warn"
            import astropy.units as u
            from astropy.coordinates import EarthLocation, SkyCoord
            from astropy.table import QTable
            from astropy.time import Time

            days = np.array([30000.0, 100000.0]) * u.day  # MJD 1941 to 2132
            zero = iers.IERS(
                QTable(
                    {
                        "MJD": days,
                        "UT1_UTC": np.zeros(2) * u.s,
                        "PM_x": np.zeros(2) * u.arcsec,
                        "PM_y": np.zeros(2) * u.arcsec,
                    }
                )
            )
            _astropy.update(Time=Time, SkyCoord=SkyCoord, EarthLocation=EarthLocation, u=u, iers=iers, zero_eop=zero)
        return _astropy


@dataclass(frozen=True)
class Target:
    ra_deg: float
    dec_deg: float


def _location(site: Site | None) -> Any:
    a = _astro()
    u = a["u"]
    if site is None:
        return a["EarthLocation"].from_geocentric(0.0, 0.0, 0.0, unit=u.m)
    return a["EarthLocation"].from_geodetic(site.longitude_deg * u.deg, site.latitude_deg * u.deg, site.height_m * u.m)


def _nodes(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    low, high = float(finite.min()), float(finite.max())
    count = max(2, int(np.ceil((high - low) / NODE_SPACING_DAYS)) + 1)
    return np.linspace(low, high, count)


def _tt_jd(jd_utc: np.ndarray) -> np.ndarray:
    a = _astro()
    return np.asarray(a["Time"](jd_utc, format="jd", scale="utc").tt.jd, dtype=np.float64)


def utc_to_bjd_tdb(jd_utc: np.ndarray, target: Target, site: Site | None) -> np.ndarray:
    """Full JD_UTC → full BJD_TDB (astropy, interpolated between exact nodes on the TT grid)."""
    a = _astro()
    ok = np.isfinite(jd_utc)
    out = np.full(jd_utc.shape, np.nan)
    if not ok.any():
        return out
    coord = a["SkyCoord"](target.ra_deg * a["u"].deg, target.dec_deg * a["u"].deg)
    location = _location(site)
    tt = _tt_jd(jd_utc[ok])
    nodes_tt = _nodes(tt)
    with a["iers"].earth_orientation_table.set(a["zero_eop"]):
        t = a["Time"](nodes_tt, format="jd", scale="tt", location=location)
        bjd_nodes = (t.tdb + t.light_travel_time(coord, kind="barycentric")).jd
    correction = (bjd_nodes - nodes_tt) * SECONDS_PER_DAY
    out[ok] = tt + np.interp(tt, nodes_tt, correction) / SECONDS_PER_DAY
    return out


def hjd_utc_to_jd_utc(hjd_utc: np.ndarray, target: Target) -> np.ndarray:
    """HJD_UTC → JD_UTC: subtract the heliocentric light-travel time (two iterations; sub-ms)."""
    a = _astro()
    ok = np.isfinite(hjd_utc)
    out = np.full(hjd_utc.shape, np.nan)
    if not ok.any():
        return out
    coord = a["SkyCoord"](target.ra_deg * a["u"].deg, target.dec_deg * a["u"].deg)
    values = hjd_utc[ok]
    nodes = _nodes(values)
    guess = nodes.copy()
    with a["iers"].earth_orientation_table.set(a["zero_eop"]):
        for _ in range(2):
            t = a["Time"](guess, format="jd", scale="utc", location=_location(None))
            guess = nodes - t.light_travel_time(coord, kind="heliocentric").jd
    out[ok] = values - np.interp(values, nodes, nodes - guess)
    return out


# --- offsets --------------------------------------------------------------------------------------

_TIME_NAME = re.compile(
    r"^(?P<system>bjd|btjd|hjd|jd|mjd|time|t)"
    r"(?:[_ ]?(?P<scale>tdb|utc|tt))?"
    r"(?:[_ ]?(?:mid|obs))?"
    r"(?:\s*-\s*(?P<offset>\d{4,7}(?:\.5)?))?"
    r"(?:[_ ]?(?P<scale2>tdb|utc))?$"
)


@dataclass(frozen=True)
class TimeColumnName:
    system: str  # "bjd", "jd", "hjd" or "time" (scale unknown)
    scale: str | None
    offset: float | None  # as written in the name


def parse_time_name(name: str) -> TimeColumnName | None:
    """What a column's name says about its times: ``BJD_TDB``, ``J.D.-2400000``, ``BJD-2450000``, ``BTJD``..."""
    text = name.strip().lower().replace("j.d.", "jd").replace("(", "").replace(")", "").replace("days", "").strip()
    match = _TIME_NAME.match(text)
    if not match:
        return None
    system = match.group("system")
    scale = match.group("scale") or match.group("scale2")
    offset = float(match.group("offset")) if match.group("offset") else None
    if system == "btjd":
        return TimeColumnName("bjd", "tdb", 2457000.0)
    if system == "mjd":
        return TimeColumnName("jd", scale or "utc", 2400000.5)
    if system == "t":
        system = "time"
    return TimeColumnName(system, scale, offset)


def date_jd(date: dt.date) -> float:
    """JD at 0h UT of ``date``."""
    return date.toordinal() + 1721424.5


def _distance_from_local_midnight(jd: float, longitude_deg: float) -> float:
    fraction = (jd + 0.5 + longitude_deg / 360.0) % 1.0
    return min(fraction, 1.0 - fraction)


def restore_offset(
    values: np.ndarray, named_offset: float | None, obs_date: dt.date | None, site: Site | None
) -> tuple[float, str | None]:
    """The offset to add to ``values`` for full Julian dates, and a warning when it had to be guessed.

    An offset named in the column header is trusted when it puts the times on the file's night (or
    when there is no date to check); otherwise the candidates that do are tried, preferring the one
    that puts the observation nearest local midnight at a known site.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, None
    middle = float(np.median(finite))
    if named_offset is not None and (obs_date is None or _on_night(middle + named_offset, obs_date)):
        return named_offset, None
    if middle > 2_000_000 and (obs_date is None or _on_night(middle, obs_date)):
        return 0.0, None
    if obs_date is not None:
        fitting = [o for o in OFFSETS if _on_night(middle + o, obs_date)]
        if len(fitting) == 1:
            offset = fitting[0]
            return offset, None if offset == 0 or named_offset is None else (
                f"the header says -{named_offset:g} but the times fit the file's date only with +{offset:g}"
            )
        if len(fitting) > 1:
            if site is not None:
                offset = min(fitting, key=lambda o: _distance_from_local_midnight(middle + o, site.longitude_deg))
                return offset, f"offset +{offset:g} chosen as the one that puts the observation at night at the site"
            offset = fitting[0]
            return offset, f"offset +{offset:g} assumed: the date allows several and the site is unknown"
    # No date to check against: the magnitude of the numbers decides.
    if middle > 2_000_000:
        return 0.0, None
    if named_offset is not None:
        return named_offset, None
    if middle < 6000:
        return 2457000.0, "times look like BTJD (BJD - 2457000); no date in the file name to confirm it"
    if middle < 20000:
        return 2450000.0, "times look like BJD - 2450000; no date in the file name to confirm it"
    if 40000 < middle < 80000:
        return 2400000.0, "times look like JD - 2400000; no date in the file name to confirm it"
    return 0.0, "times fit no known offset; used as written"


def _on_night(jd: float, obs_date: dt.date) -> bool:
    start = date_jd(obs_date)
    return start - 1.0 <= jd <= start + 2.0


def plausible(jd: np.ndarray) -> bool:
    finite = jd[np.isfinite(jd)]
    return bool(finite.size) and bool(((finite > 2_440_000) & (finite < 2_500_000)).all())

"""Where the stars, the Sun and the Moon stand in a site's sky over a span of nights: ERFA, vectorised.

Times here are Julian dates in UTC (``float64``: 40 microseconds of resolution).  The geometry is the
one astropy's ``AltAz`` frame computes, in the CIRS (the celestial intermediate system, whose right
ascension is measured from the point the Earth rotation angle counts from), so that a star's local
hour angle is just ``ERA + longitude - ra``:

- a star's CIRS place comes from ERFA's ``atci13`` (as ``apci13`` once, then ``atciq``: precession-nutation,
  annual aberration, light deflection) at the middle of the span: over two months it moves by seconds of arc;
- the Sun (``epv00``) and the Moon (``moon98``) are placed in the GCRS every hour, turned to the CIRS
  with the span's ``c2i06a`` matrix, and interpolated in between (the Moon moves half a degree an
  hour: the straight line between two hours is off by a few seconds of arc); the Moon is seen from
  the site (up to a degree of parallax), the Sun from the Earth's centre (9 seconds of arc);
- the Earth rotation angle takes UT1 = UTC (at most 0.9 s, under 14 seconds of arc) and polar motion
  as zero, as :mod:`exofop_mcp.lightcurves.time_systems` does;
- altitudes are geometric: no refraction (astropy's ``AltAz`` with ``pressure=0``).

All of it is within 0.01 degree of astropy for the stars and 0.05 degree for the Moon (the tests
compare them), far inside what a plan needs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from exofop_mcp.planning.sites import ObservingSite

AU_M = 149_597_870_700.0
C_M_PER_S = 299_792_458.0
SECONDS_PER_DAY = 86_400.0
#: The Earth rotation angle's rate, turns per UT1 day (IAU 2000: ERA = 2 pi (0.7790572732640 + this * (JD - 2451545))).
ERA_TURNS_PER_DAY = 1.00273781191135448
_ERA_AT_J2000 = 0.7790572732640
J2000 = 2451545.0
#: Hours between the Sun's, Moon's and Earth's exact positions (interpolated in between).
BODY_STEP_DAYS = 1.0 / 24.0


def erfa() -> Any:
    import erfa as module

    return module


def era(jd_utc: np.ndarray) -> np.ndarray:
    """The Earth rotation angle (radians) at each time, with UT1 = UTC."""
    t = np.asarray(jd_utc, dtype=np.float64) - J2000
    turns = np.mod(t, 1.0) + _ERA_AT_J2000 + (ERA_TURNS_PER_DAY - 1.0) * t  # the split keeps the precision
    return 2.0 * np.pi * np.mod(turns, 1.0)


def split(jd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A Julian date as ERFA's two parts: the preceding midnight and the fraction."""
    day = np.floor(jd - 0.5) + 0.5
    return day, jd - day


def tt_of_utc(jd_utc: np.ndarray) -> np.ndarray:
    """JD TT of each JD UTC (the leap seconds from ERFA's table)."""
    e = erfa()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", e.ErfaWarning)  # "dubious year": dates past the table's last leap second
        tt1, tt2 = e.taitt(*e.utctai(*split(np.asarray(jd_utc, dtype=np.float64))))
    return np.asarray(tt1 + tt2)


def utc_of_tt(jd_tt: np.ndarray) -> np.ndarray:
    """JD UTC of each JD TT: one offset when no leap second falls among them (ERFA's own loop otherwise)."""
    e = erfa()
    jd_tt = np.asarray(jd_tt, dtype=np.float64)
    if jd_tt.size > 2:
        ends = np.array([jd_tt.min(), jd_tt.max()])
        offsets = ends - utc_of_tt(ends)
        if abs(offsets[1] - offsets[0]) < 1e-9:
            return np.asarray(jd_tt - offsets[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", e.ErfaWarning)
        u1, u2 = e.taiutc(*e.tttai(*split(np.asarray(jd_tt, dtype=np.float64))))
    return np.asarray(u1 + u2)


def unit_vectors(ra_rad: np.ndarray, dec_rad: np.ndarray) -> np.ndarray:
    cos_dec = np.cos(dec_rad)
    return np.stack([cos_dec * np.cos(ra_rad), cos_dec * np.sin(ra_rad), np.sin(dec_rad)], axis=-1)


@dataclass(frozen=True)
class Stars:
    """Targets' places in the CIRS of the span (radians)."""

    ra: np.ndarray
    dec: np.ndarray

    @property
    def vectors(self) -> np.ndarray:
        return unit_vectors(self.ra, self.dec)


class SkyOverSite:
    """Time-dependent geometry of one site over one span (``start``..``end``, JD UTC)."""

    def __init__(self, site: ObservingSite, start: float, end: float) -> None:
        e = erfa()
        self.site = site
        self.latitude = np.radians(site.latitude_deg)
        self.longitude = np.radians(site.longitude_deg)
        self.itrs_au = np.asarray(e.gd2gc(1, self.longitude, self.latitude, float(site.elevation_m))) / AU_M
        margin = 1.0
        count = int(np.ceil((end - start + 2 * margin) / BODY_STEP_DAYS)) + 1
        self.grid = start - margin + BODY_STEP_DAYS * np.arange(count)  # JD UTC
        tt = tt_of_utc(self.grid)
        self.middle_tt = float(tt[count // 2])
        c2i = np.asarray(e.c2i06a(*split(np.array(self.middle_tt))))
        heliocentric, barycentric = e.epv00(*split(tt))  # TT for TDB: 1.7 ms apart
        self.earth_au = np.asarray(barycentric["p"])  # barycentric Earth, ICRS (au)
        self._sun = np.asarray(-heliocentric["p"]) @ c2i.T  # geocentric Sun, CIRS (au)
        self._moon = np.asarray(e.moon98(*split(tt))["p"]) @ c2i.T  # geocentric Moon, CIRS (au)

    # -- the bodies ------------------------------------------------------------------------------------

    def _interpolate(self, table: np.ndarray, jd_utc: np.ndarray) -> np.ndarray:
        position = (np.asarray(jd_utc, dtype=np.float64) - self.grid[0]) / BODY_STEP_DAYS
        index = np.clip(np.floor(position).astype(np.int64), 0, self.grid.size - 2)
        weight = (position - index)[..., None]
        return table[index] * (1.0 - weight) + table[index + 1] * weight

    def earth_barycentric_m(self, jd_utc: np.ndarray) -> np.ndarray:
        """The Earth's barycentric position (m, ICRS) at each time."""
        return self._interpolate(self.earth_au, jd_utc) * AU_M

    def site_cirs_au(self, jd_utc: np.ndarray) -> np.ndarray:
        """The site's geocentric position in the CIRS (au): the ITRS position turned by the rotation angle."""
        angle = era(jd_utc)
        x, y, z = self.itrs_au
        c, s = np.cos(angle), np.sin(angle)
        return np.stack([x * c - y * s, x * s + y * c, np.full_like(angle, z)], axis=-1)

    def sun_cirs(self, jd_utc: np.ndarray) -> np.ndarray:
        """The geocentric Sun (au, CIRS)."""
        return self._interpolate(self._sun, jd_utc)

    def moon_cirs(self, jd_utc: np.ndarray) -> np.ndarray:
        """The Moon seen from the site (au, CIRS)."""
        return self._interpolate(self._moon, jd_utc) - self.site_cirs_au(jd_utc)

    # -- altitudes ----------------------------------------------------------------------------------

    def altitude_of_vector(self, vectors: np.ndarray, jd_utc: np.ndarray) -> np.ndarray:
        """Geometric altitude (degrees) of CIRS directions, each seen at its time."""
        ra = np.arctan2(vectors[..., 1], vectors[..., 0])
        dec = np.arctan2(vectors[..., 2], np.hypot(vectors[..., 0], vectors[..., 1]))
        return self.altitude(ra, dec, jd_utc)

    def altitude(self, ra: np.ndarray, dec: np.ndarray, jd_utc: np.ndarray) -> np.ndarray:
        """Geometric altitude (degrees) of CIRS places at times (broadcast together)."""
        hour_angle = era(jd_utc) + self.longitude - ra
        sin_alt = np.sin(self.latitude) * np.sin(dec) + np.cos(self.latitude) * np.cos(dec) * np.cos(hour_angle)
        return np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))

    def sun_altitude(self, jd_utc: np.ndarray) -> np.ndarray:
        return self.altitude_of_vector(self.sun_cirs(jd_utc), jd_utc)

    def moon_altitude(self, jd_utc: np.ndarray) -> np.ndarray:
        return self.altitude_of_vector(self.moon_cirs(jd_utc), jd_utc)

    def stars(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> Stars:
        """ICRS (J2000) places to the span's CIRS (no proper motion: decades of it are seconds of arc)."""
        e = erfa()
        astrom, _ = e.apci13(*split(np.array(self.middle_tt)))  # atci13's star-independent part, once
        zeros = np.zeros_like(np.asarray(ra_deg, dtype=np.float64))
        ri, di = e.atciq(np.radians(ra_deg), np.radians(dec_deg), zeros, zeros, zeros, zeros, astrom)
        return Stars(np.asarray(ri), np.asarray(di))

    # -- the Moon's light and distance --------------------------------------------------------------

    def moon_illumination(self, jd_utc: np.ndarray) -> np.ndarray:
        """The Moon's illuminated fraction (0 new, 1 full), from the Sun-Earth-Moon angle (as astroplan)."""
        sun = self.sun_cirs(jd_utc)
        moon = self._interpolate(self._moon, jd_utc)
        sun_distance = np.linalg.norm(sun, axis=-1)
        moon_distance = np.linalg.norm(moon, axis=-1)
        elongation = np.arccos(np.clip(np.sum(sun * moon, axis=-1) / (sun_distance * moon_distance), -1.0, 1.0))
        phase_angle = np.arctan2(sun_distance * np.sin(elongation), moon_distance - sun_distance * np.cos(elongation))
        return (1.0 + np.cos(phase_angle)) / 2.0

    def moon_separation(self, stars: Stars, jd_utc: np.ndarray) -> np.ndarray:
        """Degrees between each star and the Moon seen from the site, at each time."""
        moon = self.moon_cirs(jd_utc)
        moon = moon / np.linalg.norm(moon, axis=-1, keepdims=True)
        cosine = np.sum(stars.vectors * moon, axis=-1)
        return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def hour_angle_rate() -> float:
    """Radians per day at which a fixed place's hour angle grows."""
    return 2.0 * np.pi * ERA_TURNS_PER_DAY

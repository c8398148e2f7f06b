"""A limb-darkened transit light curve (Mandel & Agol's quadratic law, computed by ``batman``).

The shape is described as an observer reads it off a light curve rather than by orbital elements:
mid-time ``t0``, total duration ``T14`` (first to fourth contact), the radius ratio ``k`` and the
impact parameter ``b``; the semi-major axis and inclination of a circular orbit that give that
duration are derived here.  The depth parameter may be negative (an inverted transit) so that a
fit of a flat light curve finds a depth scattered around zero, with an honest uncertainty, instead
of stopping at ``k = 0``.

Limb darkening is the quadratic law with coefficients for a Sun-like dwarf in each common band
(rounded from Claret's tables); the depth a fit reports is the depth at mid-transit in the
observed band, so a planet seen in two bands has slightly different depths.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

DEFAULT_IMPACT = 0.4
#: Quadratic limb-darkening coefficients (u1, u2) of a Sun-like dwarf, by band (lower-case key, no separators).
LIMB_DARKENING: dict[str, tuple[float, float]] = {
    "u": (0.80, 0.05),
    "b": (0.70, 0.12),
    "g": (0.62, 0.17),
    "gp": (0.62, 0.17),
    "v": (0.55, 0.20),
    "r": (0.46, 0.23),
    "rp": (0.46, 0.23),
    "rc": (0.44, 0.24),
    "i": (0.36, 0.26),
    "ip": (0.36, 0.26),
    "ic": (0.34, 0.26),
    "iz": (0.32, 0.26),
    "tess": (0.33, 0.25),
    "z": (0.29, 0.27),
    "zs": (0.29, 0.27),
    "zp": (0.29, 0.27),
    "y": (0.26, 0.27),
    "j": (0.18, 0.28),
    "h": (0.12, 0.28),
    "k": (0.10, 0.26),
}
DEFAULT_LIMB_DARKENING = (0.40, 0.25)


def limb_darkening(filter_name: str | None) -> tuple[float, float]:
    """The quadratic coefficients for a band name as observers write it (``zs``, ``Sloan i'``, ``I+z``, ``Rc``)."""
    key = re.sub(r"[^a-z+]", "", (filter_name or "").lower().replace("sloan", "").replace("'", "p"))
    key = key.replace("+", "")
    if key in LIMB_DARKENING:
        return LIMB_DARKENING[key]
    if key[:1] in LIMB_DARKENING and len(key) <= 2:
        return LIMB_DARKENING[key[:1]]
    return DEFAULT_LIMB_DARKENING


def orbit(period_days: float, t14_days: float, k: float, b: float) -> tuple[float, float]:
    """(a/R*, inclination in degrees) of the circular orbit with this total duration and impact parameter."""
    chord = max((1.0 + k) ** 2 - b**2, 1e-6)
    s = math.sin(math.pi * min(t14_days, 0.45 * period_days) / period_days)
    a_rs = math.sqrt(chord / max(s**2, 1e-12) + b**2)
    a_rs = max(a_rs, 1.0 + k + 1e-3)
    return a_rs, math.degrees(math.acos(min(b / a_rs, 1.0)))


class TransitShape:
    """The model on fixed times: ``flux(t0, depth_parameter, t14)`` for one band and one impact parameter.

    ``depth_parameter`` is ``k²`` with a sign: negative values turn the transit upside down.
    """

    def __init__(self, times: np.ndarray, period_days: float, filter_name: str | None, b: float = DEFAULT_IMPACT):
        import batman

        # times are kept relative to their first value: a BJD of 2.46 million days leaves only ~40 µs
        # of resolution, too coarse for the finite differences of a fit
        times = np.asarray(times, dtype=np.float64)
        self.reference = float(times[0]) if times.size else 0.0
        self.times = np.ascontiguousarray(times - self.reference)
        self.period = float(period_days)
        self.b = b
        self.u = list(limb_darkening(filter_name))
        self._params: Any = batman.TransitParams()
        p = self._params
        p.t0, p.per, p.rp, p.ecc, p.w, p.u, p.limb_dark = 0.0, self.period, 0.1, 0.0, 90.0, self.u, "quadratic"
        p.a, p.inc = orbit(self.period, 0.1, 0.1, b)
        self._model: Any = batman.TransitModel(p, self.times)

    def flux(self, t0: float, depth_parameter: float, t14_days: float) -> np.ndarray:
        k = math.sqrt(abs(depth_parameter))
        if k < 1e-6:
            return np.ones_like(self.times)
        p = self._params
        p.t0, p.rp = float(t0) - self.reference, k
        p.a, p.inc = orbit(self.period, t14_days, k, self.b)
        dip = 1.0 - np.asarray(self._model.light_curve(p), dtype=np.float64)
        return 1.0 - math.copysign(1.0, depth_parameter) * dip

    def with_limb_darkening(self, u: list[float]) -> TransitShape:
        """This shape with other quadratic coefficients (returns itself)."""
        self.u = list(u)
        self._params.u = self.u
        return self

    def depth(self, depth_parameter: float, t14_days: float) -> float:
        """The depth at mid-transit (a fraction of the flux) that this parameter gives."""
        mid = TransitShape(np.array([0.0]), self.period, None, self.b).with_limb_darkening(self.u)
        return float(1.0 - mid.flux(0.0, depth_parameter, t14_days)[0])


def depth_parameter_for(depth: float, period_days: float, t14_days: float, filter_name: str | None) -> float:
    """The ``k²`` whose mid-transit depth in this band is ``depth`` (a fraction), by a few secant steps."""
    shape = TransitShape(np.array([0.0]), period_days, filter_name)
    guess = abs(depth)
    for _ in range(8):
        got = shape.depth(guess, t14_days)
        if got <= 0:
            break
        guess *= abs(depth) / got
    return math.copysign(guess, depth)

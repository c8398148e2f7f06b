"""Sexagesimal coordinates from ExoFOP's tables, converted to degrees.

ExoFOP writes RA as hours (``19:05:30.24``) and Dec as degrees (``-41:26:15.5``), colon-separated.
The conversion is plain arithmetic (``tests/site/test_coordinates.py`` checks it against
``astropy.coordinates.Angle`` on every row of the TOI table); parsing 15,000 strings one by one
through astropy took half a second and its import a further 0.4 s on every cold start.
A cell that is not a sexagesimal or decimal angle gives ``None``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_SEXAGESIMAL = re.compile(r"^\s*([+-]?)\s*(\d+(?:\.\d*)?)(?:[:\s]+(\d+(?:\.\d*)?)(?:[:\s]+(\d+(?:\.\d*)?))?)?\s*$")


def parse_sexagesimal(text: str | None, *, hours: bool) -> float | None:
    """``"19:05:30.24"`` (hours) → 286.376; ``"-41:26:15.5"`` (degrees) → -41.4376389; else ``None``."""
    if not text:
        return None
    m = _SEXAGESIMAL.match(text)
    if m is None:
        return None
    sign, whole, minutes, seconds = m.groups()
    value = float(whole) + float(minutes or 0) / 60.0 + float(seconds or 0) / 3600.0
    if (minutes is not None and float(minutes) >= 60) or (seconds is not None and float(seconds) >= 60):
        return None
    if hours:
        value *= 15.0
    value = -value if sign == "-" else value
    limit = 360.0 if hours else 90.0
    if not math.isfinite(value) or (hours and not 0 <= value < limit + 1e-9) or (not hours and abs(value) > limit):
        return None
    return round(value, 7)


def to_degrees(ra: Sequence[str | None], dec: Sequence[str | None]) -> list[tuple[float | None, float | None]]:
    """Convert RA (hours) and Dec (degrees) cells to ``(ra_deg, dec_deg)`` pairs."""
    return [(parse_sexagesimal(r, hours=True), parse_sexagesimal(d, hours=False)) for r, d in zip(ra, dec, strict=True)]

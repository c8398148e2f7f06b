"""Photometric filters as observers write them, sorted into blue, middle and red by their central wavelength.

TFOP checks a transit for chromaticity (a blended eclipsing binary of another colour changes depth
with wavelength), so a candidate needs time series in a red filter and, ideally, a blue one.  The
names are the ones ExoFOP's time-series table holds; the wavelengths are the filters' usual centres.
"""

from __future__ import annotations

import re
from typing import Literal

Band = Literal["blue", "middle", "red", "unknown"]

#: Central wavelengths (nm) of the filters seen in ExoFOP's time-series table, by lower-case name.
CENTRAL_WAVELENGTH_NM: dict[str, float] = {
    "u": 355,
    "up": 355,
    "u'": 355,
    "b": 440,
    "g": 475,
    "gp": 475,
    "g'": 475,
    "v": 550,
    "562nm": 562,
    "tess": 790,
    "clear": 600,
    "cbb": 650,
    "exo": 640,
    "r": 620,
    "rp": 620,
    "r'": 620,
    "rc": 650,
    "r_c": 650,
    "ngts": 700,
    "ngts-b": 560,
    "ngts-r": 770,
    "i": 770,
    "ip": 770,
    "i'": 770,
    "ic": 800,
    "i_c": 800,
    "rg715": 800,
    "i+z": 860,
    "z": 900,
    "zs": 900,
    "z'": 900,
    "zp": 900,
    "z_s": 900,
    "y": 1000,
    "832nm": 832,
    "nir": 1200,
    "j": 1250,
    "0.85-1.55um": 1200,
    "h": 1650,
    "ks": 2150,
    "k": 2200,
}
#: At or below this a filter is blue; at or above RED_FROM_NM it is red.
BLUE_UNTIL_NM = 560.0
RED_FROM_NM = 700.0
RULE = f"blue: central wavelength <= {BLUE_UNTIL_NM:g} nm (B, V, g'); red: >= {RED_FROM_NM:g} nm (i', I, z', I+z)"


def band_of(filter_name: str | None) -> Band:
    """The band a filter name belongs to ('unknown' for a name this table does not know)."""
    if not filter_name:
        return "unknown"
    key = re.sub(r"\s+", "", filter_name.strip().lower())
    wavelength = CENTRAL_WAVELENGTH_NM.get(key)
    if wavelength is None:
        match = re.fullmatch(r"(\d{3,4})\s*nm", key)
        wavelength = float(match.group(1)) if match else None
    if wavelength is None:
        return "unknown"
    if wavelength <= BLUE_UNTIL_NM:
        return "blue"
    if wavelength >= RED_FROM_NM:
        return "red"
    return "middle"

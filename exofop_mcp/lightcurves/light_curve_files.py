"""The standardised light curve as an ECSV file (astropy's format: units, time scale, metadata).

Columns: ``bjd_tdb`` (an astropy ``Time`` in the TDB scale, JD format, so the scale survives the
round trip), ``flux`` and ``flux_err`` (relative, dimensionless), then the detrending columns the
table had (``airmass``, ``fwhm``, ``sky``, ``x``, ``y``, ``exptime``, ``jd_utc``).  The extraction
writes it atomically into a real folder of the sandbox (:mod:`exofop_mcp.sandbox_files`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

UNITS = {"fwhm": "pix", "x": "pix", "y": "pix", "exptime": "s", "jd_utc": "d"}
DESCRIPTIONS = {
    "bjd_tdb": "Barycentric Julian Date, TDB scale (full, no offset)",
    "flux": "relative flux (normalised)",
    "flux_err": "1-sigma error of flux",
    "airmass": "airmass",
    "fwhm": "FWHM of the target's profile",
    "sky": "sky level per pixel",
    "x": "target x position on the detector",
    "y": "target y position on the detector",
    "exptime": "exposure time",
    "jd_utc": "Julian Date, UTC scale (full)",
}
ORDER = ("airmass", "fwhm", "sky", "x", "y", "exptime", "jd_utc")


#: A character that makes a spreadsheet cell a formula (``=``, ``+``, ``-``, ``@``) at the start of a word of
#: header text: a file opened as CSV or space-separated text could put that word in a cell of its own.
_FORMULA_START = re.compile(r'(^|[\s,;|"\'(\[{])([=+\-@])')


def _yaml(value: Any) -> str:
    """A value in YAML flow style (JSON is a subset of YAML; astropy reads the header with safe_load).

    Text comes from the source table and its file name (other people's): a formula character that starts
    a word is written as a ``\\uXXXX`` escape, which YAML reads back as the same character, so no cell a
    spreadsheet makes of the header can start a formula.  Data rows hold only numbers.
    """
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text[0] + _FORMULA_START.sub(lambda m: f"{m.group(1)}\\u{ord(m.group(2)):04x}", text[1:])
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(str(k))}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


def ecsv_text(
    bjd_tdb: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, extra: dict[str, np.ndarray], meta: dict[str, Any]
) -> str:
    """The ECSV text of one light curve, written directly (astropy's own writer is ten times slower).

    The header is what astropy writes for a table whose ``bjd_tdb`` is a ``Time`` column serialised as
    its formatted JD value: ``Table.read`` gives the ``Time`` back, in TDB.
    """
    columns: list[tuple[str, np.ndarray, str | None]] = [
        ("bjd_tdb", bjd_tdb, None),
        ("flux", flux, ""),
        ("flux_err", flux_err, ""),
    ]
    columns += [(name, extra[name], UNITS.get(name)) for name in ORDER if name in extra]
    lines = ["# %ECSV 1.0", "# ---", "# datatype:"]
    for name, _, unit in columns:
        item = {"name": name}
        if unit is not None:
            item["unit"] = unit
        item["datatype"] = "float64"
        item["description"] = DESCRIPTIONS[name]
        lines.append("# - " + _yaml(item))
    lines.append("# meta: !!omap")
    for key, value in meta.items():
        lines.append("# - " + _yaml({key: value}))
    lines += [
        "# - __serialized_columns__:",
        "#     bjd_tdb:",
        "#       __class__: astropy.time.core.Time",
        "#       format: jd",
        "#       in_subfmt: '*'",
        "#       out_subfmt: '*'",
        "#       precision: 9",
        "#       scale: tdb",
        "#       value: !astropy.table.SerializedColumn {name: bjd_tdb}",
        "# schema: astropy-2.0",
        " ".join(name for name, _, _ in columns),
    ]
    data = np.column_stack([values.astype(np.float64) for _, values, _ in columns])
    data[~np.isfinite(data)] = np.nan  # an infinity is written as a missing value
    if data.size:  # one format over every value: repr() of each float (the shortest text that reads back exactly)
        row = " ".join(["%r"] * data.shape[1])
        lines.append("\n".join([row] * data.shape[0]) % tuple(data.ravel().tolist()))
    return "\n".join(lines) + "\n"


def read_light_curve(path: Path) -> Any:
    """The ECSV back as an astropy ``Table`` (``bjd_tdb`` a ``Time`` in TDB); for a path the caller chose."""
    from astropy.table import Table

    return Table.read(path, format="ascii.ecsv")

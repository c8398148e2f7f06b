"""The TFOP SG1 file-name convention: ``TIC<id>-<pp>_<YYYYMMDD>_<Observatory>_<Filter>[_<N>px]_<type>``.

Names in the wild are sloppy (``TIC218795833.01_…``, ``TIC_337217173-01_…``, ``_15pix_``, dates
written ddmmyyyy, a missing filter), so every part is optional and parsed separately.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_TIC = re.compile(r"^TIC[_ -]?(?P<tic>\d{4,10})(?:[-._](?P<planet>\d{1,2}))?", re.IGNORECASE)
_BAND_APERTURE = re.compile(r"^([A-Za-z][A-Za-z0-9+']{0,5})\.ap(\d{1,3}(?:\.\d+)?)$", re.IGNORECASE)
_APERTURE = re.compile(r"^(?P<n>\d{1,3}(?:\.\d+)?)(?:px|pix|pixel|pixels)$", re.IGNORECASE)
#: Words that start the file-type part of a name: everything from them on is not observatory or filter.
_FILE_TYPES = {
    "measurements",
    "measurement",
    "lightcurve",
    "lightcurves",
    "lc",
    "data",
    "detrend-data",
    "subset",
    "compstar-lightcurves",
    "field",
    "field-zoom",
    "seeing-profile",
    "wcs",
    "notes",
    "bjd-flux-err",
    "photometry",
    "phot",
    "dmagrms-plot",
    "datasubset",
    "measurement_subset",
    "merged",
    "table",
}
#: Beginnings of file-type words: AstroImageJ data subsets are named ``bjd-flux-err-detrended``,
#: ``bjd-flux-err-am-fwhm``...; these are what the file holds, never part of the observatory.
_FILE_TYPE_PREFIXES = ("measurements", "bjd-flux-err", "bjd_flux_err", "datasubset", "detrend")
#: Observers' initials written after the filter (``_ip_5px_KC_bjd-flux-err...``): two or three capitals.
_INITIALS = re.compile(r"^[A-Z]{2,3}$")
#: Usual band names, to tell a filter from the last word of an observatory.
_FILTERS = {
    "u",
    "b",
    "v",
    "r",
    "i",
    "z",
    "g",
    "j",
    "h",
    "k",
    "ks",
    "y",
    "up",
    "gp",
    "rp",
    "ip",
    "zp",
    "zs",
    "z_s",
    "rc",
    "ic",
    "bb",
    "clear",
    "cbb",
    "exo",
    "lum",
    "l",
    "tess",
    "i+z",
    "i+z'",
    "r'",
    "i'",
    "g'",
    "z'",
    "ngts-b",
    "halpha",
    "oiii",
    "sii",
    "na",
    "cr",
}


@dataclass(frozen=True)
class FileNameInfo:
    """What a file's name says; every field may be missing."""

    tic_id: int | None = None
    planet: str | None = None
    obs_date: dt.date | None = None
    observatory: str | None = None
    filter: str | None = None
    aperture_px: float | None = None
    file_type: str | None = None


def _date(text: str) -> dt.date | None:
    text = text.removeprefix("UT")  # "UT20230602"
    if not re.fullmatch(r"\d{8}", text):
        return None
    for fmt in ("%Y%m%d", "%d%m%Y"):
        try:
            value = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 2000 <= value.year <= 2100:
            return value
    return None


def parse_file_name(name: str) -> FileNameInfo:
    """The parts of a TFOP-style file name (the last path component, any extension)."""
    base = name.rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base[-6:] else base
    tic_id = planet = None
    match = _TIC.match(stem)
    rest = stem
    if match:
        tic_id = int(match.group("tic"))
        planet = match.group("planet")
        planet = f"{int(planet):02d}" if planet else None
        rest = stem[match.end() :].lstrip("_-. ")
    parts: list[str] = []
    for part in (p for p in rest.split("_") if p):
        band_aperture = _BAND_APERTURE.match(part)  # "R.ap7": the filter and the aperture radius
        parts += [band_aperture.group(1), f"{band_aperture.group(2)}px"] if band_aperture else [part]
    obs_date = None
    if parts and (obs_date := _date(parts[0])) is not None:
        parts = parts[1:]
    else:
        for index, part in enumerate(parts):
            if (found := _date(part)) is not None:
                obs_date, parts = found, parts[index + 1 :]
                break
    file_type = None
    for index, part in enumerate(parts):
        if part.lower() in _FILE_TYPES or part.lower().startswith(_FILE_TYPE_PREFIXES):
            file_type = "_".join(parts[index:])
            parts = parts[:index]
            break
    aperture = None
    kept = []
    for part in parts:
        size = _APERTURE.match(part)
        if size:
            aperture = float(size.group("n"))
        else:
            kept.append(part)
    parts = kept
    if len(parts) >= 3 and _INITIALS.match(parts[-1]) and parts[-2].lower() in _FILTERS:
        parts = parts[:-1]  # the observer's initials after the filter
    filter_name = None
    if len(parts) >= 2 and (parts[-1].lower() in _FILTERS or len(parts[-1]) <= 3):
        filter_name = parts.pop()
        if filter_name.lower() == "s" and parts and parts[-1].lower() == "z":  # z_s written with an underscore
            filter_name = f"{parts.pop()}_s"
    elif len(parts) == 1 and parts[0].lower() in _FILTERS:
        filter_name = parts.pop()
    observatory = "_".join(parts) or None
    if tic_id is None and obs_date is None:  # not a TFOP name: its words say nothing reliable
        observatory = filter_name = None
    return FileNameInfo(tic_id, planet, obs_date, observatory, filter_name, aperture, file_type)

"""Which column holds the times, in what system, and how it becomes full BJD_TDB.

A BJD_TDB column (or a synonym: ``BJD``, ``BJD-2450000``, ``BTJD``...) is taken as it is, after
restoring a dropped offset; otherwise JD_UTC (``JD_UTC``, ``J.D.-2400000``, ``MJD``) or HJD_UTC is
converted with ERFA, as astropy does it.  Where both BJD_TDB and JD_UTC exist, their difference is checked against
the physics: a "BJD" column holding UTC times is caught and the light curve says so.  The observer's
own mid-exposure columns (AstroImageJ's ``BJD_TDB_MOBS``...) come before the others, and an AAVSO
exoplanet report's ``#DATE_TYPE`` says what its ``DATE`` column holds.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np

from exofop_mcp.lightcurves.observatories import Site
from exofop_mcp.lightcurves.reports import Refusal
from exofop_mcp.lightcurves.table_reading import TextTable
from exofop_mcp.lightcurves.time_systems import (
    CONSISTENCY_SECONDS,
    PLAUSIBLE_JD,
    SECONDS_PER_DAY,
    Target,
    bjd_utc_to_bjd_tdb,
    hjd_utc_to_jd_utc,
    parse_time_name,
    plausible,
    restore_offset,
    utc_to_bjd_tdb,
)


@dataclass
class TimeChoice:
    bjd_tdb: np.ndarray
    jd_utc: np.ndarray | None
    source: str
    warnings: list[str] = field(default_factory=list)


def site_from_table(table: TextTable) -> Site | None:
    """AstroImageJ's ``SITELAT``/``SITELONG`` columns (degrees, east positive), when present."""
    names = {n.lower(): n for n in table.names}
    lat, lon = names.get("sitelat"), names.get("sitelong")
    if lat is None or lon is None or not (table.is_numeric(lat) and table.is_numeric(lon)):
        return None
    height_name = names.get("sitealt") or names.get("siteelev")
    height = float(np.nanmedian(table.number(height_name))) if height_name and table.is_numeric(height_name) else 0.0
    return Site(
        "site of the table", float(np.nanmedian(table.number(lat))), float(np.nanmedian(table.number(lon))), height
    )


_BAND_SUFFIX = re.compile(r"^(.+)_[A-Za-z][A-Za-z0-9+']{0,2}$")
#: An AAVSO exoplanet report's ``#DATE_TYPE`` and the system its ``DATE`` column is then in.
DECLARED_TYPES = {"BJD_TDB": "bjd", "BJD_TT": "bjd", "BJD_UTC": "bjd_utc", "JD_UTC": "jd", "HJD_UTC": "hjd"}


def _columns(table: TextTable) -> dict[str, list[tuple[str, float | None]]]:
    """Time-like numeric columns by system: bjd, jd (UTC), hjd, time (scale unknown).

    The observer's mid-exposure columns (AstroImageJ's ``BJD_TDB_MOBS``, ``JD_UTC_MOBS``...) come
    first: they are the times the observer chose; unused ones are all NaN and are not numeric.
    """
    found: dict[str, list[tuple[str, float | None]]] = {"bjd": [], "jd": [], "hjd": [], "time": []}
    mid: set[str] = set()
    suffixed: set[str] = set()
    for name in table.names:
        parsed = parse_time_name(name)
        if (
            parsed is None
            and name.lstrip()[:3].lower() in ("bjd", "jd_", "hjd", "jd.", "j.d")
            and (band := _BAND_SUFFIX.match(name.strip()))
        ):  # "BJD_TDB_B": a band's own times
            parsed = parse_time_name(band.group(1))
            if parsed is None or parsed.system not in ("bjd", "jd", "hjd"):
                continue
            suffixed.add(name)
        if parsed is None or not table.is_numeric(name):
            continue
        if parsed.mid_exposure:
            mid.add(name)
        if parsed.system == "bjd" and parsed.scale in (None, "tdb"):
            found["bjd"].append((name, parsed.offset))
        elif parsed.system == "jd" and parsed.scale in (None, "utc"):
            found["jd"].append((name, parsed.offset))
        elif parsed.system == "hjd" and parsed.scale in (None, "utc"):
            found["hjd"].append((name, parsed.offset))
        elif parsed.system == "time":
            found["time"].append((name, parsed.offset))
    for system in found.values():
        # AstroImageJ writes both JD_UTC and J.D.-2400000: the full column first; mid-exposure before either.
        # A band-suffixed column after the table's own.
        system.sort(key=lambda item: (item[0] not in mid, item[0] in suffixed, item[1] is not None))
    return found


def _is_mid(name: str) -> bool:
    parsed = parse_time_name(name)
    return parsed is not None and parsed.mid_exposure


def _declared(table: TextTable) -> tuple[str, str] | None:
    """``(column, DATE_TYPE)`` when the table's metadata says what its DATE column holds (AAVSO reports)."""
    declared = table.metadata.get("DATE_TYPE", "").split()
    kind = declared[0].upper() if declared else ""
    if kind not in DECLARED_TYPES:
        return None
    name = next((n for n in table.names if n.strip().upper() == "DATE"), None)
    if name is None or not table.is_numeric(name):
        return None
    return name, kind


def _full(
    table: TextTable, name: str, named: float | None, date: dt.date | None, site: Site | None, warnings: list[str]
) -> np.ndarray:
    values = table.number(name)
    offset, note = restore_offset(values, named, date, site)
    if note:
        warnings.append(f"{name}: {note}")
    full = values + offset
    outside = np.isfinite(full) & ~((full > PLAUSIBLE_JD[0]) & (full < PLAUSIBLE_JD[1]))
    dropped = int(outside.sum())
    if dropped and dropped * 2 < int(np.isfinite(full).sum()):  # a few odd cells (1e308), not the column
        example = float(values[outside][0])
        warnings.append(
            f"{name}: {dropped} row{'s' if dropped > 1 else ''} with a time no Julian date can be "
            f"(e.g. {example:.6g}) left out"
        )
        full = np.where(outside, np.nan, full)
    if not plausible(full):
        raise Refusal(
            "unknown_time_offset",
            f"the times in {name!r} are not Julian dates of any known offset (2400000, 2400000.5, 2450000, 2457000).",
        )
    return full


def _converted(name: str, system: str, site: Site | None) -> str:
    label = name if name == system else f"{name} ({system})"
    return f"{label} converted with ERFA (astropy's routines) {_where(site)}"


def _where(site: Site | None) -> str:
    return f"at {site.name}" if site else "at the geocentre (observatory unknown)"


def choose_times(table: TextTable, target: Target, site: Site | None, date: dt.date | None) -> TimeChoice:
    """Full BJD_TDB for every row of ``table``; raises :class:`Refusal` when no column holds times."""
    columns = _columns(table)
    warnings: list[str] = []
    declared = _declared(table)
    if declared is not None:
        name, kind = declared
        system = DECLARED_TYPES[kind]
        if system == "bjd_utc":
            values = bjd_utc_to_bjd_tdb(_full(table, name, None, date, site, warnings))
            return TimeChoice(values, None, f"{name} (BJD_UTC by the file's DATE_TYPE, converted to TDB)", warnings)
        if kind == "BJD_TT":
            warnings.append(f"{name} is BJD_TT by the file's DATE_TYPE: taken as BJD_TDB (they differ by < 2 ms)")
        columns[system].insert(0, (name, None))
    jd_utc = None
    if columns["jd"]:
        name, named = columns["jd"][0]
        jd_utc = _full(table, name, named, date, site, warnings)
        jd_name = name
    if columns["bjd"]:
        name, named = columns["bjd"][0]
        bjd = _full(table, name, named, date, site, warnings)
        if declared is not None and declared[0] == name:
            source = f"{name} ({declared[1]} by the file's DATE_TYPE)"
        elif named is None and name.upper() in ("BJD_TDB", "BJD_TDB_MOBS"):
            source = name
        else:
            source = f"{name} (as BJD_TDB)"
        if jd_utc is not None:
            pick = np.flatnonzero(np.isfinite(bjd) & np.isfinite(jd_utc))
            if pick.size:
                sample = pick[[0, pick.size // 2, -1]]
                expected = utc_to_bjd_tdb(jd_utc[sample], target, site)
                off = float(np.median(bjd[sample] - expected)) * SECONDS_PER_DAY
                if abs(off) > CONSISTENCY_SECONDS:
                    same = abs(float(np.median(bjd[sample] - jd_utc[sample]))) * SECONDS_PER_DAY < 1.0
                    if same:
                        warnings.append(
                            f"{name} holds the same times as {jd_name} (UTC, not BJD_TDB): times converted from "
                            f"{jd_name} instead"
                        )
                        return TimeChoice(
                            utc_to_bjd_tdb(jd_utc, target, site),
                            jd_utc,
                            _converted(jd_name, "JD_UTC", site),
                            warnings,
                        )
                    mid = _is_mid(name) and not _is_mid(jd_name)
                    warnings.append(
                        f"{name} differs from {jd_name} converted to BJD_TDB by {off:+.1f} s (more than "
                        f"{CONSISTENCY_SECONDS:g} s): "
                        + (
                            f"{name} is the observer's mid-exposure time and {jd_name} may be the exposure's "
                            f"start; {name} kept"
                            if mid
                            else f"one of the two columns is wrong; {name} kept"
                        )
                    )
        return TimeChoice(bjd, jd_utc, source, warnings)
    if jd_utc is not None:
        return TimeChoice(
            utc_to_bjd_tdb(jd_utc, target, site),
            jd_utc,
            _converted(jd_name, "JD_UTC", site),
            warnings,
        )
    if columns["hjd"]:
        name, named = columns["hjd"][0]
        hjd = _full(table, name, named, date, site, warnings)
        jd = hjd_utc_to_jd_utc(hjd, target)
        return TimeChoice(utc_to_bjd_tdb(jd, target, site), jd, _converted(name, "HJD_UTC", site), warnings)
    if columns["time"]:
        name, named = columns["time"][0]
        bjd = _full(table, name, named, date, site, warnings)
        warnings.append(f"the column {name!r} does not name its time system: taken as BJD_TDB")
        return TimeChoice(bjd, None, f"{name} (assumed BJD_TDB)", warnings)
    raise Refusal(
        "no_time_column",
        "no time column (BJD_TDB, JD_UTC, J.D.-2400000, HJD_UTC, BJD-2450000, BTJD...): not a light curve.",
    )

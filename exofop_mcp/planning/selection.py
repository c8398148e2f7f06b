"""Which TOIs to plan: the catalog's rows matching the search filters (and the named systems), as arrays.

One query over the cached catalog's narrow search table (the same ``WHERE`` as ``search_tois``).
Rows that cannot be planned are counted, not planned: single-transit TOIs (no period), and rows
without an epoch, a duration or coordinates.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np

from exofop_mcp.planning.ephemeris import Ephemerides
from exofop_mcp.site.toi_search import ToiFilters, toi_filter_sql

_COLUMNS = (
    "toi, tic, host, ra_deg, dec_deg, epoch_bjd, epoch_err_days, period_days, period_err_days, duration_hours, "
    "depth_ppm, depth_mmag, tess_mag, tfopwg_disposition, tess_disposition, sg1a_priority, sg1b_priority, "
    "time_series_count"
)


@dataclass
class Targets:
    """The plannable TOIs: their ephemerides as arrays, and what a reader needs to decide, as lists."""

    ephemerides: Ephemerides
    toi: list[str]
    tic: list[int]
    host: list[int | None]
    depth_ppm: list[float | None]
    depth_mmag: list[float | None]
    tess_mag: list[float | None]
    tfopwg_disposition: list[str | None]
    tess_disposition: list[str | None]
    sg1a_priority: list[int | None]
    sg1b_priority: list[int | None]
    time_series_count: list[int | None]
    single_transit: int = 0
    no_ephemeris: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.toi)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else np.nan


def select_targets(conn: sqlite3.Connection, filters: ToiFilters, tics: list[int] | None = None) -> Targets:
    """The catalog's TOIs matching ``filters`` (and, when given, belonging to one of ``tics``)."""
    where, args = toi_filter_sql(filters)
    if tics is not None:
        marks = ", ".join("?" for _ in tics) or "NULL"
        where = (where + " AND " if where else " WHERE ") + f"tic IN ({marks})"
        args = [*args, *tics]
    rows = conn.execute(f"SELECT {_COLUMNS} FROM toi_search{where} ORDER BY host, planet", args).fetchall()
    usable = []
    single = 0
    missing: list[str] = []
    for row in rows:
        period = _number(row[7])
        if not period > 0:
            single += 1
        elif not (np.isfinite(_number(row[5])) and _number(row[9]) > 0 and row[3] is not None and row[4] is not None):
            missing.append(str(row[0]))
        else:
            usable.append(row)

    def column(index: int) -> np.ndarray:
        return np.array([_number(r[index]) for r in usable], dtype=np.float64)

    ephemerides = Ephemerides(
        epoch=column(5),
        epoch_err=column(6),
        period=column(7),
        period_err=column(8),
        duration=column(9) / 24.0,
        ra_deg=column(3),
        dec_deg=column(4),
    )
    return Targets(
        ephemerides=ephemerides,
        toi=[str(r[0]) for r in usable],
        tic=[int(r[1]) for r in usable],
        host=[r[2] for r in usable],
        depth_ppm=[r[10] for r in usable],
        depth_mmag=[r[11] for r in usable],
        tess_mag=[r[12] for r in usable],
        tfopwg_disposition=[r[13] for r in usable],
        tess_disposition=[r[14] for r in usable],
        sg1a_priority=[r[15] for r in usable],
        sg1b_priority=[r[16] for r in usable],
        time_series_count=[r[17] for r in usable],
        single_transit=single,
        no_ephemeris=missing,
    )

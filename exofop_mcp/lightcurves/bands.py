"""Several light curves in one table: split by band, never merged into one light curve with a step.

Two shapes are met in real files.  AstroImageJ's "merged" tables suffix every column with its band
(``JD_UTC_B``, ``BJD_TDB_B``, ``rel_flux_T1_B``, ``rel_flux_T1_Z``...): each band becomes a table of
its own columns, unsuffixed.  Survey exports (ASAS-SN) hold one row per measurement with a text
``Filter`` column and a ``Camera`` column: the rows are split by band, and within a band each camera
is marked so that its flux is normalised on its own (cameras differ in zero point).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from exofop_mcp.lightcurves.reports import Refusal
from exofop_mcp.lightcurves.table_reading import TextTable
from exofop_mcp.lightcurves.time_systems import parse_time_name

MAX_BANDS = 12
_MERGED_FLUX = re.compile(r"^rel_flux_(?:err_)?T\d+(?:_(?:dfn|dn|n|d|f))?_(?P<band>[A-Za-z][A-Za-z0-9+']{0,5})$")
_PLAIN_FLUX = re.compile(r"^rel_flux_T\d+(?:_(?:dfn|dn|n))?$")
_BAND_COLUMNS = ("filter", "band", "passband", "filt")
_CAMERA_COLUMNS = ("camera", "cam")


@dataclass
class Part:
    """One light curve's share of a table: its band (None when the table has one) and its rows' groups."""

    band: str | None
    table: TextTable
    groups: np.ndarray | None = None  # per row: the camera, when several share the band
    notes: list[str] = field(default_factory=list)
    original: dict[str, str] = field(default_factory=dict)  # a column's name here → its name in the file

    def source(self, text: str) -> str:
        """``text`` (a time or flux source) with its column named as in the file (``BJD_TDB`` → ``BJD_TDB_B``)."""
        first = text.split(" ")[0]
        return self.original.get(first, first) + text[len(first) :]


def _merged_bands(table: TextTable) -> list[str]:
    """Bands of an AstroImageJ merged table: a suffix on a relative flux and on a time column.

    A table with an unsuffixed relative flux is no merged table: its suffixed columns (a band's own
    ``BJD_TDB_B`` beside it) are read with it, not split off.
    """
    fluxes = [name.strip() for name in table.names if name.lstrip().startswith("rel_flux_")]
    if any(_PLAIN_FLUX.match(name) for name in fluxes):
        return []
    candidates = {m.group("band") for name in fluxes if (m := _MERGED_FLUX.match(name))}
    bands = []
    for band in sorted(candidates):
        ending = f"_{band}"
        if any(name.endswith(ending) and parse_time_name(name[: -len(ending)]) is not None for name in table.names):
            bands.append(band)
    return bands


def _columns_of_band(table: TextTable, band: str, bands: list[str]) -> TextTable:
    suffixes = tuple(f"_{b}" for b in bands)
    own: dict[str, list[str]] = {}
    shared: dict[str, list[str]] = {}
    for name, cells in zip(table.names, table.cells, strict=True):
        if name.endswith(f"_{band}"):
            own[name[: -len(band) - 1]] = cells
        elif not name.endswith(suffixes):
            shared[name] = cells
    merged = {**{k: v for k, v in shared.items() if k not in own}, **own}
    return TextTable(
        list(merged), list(merged.values()), table.separator, table.has_header, table.decimal_comma, table.metadata
    )


def _original_names(table: TextTable, band: str) -> dict[str, str]:
    return {name[: -len(band) - 1]: name for name in table.names if name.endswith(f"_{band}")}


def _text_column(table: TextTable, names: tuple[str, ...]) -> list[str] | None:
    for name, cells in zip(table.names, table.cells, strict=True):
        if name.strip().lower() in names and not table.is_numeric(name):
            return [c.strip() for c in cells]
    return None


def _rows(table: TextTable, pick: np.ndarray) -> TextTable:
    index = np.flatnonzero(pick).tolist()
    cells = [[column[i] for i in index] for column in table.cells]
    return TextTable(list(table.names), cells, table.separator, table.has_header, table.decimal_comma, table.metadata)


def split_by_band(table: TextTable) -> list[Part]:
    """The table's light curves: one part per band (a table with one band gives one part)."""
    bands = _merged_bands(table)
    if bands:
        if len(bands) > MAX_BANDS:
            raise Refusal("too_many_bands", f"{len(bands)} bands in one table (at most {MAX_BANDS} are split).")
        return [
            Part(band, _columns_of_band(table, band, bands), original=_original_names(table, band)) for band in bands
        ]
    band_cells = _text_column(table, _BAND_COLUMNS)
    camera_cells = _text_column(table, _CAMERA_COLUMNS)
    if band_cells is None and camera_cells is None:
        return [Part(None, table)]
    band_values = np.array(band_cells if band_cells is not None else [""] * table.rows)
    distinct = [b for b in dict.fromkeys(band_values.tolist()) if b]
    if len(distinct) > MAX_BANDS:
        raise Refusal("too_many_bands", f"{len(distinct)} bands in one table (at most {MAX_BANDS} are split).")
    parts = []
    for band in distinct or [""]:
        pick = band_values == band
        part = _rows(table, pick) if len(distinct) > 1 else table
        groups = None
        if camera_cells is not None:
            cameras = np.array(camera_cells)[pick] if len(distinct) > 1 else np.array(camera_cells)
            if len(set(cameras.tolist())) > 1:
                groups = cameras
        parts.append(Part(band or None, part, groups))
    return parts


def normalise_groups(
    flux: np.ndarray, flux_err: np.ndarray, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each group (camera) divided by its own median flux: no step where the camera changes."""
    if groups is None:
        return flux, flux_err, []
    flux, flux_err = flux.copy(), flux_err.copy()
    names = sorted(set(groups.tolist()))
    for name in names:
        rows = groups == name
        good = rows & np.isfinite(flux)
        if not good.any():
            continue
        median = float(np.median(flux[good]))
        if median > 0:
            flux[rows] /= median
            flux_err[rows] /= median
    return flux, flux_err, [f"{len(names)} cameras ({', '.join(names)}): each normalised to its own median flux"]

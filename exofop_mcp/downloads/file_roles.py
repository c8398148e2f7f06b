"""Which files of a tag a reader wants first: light curves, measurement tables, plots, spectra, images.

A tag holds anything from two files to hundreds (an AstroImageJ upload: the measurement table, its plot,
a field image, aperture and plot configurations, notes).  Reports that cannot list every file name the
ones a person or an assistant opens first, by the role its name and folder give it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Literal, TypeVar

FileRole = Literal["light_curve", "measurements", "plot", "spectrum", "image", "notes", "other"]

#: Roles in the order a reader wants them.
ROLE_ORDER: tuple[FileRole, ...] = ("light_curve", "measurements", "plot", "spectrum", "image", "notes", "other")

_TABLES = {".tbl", ".csv", ".xls", ".xlsx", ".dat", ".tsv", ".lc", ".phot", ".ascii"}
_PLOTS = {".png", ".jpg", ".jpeg", ".gif", ".pdf", ".svg", ".eps", ".ps", ".bmp", ".tif", ".tiff"}
_FITS = {".fits", ".fit", ".fts", ".fz"}
_NOTE_WORDS = ("notes", "readme", "summary", "report")
#: Names of side files that look like tables but are not measurements.
_SIDE_WORDS = ("neb-table", "neb_table", "nebcheck", "dmagrms", "comp_star", "comparison", "apertures", "plotcfg")

T = TypeVar("T")


def file_role(path: str, kind: str | None = None) -> FileRole:
    """The role of a file of a system directory (``path`` relative to it) in a tag of ``kind``."""
    pure = PurePosixPath(path.lower())
    name, suffix = pure.name, pure.suffix
    if pure.parts and pure.parts[0] == "light_curves":
        return "light_curve" if suffix == ".ecsv" else "plot" if suffix in _PLOTS else "other"
    if suffix in _PLOTS:
        return "plot"
    if any(word in name for word in _NOTE_WORDS) and suffix in {".txt", ".md", ".pdf", ".doc", ".docx", ""}:
        return "notes"
    if suffix in _FITS or name.endswith((".fits.gz", ".fit.gz")):
        if kind == "spectroscopy":
            return "spectrum"
        return "image"
    if kind == "spectroscopy" and suffix in _TABLES | {".txt", ".spec", ".asc"}:
        return "spectrum"
    if any(word in name for word in _SIDE_WORDS):
        return "other"
    if suffix in _TABLES or (suffix == ".txt" and kind in ("time_series", None)):
        return "measurements"
    return "other"


#: Within a role, names with these words come first, in this order (the measurement table, the light-curve plot).
_PREFERRED_WORDS = (("measurement",), ("lightcurve", "light_curve", "light-curve"))


def first_wanted(items: Iterable[T], path_of: Callable[[T], str], kind: str | None = None) -> list[T]:
    """``items`` ordered as a reader wants them: by role (light curves, tables, plots, ...), then path."""

    def key(item: T) -> tuple[int, int, str]:
        path = path_of(item)
        name = PurePosixPath(path.lower()).name
        preferred = next(
            (i for i, words in enumerate(_PREFERRED_WORDS) if any(w in name for w in words)), len(_PREFERRED_WORDS)
        )
        return ROLE_ORDER.index(file_role(path, kind)), preferred, path

    return sorted(items, key=key)

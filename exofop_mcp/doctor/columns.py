"""The columns of ExoFOP's tables as documented, and how to name where a table differs from them."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from typing import Literal

from exofop_mcp.site.records import (
    ImagingObservation,
    SpectroscopyObservation,
    StellarCompanion,
    TableRecord,
    TimeSeriesObservation,
)

ObservationCheck = Literal["time_series", "spectroscopy", "imaging", "stellar_companions"]
OBSERVATION_RECORDS: dict[ObservationCheck, type[TableRecord]] = {
    "time_series": TimeSeriesObservation,
    "spectroscopy": SpectroscopyObservation,
    "imaging": ImagingObservation,
    "stellar_companions": StellarCompanion,
}


#: The observation tables' columns as documented (exofop-api.md, "Columns (pipe output)").
def _pipe(header: str) -> tuple[str, ...]:
    return tuple(header.split("|"))


DOCUMENTED_COLUMNS: dict[ObservationCheck, tuple[str, ...]] = {
    "time_series": _pipe(
        "TIC ID|TIC|TOI|Telescope|Camera|Filter|Pixel Scale|PSF|Phot Aperture Rad|Obs Date|Obs Duration|Num Obs"
        "|Obs Type|Transit Coverage|Delta Mag|User|Group|Tag|Notes"
    ),
    "spectroscopy": _pipe(
        "TIC ID|TIC|TOI|Telescope|Instrument|Spectral resolution|Wavelength coverage|SNR/resolution"
        "|SNR wavelength|Appropriate to PRV|Obs Date|User|Group|Tag|Notes"
    ),
    "imaging": _pipe(
        "TIC ID|TIC|TOI|Telescope|Instrument|Filter|Image Type|Pixel Scale|PSF|Contrast|Obs Date|User|Group|Tag|Notes"
    ),
    "stellar_companions": _pipe(
        "TIC ID|TOI|Separation (arcsec)|Separation (arcsec) Error|Pos Angle E of N (deg)"
        "|Pos Angle E of N (deg) Error|Filter|Delta Mag|Delta Mag Error|Observation Date (UT)|Date|User|Group|Tag"
        "|Notes"
    ),
}
KIND_OF: dict[type[TableRecord], ObservationCheck] = {record: kind for kind, record in OBSERVATION_RECORDS.items()}
#: TOI-table column that counts each observation kind (to tell "no rows" from "rows expected").
TOI_COUNT_FIELDS: dict[ObservationCheck, str] = {
    "time_series": "time_series_count",
    "spectroscopy": "spectroscopy_count",
    "imaging": "imaging_count",
}


def columns_text(columns: Sequence[str], limit: int = 24) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    more = f", … ({len(columns)} in all)" if len(columns) > limit else ""
    return f"{len(columns)} column{'s' if len(columns) != 1 else ''}: {shown}{more}"


def similar_column(name: str, header: Sequence[str], known: Collection[str]) -> str | None:
    """The header column that most likely replaced ``name`` (a renamed column), if any."""
    candidates = [h for h in header if h and h not in known]
    lowered = name.lower()
    containing = [h for h in candidates if lowered in h.lower() or h.lower() in lowered]
    if containing:
        return min(containing, key=lambda h: (abs(len(h) - len(name)), h))
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def missing_text(missing: Sequence[str], header: Sequence[str], known: Collection[str] = ()) -> str:
    """``'TIC ID' (renamed to 'TIC'?), 'TOI' (renamed to 'TOI Number'?)``."""
    parts = []
    for name in missing:
        similar = similar_column(name, header, {*known, *missing})
        parts.append(f"{name!r} (renamed to {similar!r}?)" if similar else repr(name))
    return ", ".join(parts)


def record_columns(record: type[TableRecord]) -> list[str]:
    """The columns a record model reads (its fields' ``validation_alias``)."""
    return [f.validation_alias for f in record.model_fields.values() if isinstance(f.validation_alias, str)]

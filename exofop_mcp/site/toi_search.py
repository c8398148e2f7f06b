"""Searching the whole TOI catalog: "which TOIs still need follow-up?".

The search runs on the cached catalog (:mod:`exofop_mcp.site.catalog`), one indexed SQLite
query over the stored TOI rows, so a warm answer takes milliseconds and makes no request to
ExoFOP while the cache is fresh.  Observation counts are the ones ExoFOP's TOI table gives
(they can differ from what ``list_observations`` finds in the observation tables).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from exofop_mcp.errors import ExofopResponseError
from exofop_mcp.result_pages import fit_page, json_size
from exofop_mcp.site.catalog import CatalogStatus, TOICatalog

MAX_LIMIT = 200
DEFAULT_LIMIT = 25
#: A page's JSON stays under this many bytes, whatever ``limit`` asks for.
PAGE_BUDGET_BYTES = 19_000

#: How TOIs sort among themselves: by host number, then by the planet's number after the dot.
_TOI_ORDER = ("host", "planet")
#: Sort keys and the SQL expression each one sorts by (numeric, missing values last).
_FIELDS = {
    "tess_mag": "tess_mag",
    "period_days": "period_days",
    "duration_hours": "duration_hours",
    "depth_ppm": "depth_ppm",
    "planet_radius_earth": "planet_radius_earth",
    "time_series_count": "COALESCE(time_series_count, 0)",
    "spectroscopy_count": "COALESCE(spectroscopy_count, 0)",
    "imaging_count": "COALESCE(imaging_count, 0)",
    "ra_deg": "ra_deg",
    "dec_deg": "dec_deg",
    "sg1a_priority": "sg1a_priority",
    "sg1b_priority": "sg1b_priority",
}
SortKey = Literal[
    "toi",
    "tess_mag",
    "period_days",
    "duration_hours",
    "depth_ppm",
    "planet_radius_earth",
    "time_series_count",
    "spectroscopy_count",
    "imaging_count",
    "ra_deg",
    "dec_deg",
    "sg1a_priority",
    "sg1b_priority",
    "-toi",
    "-tess_mag",
    "-period_days",
    "-duration_hours",
    "-depth_ppm",
    "-planet_radius_earth",
    "-time_series_count",
    "-spectroscopy_count",
    "-imaging_count",
    "-ra_deg",
    "-dec_deg",
    "-sg1a_priority",
    "-sg1b_priority",
]

#: The largest offset of a page, and the largest count a filter takes (more than the catalog has rows).
MAX_OFFSET = 10**6
MAX_COUNT = 10**6

Disposition = Annotated[str, Field(min_length=1, max_length=10, pattern=r"^[A-Za-z?]+$")]


class ToiFilters(BaseModel):
    """The catalog filters ``search_tois`` and ``plan_transits`` share: each optional, combined with AND."""

    model_config = ConfigDict(extra="forbid")

    tfopwg_disposition: Annotated[
        list[Disposition] | None,
        Field(
            description="TFOPWG dispositions to keep, any case (e.g. ['PC', 'APC']; CP, KP, FP, FA also exist)",
            examples=[["PC", "APC"]],
            max_length=20,
        ),
    ] = None
    tess_disposition: Annotated[
        list[Disposition] | None,
        Field(description="TESS project dispositions to keep (e.g. ['PC'])", examples=[["PC"]], max_length=20),
    ] = None
    tess_mag_min: Annotated[
        float | None, Field(description="TESS magnitude at least this (fainter)", allow_inf_nan=False)
    ] = None
    tess_mag_max: Annotated[
        float | None, Field(description="TESS magnitude at most this (brighter)", examples=[11.0], allow_inf_nan=False)
    ] = None
    period_min_days: Annotated[
        float | None, Field(description="orbital period at least this (days)", ge=0, allow_inf_nan=False)
    ] = None
    period_max_days: Annotated[
        float | None,
        Field(description="orbital period at most this (days)", ge=0, examples=[10.0], allow_inf_nan=False),
    ] = None
    depth_min_ppm: Annotated[
        float | None,
        Field(description="transit depth at least this (ppm)", ge=0, examples=[1000.0], allow_inf_nan=False),
    ] = None
    depth_max_ppm: Annotated[
        float | None, Field(description="transit depth at most this (ppm)", ge=0, allow_inf_nan=False)
    ] = None
    planet_radius_min_earth: Annotated[
        float | None, Field(description="planet radius at least this (Earth radii)", ge=0, allow_inf_nan=False)
    ] = None
    planet_radius_max_earth: Annotated[
        float | None,
        Field(description="planet radius at most this (Earth radii)", ge=0, examples=[4.0], allow_inf_nan=False),
    ] = None
    time_series_max: Annotated[
        int | None,
        Field(
            description="at most this many time-series observations, as the TOI table counts them", ge=0, le=MAX_COUNT
        ),
    ] = None
    spectroscopy_max: Annotated[
        int | None,
        Field(description="at most this many spectroscopy observations (TOI table counts)", ge=0, le=MAX_COUNT),
    ] = None
    imaging_max: Annotated[
        int | None, Field(description="at most this many imaging observations (TOI table counts)", ge=0, le=MAX_COUNT)
    ] = None
    ra_min_deg: Annotated[
        float | None,
        Field(
            description="right ascension at least this (degrees, 0-360); a minimum above the maximum wraps "
            "the box through 0h",
            ge=0,
            le=360,
        ),
    ] = None
    ra_max_deg: Annotated[
        float | None, Field(description="right ascension at most this (degrees, 0-360)", ge=0, le=360)
    ] = None
    dec_min_deg: Annotated[
        float | None, Field(description="declination at least this (degrees)", ge=-90, le=90, examples=[-60.0])
    ] = None
    dec_max_deg: Annotated[
        float | None,
        Field(description="declination at most this (degrees; e.g. what a site's latitude can see)", ge=-90, le=90),
    ] = None
    sg1a_priority_max: Annotated[
        int | None,
        Field(
            description="TFOP SG1A (seeing-limited photometry) priority at most this: 1 is the most urgent, 5 the "
            "least",
            ge=1,
            le=5,
            examples=[2],
        ),
    ] = None
    sg1b_priority_max: Annotated[
        int | None,
        Field(
            description="TFOP SG1B (high-precision photometry) priority at most this (1 most urgent, 5 least)",
            ge=1,
            le=5,
        ),
    ] = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        for low, high in (
            ("tess_mag_min", "tess_mag_max"),
            ("period_min_days", "period_max_days"),
            ("depth_min_ppm", "depth_max_ppm"),
            ("planet_radius_min_earth", "planet_radius_max_earth"),
            ("dec_min_deg", "dec_max_deg"),
        ):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ValueError(f"'{low}' ({a}) is above '{high}' ({b}), so nothing can match")
        return self

    def active(self) -> dict[str, str]:
        """The filters that were given, as text (for the answer's ``filters``)."""
        out: dict[str, str] = {}
        for name in ToiFilters.model_fields:
            value = getattr(self, name)
            if value is not None:
                out[name] = ",".join(value) if isinstance(value, list) else str(value)
        return out


class SearchToisRequest(ToiFilters):
    """Arguments of ``search_tois``: every filter is optional and they combine with AND."""

    sort_by: Annotated[
        SortKey,
        Field(description="order of the rows; a leading '-' sorts descending; missing values come last"),
    ] = "toi"
    limit: Annotated[int, Field(description="rows per page (a page also stays under ~20 kB)", ge=1, le=MAX_LIMIT)] = (
        DEFAULT_LIMIT
    )
    offset: Annotated[
        int, Field(description="rows to skip: pass the previous answer's next_offset", ge=0, le=MAX_OFFSET)
    ] = 0


class ToiRow(BaseModel):
    """One planet candidate of the catalog."""

    toi: str = Field(description="planet candidate, e.g. '1130.01'")
    tic_id: int
    system: str = Field(description="canonical system name (for list_observations and download_tags)")
    tfopwg_disposition: str | None = None
    tess_disposition: str | None = None
    period_days: float | None = None
    duration_hours: float | None = None
    depth_ppm: float | None = None
    planet_radius_earth: float | None = None
    tess_mag: float | None = None
    ra_deg: float | None = None
    dec_deg: float | None = None
    time_series_count: int | None = Field(None, description="time-series observations (TOI table count)")
    spectroscopy_count: int | None = Field(None, description="spectroscopy observations (TOI table count)")
    imaging_count: int | None = Field(None, description="imaging observations (TOI table count)")
    sg1a_priority: int | None = Field(None, description="TFOP SG1A priority (1 most urgent, 5 least)")
    sg1b_priority: int | None = Field(None, description="TFOP SG1B priority (1 most urgent, 5 least)")


class ToiSearchResult(BaseModel):
    """One page of the TOIs matching a search."""

    total: int = Field(description="TOIs matching the filters, over all pages")
    offset: int
    returned: int = Field(description="rows on this page")
    next_offset: int | None = Field(None, description="offset of the next page; null on the last page")
    sort_by: str
    filters: dict[str, str] = Field(default_factory=dict, description="the filters that were applied")
    rows: list[ToiRow] = Field(default_factory=list)
    catalog: CatalogStatus | None = Field(None, description="age and origin of the TOI catalog searched")
    notes: list[str] = Field(default_factory=list)


def toi_filter_sql(request: ToiFilters) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (with its arguments) of the filters, over the catalog's ``toi_search`` table."""
    clauses: list[str] = []
    args: list[object] = []
    for name in ("tfopwg_disposition", "tess_disposition"):
        values = getattr(request, name)
        if values:
            marks = ", ".join("?" for _ in values)
            clauses.append(f"{name} IN ({marks})")
            args.extend(v.upper() for v in values)
    for low, high, column in (
        ("tess_mag_min", "tess_mag_max", "tess_mag"),
        ("period_min_days", "period_max_days", "period_days"),
        ("depth_min_ppm", "depth_max_ppm", "depth_ppm"),
        ("planet_radius_min_earth", "planet_radius_max_earth", "planet_radius_earth"),
        ("dec_min_deg", "dec_max_deg", "dec_deg"),
    ):
        expression = column
        if getattr(request, low) is not None:
            clauses.append(f"{expression} >= ?")
            args.append(getattr(request, low))
        if getattr(request, high) is not None:
            clauses.append(f"{expression} <= ?")
            args.append(getattr(request, high))
    for name, column in (
        ("time_series_max", "time_series_count"),
        ("spectroscopy_max", "spectroscopy_count"),
        ("imaging_max", "imaging_count"),
    ):
        if getattr(request, name) is not None:
            clauses.append(f"COALESCE({column}, 0) <= ?")
            args.append(getattr(request, name))
    for name, column in (("sg1a_priority_max", "sg1a_priority"), ("sg1b_priority_max", "sg1b_priority")):
        if getattr(request, name) is not None:
            clauses.append(f"{column} <= ?")
            args.append(getattr(request, name))
    ra_low, ra_high = request.ra_min_deg, request.ra_max_deg
    if ra_low is not None and ra_high is not None and ra_low > ra_high:  # the box wraps through 0h
        clauses.append("(ra_deg >= ? OR ra_deg <= ?)")
        args.extend((ra_low, ra_high))
    else:
        if ra_low is not None:
            clauses.append("ra_deg >= ?")
            args.append(ra_low)
        if ra_high is not None:
            clauses.append("ra_deg <= ?")
            args.append(ra_high)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


_ROW_KEYS = (
    "tfopwg_disposition",
    "tess_disposition",
    "period_days",
    "duration_hours",
    "depth_ppm",
    "planet_radius_earth",
    "tess_mag",
    "time_series_count",
    "spectroscopy_count",
    "imaging_count",
    "sg1a_priority",
    "sg1b_priority",
)


def query_catalog(conn: sqlite3.Connection, request: SearchToisRequest) -> tuple[int, Iterator[ToiRow]]:
    """The total of matching TOIs and the rows of the requested page, read as they are consumed."""
    where, args = toi_filter_sql(request)
    key = request.sort_by.lstrip("-")
    direction = "DESC" if request.sort_by.startswith("-") else "ASC"
    if key == "toi":
        order = ", ".join(f"{part} {direction}" for part in _TOI_ORDER)
    else:
        expression = _FIELDS[key]
        order = f"({expression}) IS NULL, {expression} {direction}, " + ", ".join(_TOI_ORDER)
    total = int(conn.execute(f"SELECT COUNT(*) FROM toi_search{where}", args).fetchone()[0])
    sql = (
        f"SELECT toi, tic, host, ra_deg, dec_deg, {', '.join(_ROW_KEYS)} FROM toi_search{where} "
        f"ORDER BY {order} LIMIT ? OFFSET ?"
    )
    cursor = conn.execute(sql, [*args, request.limit, request.offset])

    def rows() -> Iterator[ToiRow]:
        for toi, tic, host, ra, dec, *values in cursor:
            yield ToiRow(
                toi=toi,
                tic_id=tic,
                system=f"TOI-{host}" if host else f"TIC-{tic}",
                ra_deg=ra,
                dec_deg=dec,
                **dict(zip(_ROW_KEYS, values, strict=True)),
            )

    return total, rows()


async def search_tois(catalog: TOICatalog, request: SearchToisRequest) -> ToiSearchResult:
    """Search the cached TOI catalog (refreshed first only when it is missing or out of date)."""
    status = await catalog.ensure()
    conn = catalog.connection()
    if conn is None:  # pragma: no cover - ensure() leaves a usable cache or raises
        raise ExofopResponseError("The TOI catalog cache could not be opened.", hint="Try again in a moment.")
    total, rows = query_catalog(conn, request)
    result = ToiSearchResult(
        total=total,
        offset=request.offset,
        returned=0,
        sort_by=request.sort_by,
        filters=request.active(),
        catalog=status,
    )
    if status.stale:
        result.notes.append(f"ExoFOP could not be reached; this is the catalog of {status.age_hours:.1f} h ago.")
    if request.offset >= total and total:
        result.notes.append(f"offset {request.offset} is past the last row ({total} TOIs match).")
    kept, cut = fit_page(rows, json_size(result) + 300, PAGE_BUDGET_BYTES, separator=2)
    end = request.offset + len(kept)
    if cut:
        result.notes.append(f"Page cut to {len(kept)} rows to stay under ~20 kB; ask for the rest with offset={end}.")
    result.rows = kept
    result.returned = len(kept)
    result.next_offset = end if end < total else None
    return result

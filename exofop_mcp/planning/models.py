"""The planner's request and its answer: the single source of ``plan_transits``'s schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from exofop_mcp.site.catalog import CatalogStatus
from exofop_mcp.site.toi_search import ToiFilters

MAX_NIGHTS = 60
MAX_LIMIT = 200
DEFAULT_LIMIT = 25
MAX_SYSTEMS = 50

PlanSortKey = Literal[
    "time",
    "toi",
    "sg1a_priority",
    "sg1b_priority",
    "tess_mag",
    "depth_ppm",
    "-depth_ppm",
    "-observable_fraction",
    "mid_uncertainty_minutes",
    "-max_altitude_deg",
]

SystemName = Annotated[str, Field(min_length=1, max_length=100)]


class PlanTransitsRequest(ToiFilters):
    """Arguments of ``plan_transits``: a site, a span of nights, the targets, and what counts as observable."""

    observatory: Annotated[
        str | None,
        Field(
            description="a named site, e.g. 'lco-ctio', 'muscat2', 'trappist-north', 'el-sauce' (the README "
            "lists them); or give latitude_deg, longitude_deg and elevation_m",
            max_length=100,
            examples=["lco-ctio"],
        ),
    ] = None
    latitude_deg: Annotated[
        float | None, Field(description="site latitude (degrees, north positive)", ge=-90, le=90)
    ] = None
    longitude_deg: Annotated[
        float | None, Field(description="site longitude (degrees, EAST positive)", ge=-180, le=360)
    ] = None
    elevation_m: Annotated[float | None, Field(description="site elevation (metres)", ge=-500, le=9000)] = None
    timezone: Annotated[
        str | None,
        Field(
            description="IANA time zone for local times at a site given by coordinates (e.g. 'America/Santiago')",
            max_length=64,
            pattern=r"^[A-Za-z0-9_+\-/]+$",
        ),
    ] = None
    start_date: Annotated[
        dt.date, Field(description="the evening of the first night, the site's local date (YYYY-MM-DD)")
    ]
    nights: Annotated[int, Field(description="how many nights from the start date", ge=1, le=MAX_NIGHTS)] = 1
    systems: Annotated[
        list[SystemName] | None,
        Field(
            description="only these systems (any name of a TOI or star: TOI-1130, TIC 254113311, WASP-126); "
            "the filters still apply",
            max_length=MAX_SYSTEMS,
            examples=[["TOI-1130", "TOI-700"]],
        ),
    ] = None
    min_altitude_deg: Annotated[
        float, Field(description="the target counts as observable at or above this altitude (degrees)", ge=0, le=89)
    ] = 30.0
    sun_altitude_deg: Annotated[
        float,
        Field(description="night: the Sun below this altitude (degrees; -12 nautical, -18 astronomical)", ge=-30, le=0),
    ] = -12.0
    baseline_minutes: Annotated[
        float,
        Field(description="out-of-transit baseline wanted before ingress and after egress (minutes)", ge=0, le=600),
    ] = 30.0
    min_observable_fraction: Annotated[
        float,
        Field(
            description="keep transits with at least this fraction of ingress-to-egress observable "
            "(0 keeps every transit of the span, daytime ones too)",
            ge=0,
            le=1,
        ),
    ] = 0.5
    sort_by: Annotated[PlanSortKey, Field(description="order of the events; a leading '-' puts the largest first")] = (
        "time"
    )
    chart: Annotated[
        bool,
        Field(
            description="draw a PNG per event of this page (altitude over the night, twilight, the transit "
            "window and its uncertainty, the baseline, the Moon); preview it with preview_file"
        ),
    ] = False
    limit: Annotated[int, Field(description="events per page (a page also stays under ~20 kB)", ge=1, le=MAX_LIMIT)] = (
        DEFAULT_LIMIT
    )
    offset: Annotated[int, Field(description="events to skip: pass the previous answer's next_offset", ge=0)] = 0

    @model_validator(mode="after")
    def _site_given_once(self) -> Self:
        coordinates = (self.latitude_deg, self.longitude_deg, self.elevation_m)
        given = [c is not None for c in coordinates]
        if self.observatory and any(given):
            raise ValueError("give either 'observatory' or latitude_deg/longitude_deg/elevation_m, not both")
        if not self.observatory and not all(given):
            raise ValueError(
                "give 'observatory' (a site name) or all three of latitude_deg, longitude_deg and elevation_m"
            )
        return self


class TransitEvent(BaseModel):
    """One predicted transit seen from the site."""

    night: dt.date = Field(description="the local date of the evening of the night it falls in")
    toi: str
    tic_id: int
    system: str = Field(description="canonical system name (for list_observations, download_tags, preview_file)")
    cycle: int = Field(description="transits since the catalog's epoch")
    mid_bjd_tdb: float = Field(description="predicted mid-transit, BJD_TDB")
    mid_utc: dt.datetime
    ingress_utc: dt.datetime
    egress_utc: dt.datetime
    mid_local: str | None = Field(None, description="mid-transit in the site's local time (when its zone is known)")
    mid_uncertainty_minutes: float | None = Field(
        None, description="1-sigma of the mid-time from the epoch and period errors over the elapsed cycles"
    )
    ephemeris_stale: bool = Field(description="the mid-time's uncertainty exceeds the transit's duration")
    altitude_deg: list[float] = Field(description="target altitude at ingress, mid, egress (geometric, degrees)")
    airmass: list[float | None] = Field(description="sec(z) at ingress, mid, egress (null below the horizon)")
    sun_altitude_deg: float = Field(description="the Sun's altitude at mid-transit")
    observable_fraction: float = Field(description="fraction of ingress-to-egress above min_altitude_deg at night")
    baseline_before_fraction: float | None = Field(None, description="same, for the baseline before ingress")
    baseline_after_fraction: float | None = Field(None, description="same, for the baseline after egress")
    coverage: Literal["full", "ingress", "egress", "partial", "none"] = Field(
        description="what of the transit is observable: all, from ingress, to egress, a middle part, nothing"
    )
    observable_from_utc: dt.datetime | None = Field(None, description="first observable moment of transit+baseline")
    observable_until_utc: dt.datetime | None = Field(None, description="last observable moment of transit+baseline")
    moon_separation_deg: float
    moon_illumination: float = Field(description="illuminated fraction of the Moon (0 new, 1 full)")
    duration_hours: float
    period_days: float
    depth_ppm: float | None = None
    depth_mmag: float | None = None
    tess_mag: float | None = None
    tfopwg_disposition: str | None = None
    tess_disposition: str | None = None
    sg1a_priority: int | None = Field(None, description="TFOP SG1A priority (1 most urgent)")
    sg1b_priority: int | None = Field(None, description="TFOP SG1B priority (1 most urgent)")
    time_series_count: int | None = Field(None, description="time-series observations on ExoFOP (TOI table count)")
    chart: str | None = Field(None, description="PNG of the night, relative to the system's folder (preview_file)")


class NightSummary(BaseModel):
    """One night of the span at the site."""

    night: dt.date
    dusk_utc: dt.datetime | None = Field(None, description="the Sun sinks below sun_altitude_deg (null: never)")
    dawn_utc: dt.datetime | None = Field(None, description="the Sun rises above sun_altitude_deg (null: never)")
    dark_hours: float
    moon_illumination: float = Field(description="at local midnight")


class SiteSummary(BaseModel):
    name: str
    key: str | None = None
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    timezone: str | None = None
    source: str


class PlanTransitsResult(BaseModel):
    """One page of the transits observable from a site over the span."""

    site: SiteSummary
    start_date: dt.date
    last_night: dt.date = Field(description="the evening's date of the last night of the span")
    nights: list[NightSummary] = Field(default_factory=list, description="the first nights of the span (at most 7)")
    total: int = Field(description="events kept over all pages")
    offset: int
    returned: int
    next_offset: int | None = None
    sort_by: str
    filters: dict[str, str] = Field(default_factory=dict)
    constraints: dict[str, float] = Field(default_factory=dict, description="min_altitude_deg, sun_altitude_deg, ...")
    targets: int = Field(description="TOIs with an ephemeris that were planned")
    transits_in_span: int = Field(description="their transits in the span, before min_observable_fraction")
    events: list[TransitEvent] = Field(default_factory=list)
    catalog: CatalogStatus | None = None
    notes: list[str] = Field(default_factory=list)

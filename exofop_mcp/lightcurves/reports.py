"""The models of an extraction's answer: one entry per light curve or refused file, totals, paging."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from exofop_mcp.downloads.job_registry import JobState
from exofop_mcp.downloads.request_models import MAX_WAIT_SECONDS, not_a_bool
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.lightcurves.fit_results import FitSummary, TransitFit
from exofop_mcp.site.observations import DEFAULT_LIMIT, MAX_LIMIT

EntryStatus = Literal["extracted", "already_extracted", "failed", "skipped"]


class Refusal(ExofopMcpError):
    """A file that yields no light curve: a short reason code and a sentence saying why."""

    code = "refused"

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class ExtractLightCurvesRequest(BaseModel):
    """Arguments of ``extract_light_curves``."""

    system: Annotated[
        str,
        Field(
            description="the system (anything resolve_system accepts) whose downloaded time-series tags to read",
            examples=["TOI-1130"],
            min_length=1,
            max_length=200,
        ),
    ]
    tags: Annotated[
        list[Annotated[int, Field(ge=1, le=10**9), BeforeValidator(not_a_bool)]] | None,
        Field(
            description="only these downloaded time-series tags; omit for every one of the system",
            max_length=1000,
            examples=[[18598, 19121]],
        ),
    ] = None
    overwrite: Annotated[
        bool, Field(description="extract again even when the source file is unchanged since the last run")
    ] = False
    plots: Annotated[
        bool, Field(description="draw a PNG plot beside each light curve (default true); false for tables only")
    ] = True
    wait_seconds: Annotated[
        float,
        Field(
            description="answer after at most this long; a longer run goes on: poll extraction_status",
            ge=0,
            le=MAX_WAIT_SECONDS,
            allow_inf_nan=False,
        ),
    ] = 40.0
    limit: Annotated[
        int, Field(description="entries per page of the report (totals always cover everything)", ge=1, le=MAX_LIMIT)
    ] = DEFAULT_LIMIT
    offset: Annotated[
        int, Field(description="entries to skip: pass the previous report's next_offset", ge=0, le=10**6)
    ] = 0


class ExtractionStatusRequest(BaseModel):
    """Arguments of ``extraction_status``."""

    job_id: Annotated[
        str,
        Field(description="the job_id from extract_light_curves", min_length=1, max_length=64, pattern=r"^[0-9a-f]+$"),
    ]
    wait_seconds: Annotated[
        float,
        Field(
            description="wait up to this long for the job to finish before reporting",
            ge=0,
            le=MAX_WAIT_SECONDS,
            allow_inf_nan=False,
        ),
    ] = 30.0
    limit: Annotated[int, Field(description="entries per page of the report", ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[
        int, Field(description="entries to skip: pass the previous report's next_offset", ge=0, le=10**6)
    ] = 0


class LightCurveEntry(BaseModel):
    """One light curve extracted from a table, or one file that gave none (with the reason)."""

    tag: int
    source_file: str = Field(description="relative to the system directory; a zip member as 'archive.zip!member'")
    status: EntryStatus
    reason: str | None = Field(None, description="short code for failed or skipped files, e.g. 'excel_binary'")
    message: str | None = Field(None, description="what went wrong and what to do, for failed or skipped files")
    ecsv: str | None = Field(None, description="the standardised light curve, relative to the system directory")
    png: str | None = Field(None, description="its plot, relative to the system directory")
    rows: int | None = None
    time_start_bjd_tdb: float | None = None
    time_end_bjd_tdb: float | None = None
    span_hours: float | None = None
    cadence_seconds: float | None = Field(None, description="median time between exposures")
    filter: str | None = None
    observatory: str | None = None
    obs_date: str | None = None
    planet: str | None = Field(None, description="the planet candidate whose transit window the plot marks")
    time_source: str | None = Field(None, description="the column the times came from and how they were converted")
    flux_source: str | None = Field(None, description="the column the flux came from; 'raw' when not normalised")
    warnings: list[str] = Field(default_factory=list)
    fit: TransitFit | None = Field(
        None, description="the transit fitted to the light curve against the TOI's ephemeris and TESS depth"
    )


class ExtractionReport(BaseModel):
    """The state of an extraction and one page of its entries."""

    job_id: str = Field(description="pass to extraction_status")
    state: JobState = Field(description="running: poll extraction_status; completed; cancelled; failed")
    system: str
    tic_id: int
    directory: str = Field(description="absolute path of the system's directory")
    tags: list[int] = Field(default_factory=list, description="the time-series tags read")
    tags_done: int = 0
    totals: dict[str, int] = Field(default_factory=dict, description="entries per status, over the whole run")
    light_curves: int = Field(0, description="light curves on disk after the run (extracted + already extracted)")
    sidecars: int = Field(0, description="plots, notes, images, plot configs and aperture files left alone")
    entries_total: int = 0
    offset: int = 0
    returned: int = 0
    next_offset: int | None = Field(None, description="pass as offset for the next page of entries")
    elapsed_seconds: float = 0.0
    results: list[LightCurveEntry] = Field(default_factory=list)
    fit_summary: FitSummary | None = Field(
        None, description="the transit fits of every light curve of the run: on time, early, late, depths by filter"
    )
    message: str

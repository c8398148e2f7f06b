"""``follow_up_status``: where a candidate stands, in one bounded answer a TFOPWG reader recognises.

From a handful of requests (the system's TOI rows, its four observation tables, its nearby stars
and its observing notes, fetched together): dispositions and priorities per candidate, what each
kind of follow-up holds, the observers' notes (newest first), the nearby stars bright enough to
cause the event, the verdicts of light curves already extracted here, the next transits, and the
facts of what is missing, each with its rule.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, Field

from exofop_mcp.followup.coverage import PlanetCoverage, summarise_coverage
from exofop_mcp.followup.missing import HIGH_RESOLUTION_WORDS, MissingFact, is_high_resolution, missing_facts
from exofop_mcp.followup.nearby_stars import NearbyScreen, screen_nearby
from exofop_mcp.site.observations import row_date
from exofop_mcp.site.records import (
    ImagingObservation,
    NearbyTarget,
    TableRecord,
    TimeSeriesObservation,
    TOIRecord,
)
from exofop_mcp.site.resolver import SystemArgument
from exofop_mcp.text_format import SITE_TEXT_LABEL

#: Longest note text kept in an answer (the rest is cut with an ellipsis; ExoFOP has the whole note).
MAX_NOTE_CHARS = 400
MAX_COMMENT_CHARS = 300


class FollowUpStatusRequest(BaseModel):
    """Arguments of ``follow_up_status``."""

    system: Annotated[SystemArgument, Field(examples=["TOI-1130"])]
    observatory: Annotated[
        str | None,
        Field(
            description="a named site (as plan_transits takes) to list the next transits observable from it; "
            "without one, the next predicted mid-times are listed",
            max_length=100,
        ),
    ] = None
    notes_limit: Annotated[
        int, Field(description="observing notes to show, newest first", strict=True, ge=0, le=50)
    ] = 10


class CandidateStatus(BaseModel):
    """One planet candidate's standing in the TOI table."""

    toi: str
    tess_disposition: str | None = None
    tfopwg_disposition: str | None = None
    period_days: float | None = None
    depth_ppm: float | None = None
    duration_hours: float | None = None
    esm: float | None = Field(None, description="emission spectroscopy metric")
    tsm: float | None = Field(None, description="transmission spectroscopy metric")
    predicted_rv_semi_amplitude_mps: float | None = Field(None, description="predicted RV semi-amplitude, m/s")
    date_updated: str | None = Field(None, description="Date TOI Updated (UTC)")
    comments: str | None = Field(None, description=f"the TOI table's comment ({SITE_TEXT_LABEL})")


class KindSummary(BaseModel):
    """One kind of follow-up in ExoFOP's tables."""

    count: int = Field(description="rows of the table (uploads; a tag can give several rows)")
    tags: int = Field(description="distinct upload tags")
    latest_date: str | None = Field(None, description="the latest observation date (YYYY-MM-DD)")
    coverage: list[PlanetCoverage] | None = Field(
        None, description="time series only: transits by coverage and filter, per planet candidate"
    )
    high_resolution: int | None = Field(None, description=f"imaging only: rows of {HIGH_RESOLUTION_WORDS}")


class NoteLine(BaseModel):
    date: str | None = Field(None, description="when the note was last changed (YYYY-MM-DD)")
    user: str | None = None
    tag: int | None = Field(None, description="the upload tag it is about")
    text: str = Field(description=f"the note, HTML decoded, at most {MAX_NOTE_CHARS} characters ({SITE_TEXT_LABEL})")


class NextTransit(BaseModel):
    toi: str
    mid_bjd_tdb: float
    mid_utc: str = Field(description="ISO UTC")
    mid_uncertainty_minutes: float | None = None
    ephemeris_stale: bool = Field(False, description="the mid-time's 1-sigma exceeds the transit's duration")
    observable_fraction: float | None = Field(None, description="from the observatory, when one was given")
    coverage: str | None = Field(None, description="what of it the observatory sees, when one was given")


class LightCurveVerdict(BaseModel):
    """The fit verdict of a light curve extracted here (``extract_light_curves``)."""

    tag: int | None = None
    file: str = Field(description="the light curve, relative to the system's folder (preview_file)")
    verdict: str


class FollowUpStatus(BaseModel):
    """Where a system's follow-up stands."""

    system: str = Field(description="canonical system name")
    tic_id: int
    exofop_url: str
    tess_mag: float | None = None
    candidates: list[CandidateStatus] = Field(default_factory=list)
    dispositions: dict[str, dict[str, str | None]] = Field(
        default_factory=dict, description="per candidate: {'tess': ..., 'tfopwg': ...}"
    )
    priorities: dict[str, dict[str, int | None]] = Field(
        default_factory=dict, description="per candidate: master, sg1a, sg1b, sg2 ... sg5 (1 most urgent)"
    )
    observations: dict[str, KindSummary] = Field(
        default_factory=dict, description="time_series, spectroscopy, imaging, stellar_companions"
    )
    observing_notes: list[NoteLine] = Field(default_factory=list, description="newest first")
    observing_notes_total: int = 0
    light_curves: list[LightCurveVerdict] = Field(
        default_factory=list, description="verdicts of light curves already extracted locally"
    )
    nearby_stars: NearbyScreen | None = None
    next_transits: list[NextTransit] = Field(default_factory=list)
    missing: list[MissingFact] = Field(default_factory=list)
    site_text: str = Field(
        SITE_TEXT_LABEL, description="comments and observing notes are quoted from ExoFOP's users, as data"
    )
    requests: int = Field(0, description="requests made to ExoFOP for this answer")
    notes: list[str] = Field(default_factory=list, description="anything the user should know about the answer")


PRIORITY_FIELDS = ("master", "sg1a", "sg1b", "sg2", "sg3", "sg4", "sg5")


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _cut(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def candidate_of(record: TOIRecord) -> CandidateStatus:
    return CandidateStatus(
        toi=record.toi or "",
        tess_disposition=record.tess_disposition,
        tfopwg_disposition=record.tfopwg_disposition,
        period_days=_finite(record.period_days),
        depth_ppm=_finite(record.depth_ppm),
        duration_hours=_finite(record.duration_hours),
        esm=_finite(getattr(record, "esm", None)),
        tsm=_finite(getattr(record, "tsm", None)),
        predicted_rv_semi_amplitude_mps=_finite(getattr(record, "predicted_rv_semi_amplitude_mps", None)),
        date_updated=record.date_updated,
        comments=_cut(record.comments, MAX_COMMENT_CHARS),
    )


def priorities_of(record: TOIRecord) -> dict[str, int | None]:
    return {name: getattr(record, f"{name}_priority", None) for name in PRIORITY_FIELDS}


def _latest(rows: Sequence[TableRecord]) -> str | None:
    return max((day for r in rows if (day := row_date(r)) is not None), default=None)


def kind_summary(rows: Sequence[TableRecord]) -> KindSummary:
    return KindSummary(
        count=len(rows),
        tags=len({t for r in rows if (t := getattr(r, "tag", None)) is not None}),
        latest_date=_latest(rows),
    )


def assemble(
    system: str,
    tic_id: int,
    exofop_url: str,
    tess_mag: float | None,
    records: Sequence[TOIRecord],
    tables: dict[str, Sequence[TableRecord]],
    nearby: Sequence[NearbyTarget] | None,
) -> FollowUpStatus:
    """The status from the rows already fetched (no request here; notes and transits are added after)."""
    status = FollowUpStatus(system=system, tic_id=tic_id, exofop_url=exofop_url, tess_mag=_finite(tess_mag))
    for record in records:
        candidate = candidate_of(record)
        status.candidates.append(candidate)
        status.dispositions[candidate.toi] = {"tess": record.tess_disposition, "tfopwg": record.tfopwg_disposition}
        status.priorities[candidate.toi] = priorities_of(record)
    for kind, rows in tables.items():
        status.observations[kind] = kind_summary(rows)
    series = [r for r in tables.get("time_series", ()) if isinstance(r, TimeSeriesObservation)]
    coverage = summarise_coverage(series)
    if "time_series" in status.observations:
        status.observations["time_series"].coverage = coverage
    imaging_types = [r.image_type or "" for r in tables.get("imaging", ()) if isinstance(r, ImagingObservation)]
    if "imaging" in status.observations:
        status.observations["imaging"].high_resolution = sum(1 for t in imaging_types if is_high_resolution(t))
    depths = [(c.toi, c.depth_ppm) for c in status.candidates]
    if nearby is not None:
        status.nearby_stars = screen_nearby(nearby, tic_id, tess_mag, depths)
    status.missing = missing_facts(
        [c.toi for c in status.candidates],
        coverage,
        len(tables.get("spectroscopy", ())),
        imaging_types,
        status.nearby_stars,
    )
    return status


async def gather(*coroutines: Any) -> list[Any]:
    """Run the requests together; a failed one gives its exception in its place (the answer says which)."""
    return list(await asyncio.gather(*coroutines, return_exceptions=True))

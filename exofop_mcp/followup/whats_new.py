"""``whats_new``: what changed since a date on a list of systems (the watch list by default).

Per system, from the tables ``follow_up_status`` also reads (cached, so both together cost one set of
requests): new time-series, spectroscopy and imaging rows (by observation date: ExoFOP's observation
tables carry no upload date), new or edited observing notes (``Lastmod``), and the TOI table's own
changes (``Date TOI Updated``, ``Date Modified``, dispositions against the copy seen last time).
Over the whole catalog: TOIs alerted since the date that match a saved search.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from exofop_mcp.site.records import TableRecord, TOIRecord

#: New TOIs listed at most per saved search (the newest first).
MAX_NEW_TOIS = 100

ChangeKind = Literal["time_series", "spectroscopy", "imaging", "observing_note", "toi_update", "new_toi"]
MAX_SYSTEMS = 100
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class WhatsNewRequest(BaseModel):
    """Arguments of ``whats_new``."""

    since: Annotated[dt.date, Field(description="report changes on or after this date (YYYY-MM-DD)")]
    systems: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]] | None,
        Field(
            description="systems to look at (anything resolve_system accepts); default: the watch list",
            max_length=MAX_SYSTEMS,
        ),
    ] = None
    limit: Annotated[int, Field(description="changes per page", strict=True, ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[
        int, Field(description="changes to skip: the previous page's next_offset", strict=True, ge=0, le=1_000_000)
    ] = 0


class Change(BaseModel):
    system: str
    kind: ChangeKind
    date: str = Field(description="YYYY-MM-DD: observation date, note's Lastmod, or the TOI table's date")
    tag: int | None = None
    toi: str | None = None
    summary: str


class SystemProblem(BaseModel):
    system: str
    error: str = Field(description="why this system could not be looked at (the others were)")


class WhatsNew(BaseModel):
    since: dt.date
    systems: list[str] = Field(default_factory=list, description="the systems looked at")
    source: Literal["arguments", "watch_list"]
    total: int = Field(description="changes over all pages")
    offset: int = 0
    returned: int = 0
    next_offset: int | None = None
    counts: dict[str, int] = Field(default_factory=dict, description="changes by kind, over all pages")
    changes: list[Change] = Field(default_factory=list, description="newest first")
    problems: list[SystemProblem] = Field(default_factory=list)
    requests: int = Field(0, description="requests made to ExoFOP for this answer")
    seconds: float = Field(0.0, description="wall time of the answer")
    notes: list[str] = Field(default_factory=list)


def _day(value: str | None) -> str | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    day = value[:10]
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        return None
    return day


def observation_changes(system: str, kind: ChangeKind, rows: Sequence[TableRecord], since: str) -> list[Change]:
    """A change per tag observed on or after ``since`` (a tag's rows are one upload)."""
    by_tag: dict[tuple[int | None, str], list[TableRecord]] = {}
    for row in rows:
        day = _day(getattr(row, "obs_date", None))
        if day is None or day < since:
            continue
        by_tag.setdefault((getattr(row, "tag", None), day), []).append(row)
    changes = []
    for (tag, day), tag_rows in by_tag.items():
        first = tag_rows[0]
        where = (getattr(first, "telescope", None) or "?").strip()
        user = getattr(first, "user", None) or "?"
        filters = sorted({f.strip() for r in tag_rows if (f := getattr(r, "filter", None))})
        detail = f" in {', '.join(filters)}" if filters else ""
        coverage = getattr(first, "transit_coverage", None)
        extra = f", {coverage.strip().lower()} coverage" if coverage else ""
        label = kind.replace("_", "-")
        changes.append(
            Change(
                system=system,
                kind=kind,
                date=day,
                tag=tag,
                toi=getattr(first, "toi", None),
                summary=f"new {label} upload by {user}: {where}{detail}{extra} (observed {day})",
            )
        )
    return changes


def toi_changes(
    system: str, records: Sequence[TOIRecord], since: str, seen: dict[str, str] | None
) -> tuple[list[Change], dict[str, str]]:
    """Changes of the system's TOI rows, and the dispositions to remember for next time."""
    changes = []
    now_seen: dict[str, str] = {}
    for record in records:
        toi = record.toi or "?"
        disposition = f"{record.tfopwg_disposition or '-'}/{record.tess_disposition or '-'}"
        now_seen[toi] = disposition
        alerted = _day(record.date_alerted)
        if alerted and alerted >= since:
            changes.append(
                Change(system=system, kind="new_toi", date=alerted, toi=toi, summary=f"TOI {toi} alerted {alerted}")
            )
            continue
        before = (seen or {}).get(toi)
        updated = _day(record.date_updated)
        modified = _day(record.date_modified)
        if before is not None and before != disposition:
            day, what = (
                modified or updated or since,
                f"disposition (TFOPWG/TESS) changed from {before} to {disposition}",
            )
        elif updated and updated >= since:
            day, what = updated, f"updated {updated} (disposition {disposition})"
        elif modified and modified >= since:
            day, what = modified, f"row modified {modified}"
        else:
            continue
        changes.append(Change(system=system, kind="toi_update", date=day, toi=toi, summary=f"TOI {toi} {what}"))
    return changes, now_seen


def new_tois_matching(conn: sqlite3.Connection, name: str, filters: dict[str, object], since: str) -> list[Change]:
    """TOIs of the cached catalog alerted on or after ``since`` that pass a saved search's filters."""
    from exofop_mcp.site.toi_search import ToiFilters, toi_filter_sql

    where, args = toi_filter_sql(ToiFilters.model_validate(filters))
    rows = conn.execute(
        f"SELECT toi, host, tic, record FROM tois WHERE toi IN (SELECT toi FROM toi_search{where})", args
    )
    found: list[Change] = []
    for toi, host, tic, record_json in rows:
        try:
            alerted = _day(json.loads(record_json).get("date_alerted"))
        except (ValueError, AttributeError):
            continue
        if alerted and alerted >= since:
            system = f"TOI-{host}" if host else f"TIC-{tic}"
            found.append(
                Change(
                    system=system,
                    kind="new_toi",
                    date=alerted,
                    toi=toi,
                    summary=f"TOI {toi} alerted {alerted}, matching the saved search {name!r}",
                )
            )
    found.sort(key=lambda c: c.date, reverse=True)
    return found[:MAX_NEW_TOIS]

"""The follow-up desk's two answers, gathered from the site with a handful of requests per system."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.followup.missing import MissingFact
from exofop_mcp.followup.status import (
    MAX_NOTE_CHARS,
    FollowUpStatus,
    FollowUpStatusRequest,
    LightCurveVerdict,
    NextTransit,
    NoteLine,
    assemble,
)
from exofop_mcp.followup.watch_list import load_seen_dispositions, load_watch_list, save_seen_dispositions
from exofop_mcp.followup.whats_new import (
    Change,
    ChangeKind,
    SystemProblem,
    WhatsNew,
    WhatsNewRequest,
    new_tois_matching,
    observation_changes,
    toi_changes,
)
from exofop_mcp.result_pages import fit_page, json_size
from exofop_mcp.site.catalog import TOICatalog
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.observations import ObservationLister
from exofop_mcp.site.records import NearbyTarget, ObservationKind, ObservingNote, TableRecord, TOIRecord
from exofop_mcp.site.resolver import ResolvedSystem, SystemResolver

STATUS_KINDS: tuple[ObservationKind, ...] = ("time_series", "spectroscopy", "imaging", "stellar_companions")
NEWS_KINDS: tuple[ChangeKind, ...] = ("time_series", "spectroscopy", "imaging")
#: The next transits listed per candidate (without an observatory) and in all (with one).
NEXT_PER_CANDIDATE = 3
NEXT_FROM_SITE = 8
PAGE_BUDGET_BYTES = 19_000
#: Verdicts of local light curves listed at most (the newest tags last; extract_light_curves has them all).
MAX_VERDICTS = 40


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ExofopMcpError):
        return f"[{exc.code}] {exc}"
    return f"{type(exc).__name__}"


class FollowUpDesk:
    """``follow_up_status`` and ``whats_new`` over the shared client, catalog and table cache."""

    def __init__(
        self,
        client: ExofopClient,
        catalog: TOICatalog,
        resolver: SystemResolver,
        observations: ObservationLister,
        data_dir: Path,
        config_dir: Path,
        cache_dir: Path,
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.resolver = resolver
        self.observations = observations
        self.data_dir = data_dir
        self.config_dir = config_dir
        self.cache_dir = cache_dir

    async def toi_records(self, system: ResolvedSystem) -> list[TOIRecord]:
        entries = self.catalog.entries_for_tic(system.tic_id)
        if not entries and system.host_toi is not None:
            entries = [e for e in await self.catalog.fetch_host(system.host_toi) if e.record.tic_id == system.tic_id]
        return sorted((e.record for e in entries), key=lambda r: r.toi or "")

    async def observing_notes(self, tic: int) -> list[ObservingNote]:
        """The star's observing notes, oldest first (kept as briefly as the other tables)."""
        rows = await self.observations.table("observing_notes", tic)
        return [row for row in rows if isinstance(row, ObservingNote)]

    # ---------------------------------------------------------------- follow_up_status

    async def status(self, request: FollowUpStatusRequest) -> FollowUpStatus:
        before = self.client.requests_so_far
        system = await self.resolver.resolve(request.system)
        kinds = STATUS_KINDS
        answers = await asyncio.gather(
            self.toi_records(system),
            *(self.observations.table(kind, system.tic_id) for kind in kinds),
            self.observations.table("nearby_targets", system.tic_id),
            self.observing_notes(system.tic_id),
            return_exceptions=True,
        )
        records_answer, *rest = answers
        table_answers, nearby_answer, notes_answer = rest[: len(kinds)], rest[len(kinds)], rest[len(kinds) + 1]
        problems: list[str] = []
        records: list[TOIRecord] = []
        if isinstance(records_answer, BaseException):
            problems.append(f"the TOI table: {_error_text(records_answer)}")
        else:
            records = cast(list[TOIRecord], records_answer)
        tables: dict[str, Sequence[TableRecord]] = {}
        for kind, answer in zip(kinds, table_answers, strict=True):
            if isinstance(answer, BaseException):
                problems.append(f"the {kind.replace('_', ' ')} table: {_error_text(answer)}")
            else:
                tables[kind] = cast(list[TableRecord], answer)
        nearby: list[NearbyTarget] | None = None
        if isinstance(nearby_answer, BaseException):
            problems.append(f"the nearby-stars table: {_error_text(nearby_answer)}")
        else:
            nearby = [row for row in cast(list[TableRecord], nearby_answer) if isinstance(row, NearbyTarget)]
        status = assemble(
            system.canonical_name, system.tic_id, system.exofop_url, system.tess_mag, records, tables, nearby
        )
        if isinstance(notes_answer, BaseException):
            problems.append(f"the observing notes: {_error_text(notes_answer)}")
        else:
            newest = sorted(
                cast(list[ObservingNote], notes_answer), key=lambda n: (n.lastmod or "", n.id or 0), reverse=True
            )
            status.observing_notes_total = len(newest)
            status.observing_notes = [
                NoteLine(date=n.date, user=n.user, tag=n.tag, text=_cut(n.text or "", MAX_NOTE_CHARS))
                for n in newest[: request.notes_limit]
            ]
        status.light_curves = local_verdicts(self.data_dir, system.canonical_name)
        status.next_transits, transit_notes = await self._next_transits(system, records, request)
        status.notes.extend(transit_notes)
        status.missing.extend(stale_ephemeris_facts(status.next_transits))
        for problem in problems:
            status.notes.append(f"Could not read {problem}; the rest of the answer stands without it.")
        status.requests = self.client.requests_so_far - before
        return fit_status(status)

    async def _next_transits(
        self, system: ResolvedSystem, records: Sequence[TOIRecord], request: FollowUpStatusRequest
    ) -> tuple[list[NextTransit], list[str]]:
        from exofop_mcp.planning.models import PlanTransitsRequest
        from exofop_mcp.planning.planner import plan_transits

        if request.observatory:
            plan = await plan_transits(
                self.catalog,
                self.resolver,
                PlanTransitsRequest(
                    observatory=request.observatory,
                    start_date=dt.datetime.now(dt.UTC).date(),
                    nights=30,
                    systems=[system.canonical_name],
                    limit=NEXT_FROM_SITE,
                    sort_by="time",
                ),
                self.data_dir,
            )
            events = [
                NextTransit(
                    toi=e.toi,
                    mid_bjd_tdb=e.mid_bjd_tdb,
                    mid_utc=e.mid_utc.isoformat(timespec="minutes"),
                    mid_uncertainty_minutes=e.mid_uncertainty_minutes,
                    ephemeris_stale=e.ephemeris_stale,
                    observable_fraction=e.observable_fraction,
                    coverage=e.coverage,
                )
                for e in plan.events
            ]
            if not events:
                return [], [
                    f"No transit of {system.canonical_name} is observable from {plan.site.name} in the next 30 nights."
                ]
            return events, [f"Next transits observable from {plan.site.name} over 30 nights."]
        return predicted_transits(records, dt.datetime.now(dt.UTC)), []

    # ---------------------------------------------------------------- whats_new

    async def whats_new(self, request: WhatsNewRequest) -> WhatsNew:
        started = time.monotonic()
        before = self.client.requests_so_far
        source: Any = "arguments"
        names = request.systems
        searches = []
        if names is None:
            source = "watch_list"
            watch = load_watch_list(self.config_dir)
            names, searches = watch.names(), watch.searches
        seen = load_seen_dispositions(self.cache_dir)
        answer = WhatsNew(since=request.since, source=source, total=0)
        if not names:
            answer.notes.append(
                "The watch list is empty: add systems with `exofop-mcp watch add NAME`, or pass systems."
            )
        since = request.since.isoformat()
        results = await asyncio.gather(*(self._news_of(name, since, seen) for name in names), return_exceptions=True)
        changes: list[Change] = []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                answer.problems.append(SystemProblem(system=name, error=_error_text(result)))
                continue
            system, found, now_seen = result
            answer.systems.append(system)
            changes.extend(found)
            seen[system] = now_seen
        if answer.systems:
            try:
                save_seen_dispositions(self.cache_dir, seen)
            except (ExofopMcpError, OSError):
                answer.notes.append("The dispositions seen could not be remembered; changes are found from dates.")
        if searches:
            await self.catalog.ensure()
            conn = self.catalog.connection()
            for search in searches:
                if conn is not None:
                    changes.extend(new_tois_matching(conn, search.name, search.filters, since))
        changes.sort(key=lambda c: (c.date, c.system, c.tag or 0), reverse=True)
        answer.total = len(changes)
        for change in changes:
            answer.counts[change.kind] = answer.counts.get(change.kind, 0) + 1
        answer.offset = request.offset
        window = changes[request.offset : request.offset + request.limit]
        kept, cut = fit_page(window, json_size(answer) + 300, PAGE_BUDGET_BYTES, separator=2)
        answer.changes = kept
        answer.returned = len(kept)
        end = request.offset + len(kept)
        answer.next_offset = end if end < len(changes) else None
        if cut:
            answer.notes.append(f"Page cut to {len(kept)} changes to stay under ~20 kB.")
        answer.notes.append(
            "Uploads are dated by their observation date (ExoFOP's observation tables carry no upload date)."
        )
        answer.requests = self.client.requests_so_far - before
        answer.seconds = round(time.monotonic() - started, 2)
        return answer

    async def _news_of(
        self, name: str, since: str, seen: dict[str, dict[str, str]]
    ) -> tuple[str, list[Change], dict[str, str]]:
        system = await self.resolver.resolve(name)
        tic = system.tic_id
        *tables, notes, records = await asyncio.gather(
            *(self.observations.table(cast(ObservationKind, kind), tic) for kind in NEWS_KINDS),
            self.observing_notes(tic),
            self.toi_records(system),
        )
        found: list[Change] = []
        for kind, rows in zip(NEWS_KINDS, tables, strict=True):
            found.extend(observation_changes(system.canonical_name, kind, cast(list[TableRecord], rows), since))
        for note in cast(list[ObservingNote], notes):
            if note.date and note.date >= since:
                found.append(
                    Change(
                        system=system.canonical_name,
                        kind="observing_note",
                        date=note.date,
                        tag=note.tag,
                        summary=f"note by {note.user or '?'}: {_cut(note.text or '', 160)}",
                    )
                )
        name = system.canonical_name
        toi_found, now_seen = toi_changes(name, cast(list[TOIRecord], records), since, seen.get(name))
        found.extend(toi_found)
        return name, found, now_seen


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def predicted_transits(records: Sequence[TOIRecord], now: dt.datetime) -> list[NextTransit]:
    """The next mid-transits of each candidate after ``now`` from its linear ephemeris (BJD_TDB, and UTC),
    computed as the planner computes them (:func:`~exofop_mcp.planning.ephemeris.transits_between`)."""
    import numpy as np

    from exofop_mcp.planning.ephemeris import Ephemerides, transits_between
    from exofop_mcp.planning.nights import UNIX_EPOCH_JD, datetime_of_jd
    from exofop_mcp.planning.sites import site_at
    from exofop_mcp.planning.sky import SkyOverSite
    from exofop_mcp.site.coordinates import to_degrees

    degrees = to_degrees([r.ra for r in records], [r.dec for r in records])
    usable = [
        (record, ra, dec)
        for record, (ra, dec) in zip(records, degrees, strict=True)
        if record.period_days and record.period_days > 0 and record.epoch_bjd is not None
        and record.duration_hours and ra is not None and dec is not None
    ]  # fmt: skip
    if not usable:
        return []

    def column(values: list[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    ephemerides = Ephemerides(
        epoch=column([r.epoch_bjd for r, _, _ in usable]),
        epoch_err=column([r.epoch_err_days for r, _, _ in usable]),
        period=column([r.period_days for r, _, _ in usable]),
        period_err=column([r.period_err_days for r, _, _ in usable]),
        duration=column([r.duration_hours for r, _, _ in usable]) / 24.0,
        ra_deg=column([ra for _, ra, _ in usable]),
        dec_deg=column([dec for _, _, dec in usable]),
    )
    start = UNIX_EPOCH_JD + now.timestamp() / 86400.0
    end = start + NEXT_PER_CANDIDATE * float(ephemerides.period.max()) + 1.0
    # the Earth's position alone matters here (the site moves the times by at most 21 ms)
    transits = transits_between(SkyOverSite(site_at(0.0, 0.0, 0.0), start, end), ephemerides, start, end)
    out = []
    shown = [0] * len(usable)
    for i in np.argsort(transits.mid_bjd, kind="stable"):
        target = int(transits.target[i])
        if shown[target] == NEXT_PER_CANDIDATE:
            continue
        shown[target] += 1
        sigma = float(transits.sigma_days[i])
        out.append(
            NextTransit(
                toi=usable[target][0].toi or "?",
                mid_bjd_tdb=round(float(transits.mid_bjd[i]), 6),
                mid_utc=datetime_of_jd(float(transits.mid_utc[i])).isoformat(timespec="minutes"),
                mid_uncertainty_minutes=round(sigma * 1440.0, 1) if np.isfinite(sigma) else None,
                ephemeris_stale=bool(sigma > ephemerides.duration[target]),
            )
        )
    return out


def stale_ephemeris_facts(transits: Sequence[NextTransit]) -> list[MissingFact]:
    """A candidate whose next predicted transit is less certain than it is long needs a new transit time."""
    facts = []
    for toi in sorted({t.toi for t in transits if t.ephemeris_stale}):
        sigma = min(t.mid_uncertainty_minutes or 0.0 for t in transits if t.toi == toi and t.ephemeris_stale)
        facts.append(
            MissingFact(
                fact=f"a recent transit time: the next mid-transit is uncertain by ±{sigma:.0f} min (ephemeris stale)",
                rule="sqrt(sigma_T0^2 + (n sigma_P)^2) from the TOI table's errors exceeds the transit's duration",
                toi=toi,
            )
        )
    return facts


def local_verdicts(data_dir: Path, system: str) -> list[LightCurveVerdict]:
    """Fit verdicts of light curves extracted here, from the system's manifest (none when nothing was)."""
    from exofop_mcp.downloads.manifest import load_manifest
    from exofop_mcp.downloads.sandbox import SystemDirectory
    from exofop_mcp.lightcurves.reports import LightCurveEntry

    try:
        manifest = load_manifest(SystemDirectory(data_dir, system))
    except (ExofopMcpError, OSError, ValueError):
        return []
    if manifest is None:
        return []
    verdicts = []
    for product in (manifest.products or {}).values():
        for raw in product.entries:
            try:
                entry = LightCurveEntry.model_validate(raw)
            except ValueError:
                continue
            if entry.ecsv and entry.fit is not None:
                verdicts.append(LightCurveVerdict(tag=entry.tag, file=entry.ecsv, verdict=entry.fit.verdict))
    verdicts.sort(key=lambda v: (v.tag or 0, v.file))
    return verdicts[:MAX_VERDICTS]


def fit_status(status: FollowUpStatus) -> FollowUpStatus:
    """Keep the answer under its budget: trim notes, then stars, then coverage detail, saying so."""
    while json_size(status) > PAGE_BUDGET_BYTES and status.light_curves:
        status.light_curves.pop(0)
    while json_size(status) > PAGE_BUDGET_BYTES and status.observing_notes:
        status.observing_notes.pop()
    if status.nearby_stars is not None:
        while json_size(status) > PAGE_BUDGET_BYTES and status.nearby_stars.stars:
            status.nearby_stars.stars.pop()
    return status

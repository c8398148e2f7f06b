"""Extraction jobs: a long extraction outlives the tool call that started it, like a download.

``extract_light_curves`` starts a job, waits at most ``wait_seconds`` and returns what is done so
far; the work goes on in the server (one tag at a time in a worker thread) and
``extraction_status`` returns the updated report.  Products are recorded in the manifest as tags
finish, so a job stopped half-way leaves a next run only the rest to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from exofop_mcp.downloads.job_registry import PAGE_BUDGET_BYTES, BackgroundJob, JobRegistry
from exofop_mcp.downloads.locks import range_lock
from exofop_mcp.downloads.manifest import Manifest, load_manifest, save_manifest
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError, FileLimitError, FileWorkBusyError
from exofop_mcp.file_work import FileWorkPool
from exofop_mcp.lightcurves.fit_summary import summarise_fits
from exofop_mcp.lightcurves.products import TagOutcome, replay_tags, time_series_tags
from exofop_mcp.lightcurves.reports import ExtractionReport, LightCurveEntry
from exofop_mcp.result_pages import fit_page
from exofop_mcp.site.resolver import ResolvedSystem

if TYPE_CHECKING:  # the extraction (numpy, ERFA) is imported when a tag needs it, not with the server
    from exofop_mcp.lightcurves.extraction import SystemContext

log = logging.getLogger(__name__)

MAX_JOBS_KEPT = 50
#: Threads that extract light curves (jobs beyond this wait their turn, up to QUEUE_SECONDS), the seconds
#: one tag may take (each of its files has its own, shorter budget), and the seconds reading the system's
#: records and tables may take.
EXTRACTION_WORKERS = 2
TAG_SECONDS = 1800.0
RECORDS_SECONDS = 600.0
QUEUE_SECONDS = 3600.0
SAVE_EVERY_SECONDS = 2.0
STATUSES = ("extracted", "already_extracted", "failed", "skipped")


def context_for(directory: SystemDirectory, system: ResolvedSystem, *, plots: bool = True) -> SystemContext:
    from exofop_mcp.lightcurves.ephemeris import Ephemeris
    from exofop_mcp.lightcurves.extraction import SystemContext, read_table_rows
    from exofop_mcp.lightcurves.time_systems import Target

    target = None if system.ra_deg is None or system.dec_deg is None else Target(system.ra_deg, system.dec_deg)
    ephemerides = {
        p.toi: Ephemeris(
            p.toi, p.epoch_bjd, p.period_days, p.duration_hours or 0.0, p.epoch_err_days, p.period_err_days, p.depth_ppm
        )
        for p in system.planets
        if p.epoch_bjd and p.period_days
    }
    return SystemContext(
        directory, system.tic_id, system.host_toi, target, ephemerides, read_table_rows(directory), plots
    )


def _not_available(manifest: Manifest | None, tag: int) -> LightCurveEntry:
    entry = manifest.entry(tag) if manifest else None
    if entry is not None and entry.kind != "time_series":
        reason, message = "not_time_series", "the tag is not a time-series tag of this system."
    elif entry is not None and entry.status == "downloaded":
        reason, message = (
            "incomplete_download",
            "files of the tag are missing or changed since it was downloaded: download it again with "
            "download_tags(overwrite=true).",
        )
    else:
        reason, message = "not_downloaded", "the tag is not downloaded yet: call download_tags with it first."
    return LightCurveEntry(tag=tag, source_file="", status="skipped", reason=reason, message=message)


class ExtractionJob(BackgroundJob):
    def __init__(
        self, system: ResolvedSystem, directory: SystemDirectory, tags: list[int], missing: list[LightCurveEntry]
    ) -> None:
        super().__init__()
        self.system = system
        self.directory = directory
        self.tags = tags
        self.entries: list[LightCurveEntry] = list(missing)
        self.sidecars = 0
        self.tags_done = 0

    def add(self, outcome: TagOutcome) -> None:
        self.entries += outcome.entries
        self.sidecars += outcome.sidecars
        self.tags_done += 1
        self.touch()

    def report(self, offset: int = 0, limit: int | None = None) -> ExtractionReport:
        totals: dict[str, int] = {}
        for entry in self.entries:
            totals[entry.status] = totals.get(entry.status, 0) + 1
        light_curves = totals.get("extracted", 0) + totals.get("already_extracted", 0)
        report = ExtractionReport(
            job_id=self.id,
            state=self.state,
            system=self.system.canonical_name,
            tic_id=self.system.tic_id,
            directory=str(self.directory.path),
            tags=self.tags,
            tags_done=self.tags_done,
            totals=totals,
            light_curves=light_curves,
            sidecars=self.sidecars,
            entries_total=len(self.entries),
            offset=offset,
            elapsed_seconds=round(self.elapsed(), 3),
            message="",
        )
        report.fit_summary = summarise_fits((e.filter, e.fit) for e in self.entries if e.fit is not None)
        end = len(self.entries) if limit is None else min(len(self.entries), offset + limit)
        page = self.entries[offset:end]
        cut = False
        if limit is not None:
            envelope = len(report.model_dump_json(exclude_none=True)) + 600
            used = envelope
            page, cut = fit_page(page, used, PAGE_BUDGET_BYTES)
            end = offset + len(page)
        report.results = page
        report.returned = len(page)
        report.next_offset = end if end < len(self.entries) else None
        report.message = self._message(totals, light_curves, cut, report.next_offset)
        if report.fit_summary is not None and self.state != "running":
            report.message += " " + report.fit_summary.text
        return report

    def _message(self, totals: dict[str, int], light_curves: int, cut: bool, next_offset: int | None) -> str:
        where = f"Light curves are under {self.directory.light_curves_dir}."
        bad = totals.get("failed", 0)
        if self.state == "running":
            text = (
                f"Still extracting: {self.tags_done} of {len(self.tags)} tags done. Call "
                f"extraction_status(job_id='{self.id}') for the rest; the work continues meanwhile."
            )
        elif self.state == "cancelled":
            text = (
                f"Cancelled after {self.tags_done} of {len(self.tags)} tags; {light_curves} light curves are on disk."
            )
        elif self.state == "failed":
            text = f"The extraction stopped: {(self.error or '').rstrip('.')}. {light_curves} light curves are on disk."
        elif not self.tags and not self.entries:
            text = (
                "No downloaded time-series tags for this system: download them first with "
                "download_tags(kind='time_series')."
            )
        else:
            text = f"{light_curves} light curves from {len(self.tags)} tags. {where}"
            if bad:
                text += f" {bad} files could not be read (see each entry's reason and message); the others are fine."
        if next_offset is not None:
            text += (
                f" {'Page cut to stay under ~20 kB; a' if cut else 'A'}sk for more entries with "
                f"extraction_status(job_id='{self.id}', offset={next_offset})."
            )
        return text


class LightCurveJobs(JobRegistry[ExtractionJob]):
    """The server's extraction jobs, by id."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            what="extraction job",
            again="Call extract_light_curves again: it does only what is not done yet.",
            keep=MAX_JOBS_KEPT,
        )
        self.data_dir = data_dir
        #: Extraction reads files others may have placed: its own threads, so a stuck one starves no other tool.
        self.pool = FileWorkPool(
            "exofop-extract", workers=EXTRACTION_WORKERS, time_limit=RECORDS_SECONDS, queue_seconds=QUEUE_SECONDS
        )

    async def close(self) -> None:
        await super().close()
        self.pool.close()

    def start(
        self, system: ResolvedSystem, tags: list[int] | None, overwrite: bool, *, plots: bool = True
    ) -> ExtractionJob:
        directory = SystemDirectory(self.data_dir, system.canonical_name)
        manifest = load_manifest(directory)
        available = time_series_tags(directory, manifest)
        if tags is None:
            recorded = manifest.tags.values() if manifest else []
            tags = sorted(e.tag for e in recorded if e.kind == "time_series" and e.status == "downloaded")
        chosen = [tag for tag in dict.fromkeys(tags) if tag in available]
        missing = [_not_available(manifest, tag) for tag in dict.fromkeys(tags) if tag not in available]
        job = ExtractionJob(system, directory, chosen, missing)
        job.task = asyncio.create_task(self._run(job, manifest, overwrite, plots), name=f"extract-{job.id}")
        return self.add(job)

    async def _run(self, job: ExtractionJob, manifest: Manifest | None, overwrite: bool, plots: bool) -> None:
        pending: list[TagOutcome] = []
        last_save = time.monotonic()
        try:
            if job.tags and manifest is not None:
                # Tags unchanged since their last extraction are answered from the records alone.
                replayed = (
                    {}
                    if overwrite
                    else await self.pool.run(
                        replay_tags, job.directory, manifest, job.tags, plots=plots, what="reading the records"
                    )
                )
                ctx: SystemContext | None = None
                for tag in job.tags:
                    outcome = replayed.get(tag)
                    if outcome is None:
                        from exofop_mcp.lightcurves.extraction import extract_tag

                        if ctx is None:
                            ctx = await self.pool.run(
                                context_for, job.directory, job.system, plots=plots, what="reading the tables"
                            )
                        try:
                            outcome = await self.pool.run(
                                extract_tag,
                                ctx,
                                manifest,
                                tag,
                                overwrite,
                                what=f"The extraction of tag {tag}",
                                time_limit=TAG_SECONDS,
                            )
                        except (FileLimitError, FileWorkBusyError) as exc:  # this tag fails, the others go on
                            entry = LightCurveEntry(
                                tag=tag, source_file="", status="failed", reason=exc.code, message=str(exc)
                            )
                            outcome = TagOutcome(tag, [entry], {}, [], 0)
                    job.add(outcome)
                    if outcome.products or outcome.removed:  # a repeat records (and rewrites) nothing
                        pending.append(outcome)
                    if pending and time.monotonic() - last_save > SAVE_EVERY_SECONDS:
                        await self._record(job.directory, pending)
                        pending, last_save = [], time.monotonic()
            if pending:
                await self._record(job.directory, pending)
            job.state = "completed"
        except asyncio.CancelledError:
            job.state = "cancelled"
            with contextlib.suppress(Exception):
                if pending:
                    await asyncio.shield(self._record(job.directory, pending))
        except Exception as exc:
            if isinstance(exc, ExofopMcpError):
                log.error("extraction job %s stopped: %s", job.id, exc)
            else:
                log.exception("extraction job %s failed", job.id)
            job.state = "failed"
            job.error = str(exc) or type(exc).__name__
        finally:
            job.finish()

    async def _record(self, directory: SystemDirectory, outcomes: list[TagOutcome]) -> None:
        """Write the products of finished tags into the manifest (atomically, under the system's lock)."""
        # the system folder, its lock file and manifest: none may have become a link leading out meanwhile
        directory.check_links(directory.path, directory.lock_file, directory.manifest_path)
        async with range_lock(directory.lock_file, directory.lock_index()):
            manifest = load_manifest(directory, for_update=True)
            if manifest is None:
                return
            products = dict(manifest.products or {})
            for outcome in outcomes:
                for key in outcome.removed:
                    products.pop(key, None)
                products.update(outcome.products)
            manifest.products = products or None
            await asyncio.to_thread(save_manifest, directory, manifest)

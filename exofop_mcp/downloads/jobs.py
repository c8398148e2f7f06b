"""Download jobs: downloads that outlive the tool call that started them.

Assistant clients give up on a call after about a minute, so ``download_tags``
starts a job, waits at most ``wait_seconds`` and returns a report of what is
finished; the transfers go on in the server and ``download_status`` returns
the updated report.  Jobs live as long as the server process; after a
restart, asking again simply completes what is missing (the manifest knows).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field

from exofop_mcp.downloads.downloader import Downloader, DownloadPlan
from exofop_mcp.downloads.job_registry import PAGE_BUDGET_BYTES, BackgroundJob, JobRegistry, JobState
from exofop_mcp.downloads.request_models import FINAL_OK, IN_FLIGHT, RETRYABLE, DownloadTagsRequest, TagResult
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.result_pages import fit_page
from exofop_mcp.text_format import format_bytes

log = logging.getLogger(__name__)

MAX_JOBS_KEPT = 100
#: Most per-tag results in one page of a report (the totals always cover every tag).
RESULTS_PAGE = 50
ProgressSink = Callable[[int, int, str], Awaitable[None]]

#: The order of a report's results: what needs attention first, then what is under way, then successes.
_ATTENTION_RANK: dict[str, int] = {"failed": 0, "locked": 1, "downloading": 3, "pending": 4}
_SUCCESS_RANK = 5
_OTHER_PROBLEM_RANK = 2


def attention_rank(status: str) -> int:
    """0 failed, 1 locked, 2 any other status that did not succeed, 3 downloading, 4 queued, 5 success."""
    if status in FINAL_OK:
        return _SUCCESS_RANK
    return _ATTENTION_RANK.get(status, _OTHER_PROBLEM_RANK)


class DownloadReport(BaseModel):
    """The state of a download job: totals over every tag, and one page of per-tag results."""

    job_id: str = Field(description="pass to download_status / cancel_download")
    state: JobState = Field(description="running: poll download_status; completed; cancelled; failed")
    system: str = Field(description="canonical system name")
    tic_id: int
    directory: str = Field(description="absolute path of the system's directory")
    directory_relative: str = Field(description="the system's directory relative to the sandbox root")
    tags_total: int
    tags_done: int = Field(description="tags with a final status")
    totals: dict[str, int] = Field(
        default_factory=dict,
        description="number of tags per status, over every tag of the job: 'pending' tags are queued (waiting "
        "for a transfer slot, or for another exofop-mcp process that holds the tag), 'downloading' ones are "
        "being transferred, unpacked or recorded",
    )
    bytes_downloaded: int = 0
    elapsed_seconds: float
    results_total: int = Field(0, description="per-tag results in the whole report (one per requested tag)")
    results_offset: int = Field(0, description="the position of this page's first result in the whole report")
    next_results_offset: int | None = Field(
        None,
        description="pass as download_status(results_offset=...) for the next page of results; "
        "absent (null) when nothing follows",
    )
    results: list[TagResult] = Field(
        default_factory=list,
        description=f"one page (at most {RESULTS_PAGE}) of per-tag results, tags that need attention first "
        "(failed, locked, other statuses that did not succeed), then tags under way, then successes",
    )
    message: str = Field(description="what happened and what to do next")


class DownloadJob(BackgroundJob):
    """One running or finished download."""

    def __init__(self, plan: DownloadPlan, *, started: float | None = None) -> None:
        super().__init__(started=started)
        self.plan = plan
        #: The tags are still being chosen (the observation tables are on their way).
        self.planning: asyncio.Task[None] | None = None
        self.results: dict[int, TagResult] = self._initial_results()
        self.bytes = 0
        #: The order of the last first page: later pages follow it, so paging meets each tag once.
        self._order: list[int] | None = None

    # -- updates from the downloader ------------------------------------------------------

    def remaining(self, seconds: float) -> float:
        """What is left of a wait of ``seconds`` that began when the call starting this job did."""
        return max(0.0, seconds - (time.monotonic() - self.started))

    def planned(self) -> None:
        """The tags are chosen: every one starts pending."""
        self.results = self._initial_results()
        self._order = None
        self.touch()

    def _initial_results(self) -> dict[int, TagResult]:
        """Every planned tag pending, but those the plan found complete: they are final already."""
        plan = self.plan
        present = plan.present if plan.checked else {}
        return {
            tag: present.get(tag) or TagResult(tag=tag, kind=plan.kinds.get(tag), status="pending") for tag in plan.tags
        }

    def update(self, result: TagResult) -> None:
        self.results[result.tag] = result
        self.touch()

    def add_bytes(self, n: int) -> None:
        self.bytes += n

    # -- reading -----------------------------------------------------------------------------

    @property
    def done_count(self) -> int:
        return sum(1 for r in self.results.values() if r.status not in IN_FLIGHT)

    def ordered_tags(self) -> list[int]:
        """Every tag, attention first (see :func:`attention_rank`), in the requested order within a rank."""
        position = {tag: i for i, tag in enumerate(self.plan.tags)}
        return sorted(self.results, key=lambda t: (attention_rank(self.results[t].status), position.get(t, 0)))

    def report(self, offset: int = 0, limit: int | None = None) -> DownloadReport:
        """The totals and the results from ``offset`` on: all of them in the requested order, or a page
        of at most ``limit``, attention first, that also stays under :data:`PAGE_BUDGET_BYTES` of JSON.

        A first page (``offset`` 0) fixes the order that later pages follow, so a client paging
        through a running job meets every tag exactly once; the statuses shown are always current.
        """
        if limit is None:
            order = list(self.plan.tags)
        else:
            if offset == 0 or self._order is None or len(self._order) != len(self.results):
                self._order = self.ordered_tags()
            order = self._order
        everything = [self.results[t] for t in self.plan.tags]
        totals: dict[str, int] = {}
        for r in everything:
            totals[r.status] = totals.get(r.status, 0) + 1
        directory = self.plan.directory
        report = DownloadReport(
            job_id=self.id,
            state=self.state,
            system=self.plan.system.canonical_name,
            tic_id=self.plan.system.tic_id,
            directory=str(directory.path),
            directory_relative=directory.relative_to_root(),
            tags_total=len(everything),
            tags_done=self.done_count,
            totals=totals,
            bytes_downloaded=self.bytes,
            elapsed_seconds=round(self.elapsed(), 3),
            results_total=len(order),
            results_offset=offset,
            message="",
        )
        end = len(order) if limit is None else min(len(order), offset + limit)
        page = [self.results[t] for t in order[offset:end]]
        if limit is not None:
            used = len(report.model_dump_json(exclude_none=True)) + 800  # the message and the paging fields
            page, _ = fit_page(page, used, PAGE_BUDGET_BYTES)
            end = offset + len(page)
        report.results = page
        report.next_results_offset = end if end < len(order) else None
        report.message = self._message(everything, totals, offset, len(page), report.next_results_offset)
        return report

    def _message(
        self, results: list[TagResult], totals: dict[str, int], offset: int, shown: int, next_offset: int | None
    ) -> str:
        parts = [self._outcome(results, totals), *self.plan.notes]
        if next_offset is not None or offset > 0:
            first, last = offset + 1, offset + shown
            page = (
                f"Results {first}-{last} of {len(results)} are shown, tags that need attention first."
                if shown
                else f"No results from position {offset + 1}: the report has {len(results)}."
            )
            if next_offset is not None:
                page += f" Next page: download_status(job_id='{self.id}', results_offset={next_offset})."
            parts.append(page)
        return " ".join(parts)

    def _outcome(self, results: list[TagResult], totals: dict[str, int]) -> str:
        ok = sum(totals.get(s, 0) for s in FINAL_OK)
        n = len(results)
        where = f"Files are under {self.plan.directory.path}."
        if self.state == "running" and self.planning is not None and not self.planning.done():
            return (
                f"Still choosing the tags: ExoFOP's observation tables of {self.plan.system.canonical_name} are on "
                f"their way. Call download_status(job_id='{self.id}') to wait; the download continues meanwhile."
            )
        if self.state == "running":
            return (
                f"Still downloading: {self.done_count} of {_tags(n)} finished ({totals.get('downloading', 0)} "
                f"downloading, {totals.get('pending', 0)} queued). Call download_status(job_id='{self.id}') to "
                "wait for the rest; the download continues meanwhile."
            )
        if self.state == "cancelled":
            return f"Cancelled: {ok} of {_tags(n)} {_are(n)} complete; nothing partial was left. {where}"
        if self.state == "failed":
            return f"The download stopped: {(self.error or '').rstrip('.')}. {ok} of {_tags(n)} {_are(n)} complete."
        bad = n - ok
        if bad == 0:
            return f"The tag is complete. {where}" if n == 1 else f"All {n} tags are complete. {where}"
        again = (
            "Asking for the same tags again retries only what is missing."
            if any(t in RETRYABLE for t in totals)
            else "Asking again would give the same answer: see each tag's message for what to do."
        )
        return f"{ok} of {_tags(n)} {_are(n)} complete; {bad} did not succeed (see each tag's message). {again} {where}"


def _tags(n: int) -> str:
    return f"{n} tag" if n == 1 else f"{n} tags"


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


class DownloadJobs:
    """The server's download jobs, by id (kept in a :class:`JobRegistry`)."""

    def __init__(self, downloader: Downloader) -> None:
        self.downloader = downloader
        self.registry: JobRegistry[DownloadJob] = JobRegistry(
            what="download job", again="Call download_tags again: it fetches only what is missing.", keep=MAX_JOBS_KEPT
        )

    def get(self, job_id: str) -> DownloadJob:
        return self.registry.get(job_id)

    async def close(self) -> None:
        await self.registry.close()

    async def start(self, request: DownloadTagsRequest) -> DownloadJob:
        """Plan (errors in the request raise here) and start the transfers in the background.

        Choosing the tags may need ExoFOP's observation tables; when they take longer than the call's
        ``wait_seconds``, the job starts anyway (still choosing) and reports so, and an error reading
        them becomes the job's error instead of the call's.
        """
        started = time.monotonic()
        asked = f"{len(request.tags)} tags" if request.tags is not None else f"its {request.kind} tags"
        log.info("download of %s of %s asked", asked, request.system)
        plan = await self.downloader.start_plan(request)
        if request.tags is not None and request.kind is None:  # no table to read before starting
            await self.downloader.finish_plan(plan)
            return self._launch(DownloadJob(plan, started=started))
        planning = asyncio.create_task(self.downloader.finish_plan(plan), name="download-plan")
        try:
            await asyncio.wait({planning}, timeout=max(0.0, request.wait_seconds - (time.monotonic() - started)))
        except asyncio.CancelledError:
            planning.cancel()
            raise
        if planning.done():
            planning.result()  # errors in the request (a filter the table cannot answer, ...) raise here
        job = DownloadJob(plan, started=started)
        if not planning.done():
            job.planning = planning
        return self._launch(job)

    def _launch(self, job: DownloadJob) -> DownloadJob:
        job.task = asyncio.create_task(self._run(job), name=f"download-{job.id}")
        return self.registry.add(job)

    async def _run(self, job: DownloadJob) -> None:
        try:
            if job.planning is not None:
                await job.planning
                job.planned()
            await self.downloader.run(job.plan, job.update, job.add_bytes)
            job.state = "completed"
        except asyncio.CancelledError:
            job.state = "cancelled"
            for tag, result in job.results.items():
                if result.status in IN_FLIGHT:
                    job.results[tag] = result.model_copy(
                        update={"status": "cancelled", "message": "cancelled before it finished; nothing was kept"}
                    )
        except Exception as exc:  # an unexpected bug must not vanish inside a background task
            if isinstance(exc, ExofopMcpError):  # explained (a full disk, say): the message is enough
                log.error("download job %s stopped: %s", job.id, exc)
            else:
                log.exception("download job %s failed", job.id)
            job.state = "failed"
            job.error = str(exc) or type(exc).__name__
            for tag, result in job.results.items():
                if result.status in IN_FLIGHT:
                    job.results[tag] = result.model_copy(update={"status": "failed", "message": job.error})
        finally:
            job.finish()
            log.info("download job %s %s: %d tags", job.id, job.state, len(job.results))

    async def wait(
        self,
        job: DownloadJob,
        seconds: float,
        progress: ProgressSink | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> DownloadReport:
        """Wait until the job ends or ``seconds`` pass, reporting progress as tags finish; then its report
        (every result, or the page of ``limit`` from ``offset``)."""
        last = -1

        async def on_change(job: DownloadJob) -> None:
            nonlocal last
            if progress is None or job.done_count == last:
                return
            last = job.done_count
            total = len(job.results)
            detail = f", {format_bytes(job.bytes)}" if job.state == "running" else ""
            await progress(last, total, f"{last}/{total} tags{detail}")

        await self.registry.wait(job, seconds, on_change)
        return job.report(offset, limit)

    async def cancel(self, job_id: str, *, limit: int | None = None) -> DownloadReport:
        job = self.get(job_id)
        if job.state != "running":  # nothing to stop: say so, the report stays the job's own
            report = job.report(0, limit)
            report.message = f"Nothing was cancelled: the job had already ended ({job.state}). {report.message}"
            return report
        await self.registry.stop(job)
        return job.report(0, limit)

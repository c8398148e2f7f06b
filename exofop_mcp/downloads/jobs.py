"""Download jobs: downloads that outlive the tool call that started them.

Assistant clients give up on a call after about a minute, so ``download_tags``
starts a job, waits at most ``wait_seconds`` and returns a report of what is
finished; the transfers go on in the server and ``download_status`` returns
the updated report.  Jobs live as long as the server process; after a
restart, asking again simply completes what is missing (the manifest knows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel, Field

from exofop_mcp.downloads.downloader import (
    FINAL_OK,
    IN_FLIGHT,
    Downloader,
    DownloadPlan,
    DownloadTagsRequest,
    TagResult,
)
from exofop_mcp.errors import ExofopMcpError, InvalidRequestError
from exofop_mcp.text_format import format_bytes

log = logging.getLogger(__name__)

MAX_JOBS_KEPT = 100
JobState = Literal["running", "completed", "cancelled", "failed"]
ProgressSink = Callable[[int, int, str], Awaitable[None]]


class DownloadReport(BaseModel):
    """The state of a download job and an exact account of every tag."""

    job_id: str = Field(description="pass to download_status / cancel_download")
    state: JobState = Field(description="running: poll download_status; completed; cancelled; failed")
    system: str = Field(description="canonical system name")
    tic_id: int
    directory: str = Field(description="absolute path of the system's directory")
    directory_relative: str = Field(description="the system's directory relative to the sandbox root")
    tags_total: int
    tags_done: int = Field(description="tags with a final status")
    totals: dict[str, int] = Field(default_factory=dict, description="number of tags per status")
    bytes_downloaded: int = 0
    elapsed_seconds: float
    results: list[TagResult] = Field(default_factory=list, description="one entry per requested tag")
    message: str = Field(description="what happened and what to do next")


class DownloadJob:
    """One running or finished download."""

    def __init__(self, plan: DownloadPlan, *, started: float | None = None) -> None:
        self.id = secrets.token_hex(6)
        self.plan = plan
        self.started = started if started is not None else time.monotonic()
        #: The tags are still being chosen (the observation tables are on their way).
        self.planning: asyncio.Task[None] | None = None
        self.finished: float | None = None
        self.state: JobState = "running"
        self.error: str | None = None
        self.results: dict[int, TagResult] = {
            tag: TagResult(tag=tag, kind=plan.kinds.get(tag), status="pending") for tag in plan.tags
        }
        self.bytes = 0
        self.task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    # -- updates from the downloader ------------------------------------------------------

    def remaining(self, seconds: float) -> float:
        """What is left of a wait of ``seconds`` that began when the call starting this job did."""
        return max(0.0, seconds - (time.monotonic() - self.started))

    def planned(self) -> None:
        """The tags are chosen: every one starts pending."""
        self.results = {
            tag: TagResult(tag=tag, kind=self.plan.kinds.get(tag), status="pending") for tag in self.plan.tags
        }
        self._changed.set()

    def update(self, result: TagResult) -> None:
        self.results[result.tag] = result
        self._changed.set()

    def add_bytes(self, n: int) -> None:
        self.bytes += n

    def finish(self) -> None:
        self.finished = time.monotonic()
        self._changed.set()

    # -- reading -----------------------------------------------------------------------------

    @property
    def done_count(self) -> int:
        return sum(1 for r in self.results.values() if r.status not in IN_FLIGHT)

    async def changed(self, timeout: float) -> None:
        """Wait until some tag changes state, at most ``timeout`` seconds."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def report(self) -> DownloadReport:
        results = [self.results[t] for t in self.plan.tags]
        totals: dict[str, int] = {}
        for r in results:
            totals[r.status] = totals.get(r.status, 0) + 1
        directory = self.plan.directory
        elapsed = (self.finished or time.monotonic()) - self.started
        return DownloadReport(
            job_id=self.id,
            state=self.state,
            system=self.plan.system.canonical_name,
            tic_id=self.plan.system.tic_id,
            directory=str(directory.path),
            directory_relative=directory.relative_to_root(),
            tags_total=len(results),
            tags_done=self.done_count,
            totals=totals,
            bytes_downloaded=self.bytes,
            elapsed_seconds=round(elapsed, 3),
            results=results,
            message=self._message(results, totals),
        )

    def _message(self, results: list[TagResult], totals: dict[str, int]) -> str:
        return " ".join([self._outcome(results, totals), *self.plan.notes])

    def _outcome(self, results: list[TagResult], totals: dict[str, int]) -> str:
        ok = sum(totals.get(s, 0) for s in FINAL_OK)
        where = f"Files are under {self.plan.directory.path}."
        if self.state == "running" and self.planning is not None and not self.planning.done():
            return (
                f"Still choosing the tags: ExoFOP's observation tables of {self.plan.system.canonical_name} are on "
                f"their way. Call download_status(job_id='{self.id}') to wait; the download continues meanwhile."
            )
        if self.state == "running":
            return (
                f"Still downloading: {self.done_count} of {len(results)} tags finished. Call "
                f"download_status(job_id='{self.id}') to wait for the rest; the download continues meanwhile."
            )
        if self.state == "cancelled":
            return f"Cancelled: {ok} of {len(results)} tags are complete; nothing partial was left. {where}"
        if self.state == "failed":
            return f"The download stopped: {(self.error or '').rstrip('.')}. {ok} of {len(results)} tags are complete."
        bad = len(results) - ok
        if bad == 0:
            return f"All {len(results)} tags are complete. {where}"
        return (
            f"{ok} of {len(results)} tags are complete; {bad} did not succeed (see each tag's message). "
            f"Asking for the same tags again retries only what is missing. {where}"
        )


class DownloadJobs:
    """The server's jobs, by id."""

    def __init__(self, downloader: Downloader) -> None:
        self.downloader = downloader
        self._jobs: dict[str, DownloadJob] = {}

    async def start(self, request: DownloadTagsRequest) -> DownloadJob:
        """Plan (errors in the request raise here) and start the transfers in the background.

        Choosing the tags may need ExoFOP's observation tables; when they take longer than the call's
        ``wait_seconds``, the job starts anyway (still choosing) and reports so, and an error reading
        them becomes the job's error instead of the call's.
        """
        started = time.monotonic()
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
        self._jobs[job.id] = job
        self._forget_old()
        return job

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

    def get(self, job_id: str) -> DownloadJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise InvalidRequestError(
                f"No download job {job_id!r} in this server.",
                hint="Jobs last as long as the server process. Call download_tags again: it fetches only "
                "what is missing.",
            )
        return job

    async def wait(self, job: DownloadJob, seconds: float, progress: ProgressSink | None = None) -> DownloadReport:
        """Wait until the job ends or ``seconds`` pass, reporting progress as tags finish."""
        deadline = time.monotonic() + seconds
        last = -1
        while job.state == "running":
            if progress is not None and job.done_count != last:
                last = job.done_count
                await progress(last, len(job.results), f"{last}/{len(job.results)} tags, {format_bytes(job.bytes)}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await job.changed(min(remaining, 1.0))
        if progress is not None and job.state != "running" and job.done_count != last:
            await progress(job.done_count, len(job.results), f"{job.done_count}/{len(job.results)} tags")
        return job.report()

    async def cancel(self, job_id: str) -> DownloadReport:
        job = self.get(job_id)
        if job.task is not None and not job.task.done():
            job.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job.task
        return job.report()

    async def close(self) -> None:
        for job in self._jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
        for job in self._jobs.values():
            if job.task is not None:
                with contextlib.suppress(BaseException):
                    await job.task

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state != "running"]
        for job in finished[: max(0, len(self._jobs) - MAX_JOBS_KEPT)]:
            self._jobs.pop(job.id, None)

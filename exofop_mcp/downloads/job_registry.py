"""Background jobs that outlive the tool call that started them, kept by id for as long as the server runs.

Downloads (:mod:`exofop_mcp.downloads.jobs`) and light-curve extractions
(:mod:`exofop_mcp.lightcurves.jobs`) share this bookkeeping: a job is a
:class:`BackgroundJob` (an id, a state, its task and a "something changed"
signal); a :class:`JobRegistry` finds a job by id, waits for it with a bound,
cancels it, closes every job at shutdown and forgets the oldest finished jobs
beyond a limit.  What a job does and how it reports are the job's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Literal, TypeVar

from pydantic import ValidationError, ValidatorFunctionWrapHandler

from exofop_mcp.errors import InvalidRequestError

JobState = Literal["running", "completed", "cancelled", "failed"]


class BackgroundJob:
    """What every job has: an id to poll it by, a state, its task, timings and a change signal."""

    def __init__(self, *, started: float | None = None) -> None:
        self.id = secrets.token_hex(6)
        self.state: JobState = "running"
        self.error: str | None = None
        self.started = started if started is not None else time.monotonic()
        self.finished: float | None = None
        self.task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def touch(self) -> None:
        """Something changed: wake whoever waits in :meth:`changed`."""
        self._changed.set()

    def finish(self) -> None:
        self.finished = time.monotonic()
        self._changed.set()

    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    async def changed(self, timeout: float) -> None:
        """Wait until something changes, at most ``timeout`` seconds."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)


J = TypeVar("J", bound=BackgroundJob)


class JobRegistry(Generic[J]):
    """The server's jobs of one sort, by id; the oldest finished ones beyond ``keep`` are forgotten."""

    def __init__(self, *, what: str, again: str, keep: int) -> None:
        #: e.g. "download job"; and what to call to start over (for the error naming an unknown id).
        self.what = what
        self.again = again
        self.keep = keep
        self._jobs: dict[str, J] = {}

    def add(self, job: J) -> J:
        self._jobs[job.id] = job
        self._forget_old()
        return job

    def get(self, job_id: str) -> J:
        job = self._jobs.get(job_id)
        if job is None:
            raise InvalidRequestError(
                f"No {self.what} {job_id!r} in this server.",
                hint=f"Jobs last as long as the server process. {self.again}",
            )
        return job

    async def wait(self, job: J, seconds: float, on_change: Callable[[J], Awaitable[None]] | None = None) -> None:
        """Wait until ``job`` ends or ``seconds`` pass; ``on_change`` hears of each wake-up and of the end."""
        deadline = time.monotonic() + seconds
        while job.state == "running":
            if on_change is not None:
                await on_change(job)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await job.changed(min(remaining, 1.0))
        if on_change is not None and job.state != "running":
            await on_change(job)

    async def stop(self, job: J) -> None:
        """Cancel ``job``'s task and wait until it has stopped (its own handler sets the state)."""
        if job.task is not None and not job.task.done():
            job.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job.task

    async def close(self) -> None:
        """Cancel every running job and wait for all of them (at shutdown)."""
        for job in self._jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
        for job in self._jobs.values():
            if job.task is not None:
                with contextlib.suppress(BaseException):
                    await job.task

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state != "running"]
        for job in finished[: max(0, len(self._jobs) - self.keep)]:
            self._jobs.pop(job.id, None)


#: Most bytes of JSON one page of a job's report may hold (a tool result stays under 20 kB).
PAGE_BUDGET_BYTES = 19_000


def job_id_words(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A job id that is not one (not hexadecimal, empty, too long) refused in words, not as a pattern."""
    try:
        return handler(value)
    except ValidationError:
        shown = repr(value) if isinstance(value, str) and len(value) <= 80 else "this value"
        raise ValueError(
            f"{shown} is not a job id: a job id is the short hexadecimal job_id the report that started the job "
            "gave (e.g. '1ade9c1be95a')"
        ) from None

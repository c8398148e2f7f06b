"""A small pool of threads for file work, with a time limit per call and a bounded wait for a thread.

A call takes one of ``workers`` slots and gives it back only when its thread is really free, so
stuck work can never hold more threads than the pool has.  When no slot frees within
``queue_seconds`` the call is refused as :class:`~exofop_mcp.errors.FileWorkBusyError`; when the work
outlives ``time_limit`` its budget is stopped and the caller gets
:class:`~exofop_mcp.errors.FileLimitError` at once (the thread ends at its next budget check).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from exofop_mcp.errors import FileLimitError, FileWorkBusyError
from exofop_mcp.file_work.budget import Budget, running_under

T = TypeVar("T")

#: How often a call waiting for a free thread looks again.
_POLL_SECONDS = 0.02


class FileWorkPool:
    """``workers`` threads named ``name`` for file work; see the module docstring."""

    def __init__(self, name: str, *, workers: int, time_limit: float, queue_seconds: float) -> None:
        self.name = name
        self.workers = workers
        self.time_limit = time_limit
        self.queue_seconds = queue_seconds
        self._slots = threading.BoundedSemaphore(workers)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _threads(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.name)
            return self._executor

    async def _take_slot(self, what: str) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.queue_seconds
        while not self._slots.acquire(blocking=False):
            if loop.time() >= give_up:
                raise FileWorkBusyError(
                    f"{what} was not started: all {self.workers} threads that read downloaded files are busy "
                    f"(for {self.queue_seconds:g} s), perhaps on a file that is slow to read.",
                    hint="Try again in a little while; the other tools keep answering.",
                )
            await asyncio.sleep(_POLL_SECONDS)

    async def run(self, fn: Callable[..., T], /, *args: Any, what: str, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in the pool, under a budget of :attr:`time_limit` seconds."""
        await self._take_slot(what)
        budget = Budget(self.time_limit, what)

        def work() -> T:
            with running_under(budget):
                budget.check()
                return fn(*args, **kwargs)

        try:
            done: Future[T] = self._threads().submit(work)
        except BaseException:
            self._slots.release()
            raise
        done.add_done_callback(lambda _: self._slots.release())  # only once the thread is free again
        waiting = asyncio.wrap_future(done)
        waiting.add_done_callback(_consume)
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), self.time_limit)
        except TimeoutError:
            budget.stop()
            raise FileLimitError(
                f"{what} took longer than its {self.time_limit:g} s budget and was stopped.",
                hint="The file is unusually large or complex, or slow to read; read it with other software.",
            ) from None
        except asyncio.CancelledError:
            budget.stop()
            raise

    def close(self) -> None:
        """Stop taking work; threads still busy end at their next budget check."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None


def _consume(future: asyncio.Future[Any]) -> None:
    """Read the outcome of work nobody waits for any more, so asyncio does not log it as lost."""
    if not future.cancelled():
        future.exception()

"""A small pool of threads for file work, with a time limit per call and a bounded wait for a thread.

A call takes one of ``workers`` slots and gives it back only when its thread is really free, so
stuck work can never hold more threads than the pool has.  When no slot frees within
``queue_seconds`` the call is refused as :class:`~exofop_mcp.errors.FileWorkBusyError`; when the work
outlives ``time_limit`` its budget is stopped and the caller gets
:class:`~exofop_mcp.errors.FileLimitError` at once (the thread ends at its next budget check, or,
stuck in a read that never returns, keeps its slot but never keeps the process from exiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from exofop_mcp.errors import FileLimitError, FileWorkBusyError
from exofop_mcp.file_work.budget import Budget, running_under

T = TypeVar("T")

#: How often a call waiting for a free thread looks again.
_POLL_SECONDS = 0.02


class FileWorkPool:
    """At most ``workers`` threads named ``name-N`` doing file work at once; see the module docstring.

    Each call runs in a daemon thread of its own, started once a slot is free: a thread stuck in a read
    that never returns holds its slot, never the process (it does not keep the server from exiting).
    """

    def __init__(self, name: str, *, workers: int, time_limit: float, queue_seconds: float) -> None:
        self.name = name
        self.workers = workers
        self.time_limit = time_limit
        self.queue_seconds = queue_seconds
        self._slots = threading.BoundedSemaphore(workers)
        self._started = itertools.count(1)
        self._closed = False

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

    async def run(
        self, fn: Callable[..., T], /, *args: Any, what: str, time_limit: float | None = None, **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)`` in a thread of the pool, within ``time_limit`` seconds (default: the pool's)."""
        limit = self.time_limit if time_limit is None else time_limit
        if self._closed:
            raise FileWorkBusyError(f"{what} was not started: the server is shutting down.")
        await self._take_slot(what)
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[T] = loop.create_future()
        budget = Budget(limit, what)

        def work() -> None:
            try:
                with running_under(budget):
                    budget.check()
                    result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller, or dropped if nobody waits any more
                settle = functools.partial(_fail, outcome, exc)
            else:
                settle = functools.partial(_succeed, outcome, result)
            finally:
                self._slots.release()  # only once the thread is free again
            with contextlib.suppress(RuntimeError):  # the event loop is gone: nobody waits
                loop.call_soon_threadsafe(settle)

        thread = threading.Thread(target=work, name=f"{self.name}-{next(self._started)}", daemon=True)
        try:
            thread.start()
        except BaseException:
            self._slots.release()
            raise
        try:
            return await asyncio.wait_for(asyncio.shield(outcome), limit)
        except TimeoutError:
            budget.stop()
            raise FileLimitError(
                f"{what} took longer than its {limit:g} s budget and was stopped.",
                hint="The file is unusually large or complex, or slow to read; read it with other software.",
            ) from None
        except asyncio.CancelledError:
            budget.stop()
            raise

    def close(self) -> None:
        """Take no more work; threads still busy end at their next budget check."""
        self._closed = True


def _succeed(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
        future.exception()  # marked as seen: a caller that stopped waiting does not make asyncio log it

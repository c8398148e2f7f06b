"""The process's request budget: how many archive transfers and small requests may be in flight at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

__all__ = ["RequestLanes"]


class RequestLanes:
    """The process's request budget: at most ``archives`` archive transfers and ``archives + 1`` requests in flight.

    An archive transfer holds an archive lane and a lane of the whole budget while its bytes flow;
    the one lane beyond the archives is kept for small requests (tables, pages, JSON), so they never
    wait behind archives.  While no download is running (:meth:`downloading`), small requests may
    also use archive lanes that are free, so the tables of a listing go out together.
    """

    def __init__(self, archives: int) -> None:
        self.archives = archives
        self._archive_lanes = asyncio.Semaphore(archives)
        self._all_lanes = asyncio.Semaphore(archives + 1)
        self._small_lane = asyncio.Semaphore(1)
        #: Told whenever a request gives its lanes back (small requests waiting for a lane listen).
        self._lane_freed = asyncio.Condition()
        self._downloads = 0
        #: Archive requests given a lane and not yet written to their connection (:meth:`requests_out`).
        self._unsent = 0
        self._all_sent = asyncio.Event()
        self._all_sent.set()
        #: Requests in flight now, and the most there have been (for reports and benchmarks).
        self.in_flight = 0
        self.peak_in_flight = 0

    def sending(self) -> Callable[[], None]:
        """Count an archive request as about to go out; call the function returned once it has (again: no-op)."""
        self._unsent += 1
        self._all_sent.clear()
        done = False

        def sent() -> None:
            nonlocal done
            if not done:
                done = True
                self._unsent -= 1
                if self._unsent == 0:
                    self._all_sent.set()

        return sent

    async def requests_out(self, most: float = 0.05) -> None:
        """Wait, at most ``most`` seconds, until every archive request given a lane has been written to its
        connection.  A finished transfer's disk work (unpacking, syncing) waits for this, so that it does
        not slow the start of the transfers that take the freed lanes: on a busy interpreter the requests
        would otherwise go out late, and the lanes would idle."""
        await asyncio.sleep(0)  # a request woken by a lane just freed takes it (and counts) first
        if self._unsent:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(most):
                    await self._all_sent.wait()

    @contextlib.asynccontextmanager
    async def downloading(self) -> AsyncIterator[None]:
        """While a download runs, small requests keep to their own lane and every archive lane is for archives."""
        self._downloads += 1
        try:
            yield
        finally:
            self._downloads -= 1

    @contextlib.asynccontextmanager
    async def archive(self) -> AsyncIterator[None]:
        async with self._archive_lanes, self._all_lanes:
            with self._counted():
                yield
        await self._freed()

    @contextlib.asynccontextmanager
    async def small(self) -> AsyncIterator[None]:
        """A lane for a small request: the first of its own lane or (no download running) a free archive lane.

        Waiting small requests take whichever frees first, so a burst of tables (a listing, the follow-up
        desk over many systems) keeps every lane busy, not only the small one."""
        while True:
            if self._downloads == 0 and not self._archive_lanes.locked() and not self._all_lanes.locked():
                lanes = self._archive_lanes  # an archive lane is free and no download waits for it: borrow it
                break
            if not self._small_lane.locked() and not self._all_lanes.locked():
                lanes = self._small_lane
                break
            async with self._lane_freed:
                await self._lane_freed.wait()
        async with lanes, self._all_lanes:
            with self._counted():
                yield
        await self._freed()

    async def _freed(self) -> None:
        async with self._lane_freed:
            self._lane_freed.notify_all()

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1

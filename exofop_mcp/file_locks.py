"""Advisory file locks that work across processes and inside one event loop.

``flock`` locks belong to an open file description, so two acquisitions of
the same lock file conflict whether they come from two processes or from two
tasks of one process.  Acquisition polls without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: locks are per process only
    fcntl = None  # type: ignore[assignment]

_process_locks: dict[str, asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def file_lock(path: Path, *, poll: float = 0.05) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``async with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        lock = _process_locks.setdefault(str(path), asyncio.Lock())
        async with lock:
            yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

"""Locks on a system directory that hold across processes and between tasks of one process.

One hidden file, ``<system>/.lock``, carries every lock of the system as a
POSIX byte-range lock: byte 0 guards the manifest, byte *N* guards tag *N*
(ranges past the end of the file are fine, so the file stays empty).  POSIX
range locks belong to a process, not to a task, so tasks of one process are
ordered by an asyncio lock per (file, byte) first, and the file stays open for
the life of the process (closing any descriptor of it would drop every lock
the process holds on it).  Acquisition polls without blocking the event loop.
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

_task_locks: dict[tuple[str, int], asyncio.Lock] = {}
_open_files: dict[str, int] = {}


def _descriptor(path: Path) -> int:
    key = str(path)
    fd = _open_files.get(key)
    if fd is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        _open_files[key] = fd
    return fd


@contextlib.asynccontextmanager
async def range_lock(path: Path, index: int, *, poll: float = 0.05) -> AsyncIterator[None]:
    """Hold lock number ``index`` of the lock file ``path`` for the ``async with`` block."""
    key = (str(path), index)
    task_lock = _task_locks.setdefault(key, asyncio.Lock())
    async with task_lock:
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = _descriptor(path)
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, index, os.SEEK_SET)
                break
            except OSError:
                await asyncio.sleep(poll)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, index, os.SEEK_SET)
            if not task_lock._waiters:
                _task_locks.pop(key, None)

"""Locks on a system directory that hold across processes and between tasks of one process.

One hidden file, ``<system>/.lock``, carries every lock of the system as a
POSIX byte-range lock: byte 0 guards the manifest (and the tables), byte *N*
guards tag *N* (ranges past the end of the file are fine, so the file stays
empty).  POSIX range locks belong to a process, not to a task, so tasks of one
process are ordered by an asyncio lock per (file, byte) first, and the file
stays open for the life of the process (closing any descriptor of it would drop
every lock the process holds on it).  Acquisition polls without blocking the
event loop, for at most a bound: a lock held by a stopped or hung process ends
in :class:`LockWaitTimeout`, which names the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from exofop_mcp.atomic_files import hint_for_os_error
from exofop_mcp.errors import AtomicWriteError, ExofopMcpError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: locks are per process only
    fcntl = None  # type: ignore[assignment]

_task_locks: dict[tuple[str, int], asyncio.Lock] = {}
_open_files: dict[str, int] = {}

#: ``struct flock`` on Linux and the BSDs as far as F_GETLK needs it (type, whence, start, length, pid).
_FLOCK = "hhqqi"


class LockWaitTimeout(ExofopMcpError):
    """Another process held the lock for longer than the wait allows."""

    code = "locked"

    def __init__(self, message: str, pid: int | None, *, hint: str | None = None) -> None:
        self.pid = pid
        super().__init__(message, hint=hint)


def _descriptor(path: Path) -> int:
    key = str(path)
    fd = _open_files.get(key)
    if fd is None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:  # a read-only or unwritable sandbox: say which file and why
            raise AtomicWriteError(
                f"The lock file {path} could not be opened for writing: {exc.strerror or type(exc).__name__}.",
                hint=hint_for_os_error(exc),
            ) from exc
        _open_files[key] = fd
    return fd


def lock_holder(path: Path, index: int) -> int | None:
    """The id of another process holding lock ``index`` of ``path``, if the system says (else ``None``)."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fd = _descriptor(path)
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, index, 1, 0) + bytes(16)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        l_type, _, _, _, pid = struct.unpack_from(_FLOCK, answer)
    except (OSError, struct.error):
        return None
    return pid if l_type != fcntl.F_UNLCK and pid > 0 else None


def describe_process(pid: int | None) -> str:
    """``"process 1234 (stopped)"``: a process by its id, with its state when the system tells."""
    if pid is None:
        return "another process"
    state = ""
    with contextlib.suppress(OSError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        state = {"T": " (stopped)", "t": " (stopped)", "Z": " (a zombie)", "D": " (waiting on the disk)"}.get(
            fields[0], ""
        )
    return f"process {pid}{state}"


@contextlib.asynccontextmanager
async def range_lock(
    path: Path,
    index: int,
    *,
    poll: float = 0.05,
    timeout: float | None = None,
    on_wait: Callable[[int | None], None] | None = None,
) -> AsyncIterator[None]:
    """Hold lock number ``index`` of the lock file ``path`` for the ``async with`` block.

    When another process holds it, ``on_wait`` is called once with that process's id; after
    ``timeout`` seconds of waiting on another process, :class:`LockWaitTimeout` is raised.
    """
    key = (str(path), index)
    task_lock = _task_locks.setdefault(key, asyncio.Lock())
    async with task_lock:
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = _descriptor(path)
        started: float | None = None
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, index, os.SEEK_SET)
                break
            except OSError:
                now = time.monotonic()
                if started is None:
                    started = now
                    if on_wait is not None:
                        on_wait(lock_holder(path, index))
                elif timeout is not None and now - started >= timeout:
                    pid = lock_holder(path, index)
                    raise LockWaitTimeout(
                        f"{describe_process(pid)} has held this lock for more than {timeout:g} s.",
                        pid,
                    ) from None
                await asyncio.sleep(poll)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, index, os.SEEK_SET)
            if not task_lock._waiters:
                _task_locks.pop(key, None)


@contextlib.contextmanager
def held_if_free(path: Path, index: int) -> Iterator[bool]:
    """Take lock ``index`` at once if no task of this process and no other process holds it.

    Yields whether it was taken (and releases it afterwards); used to tell abandoned temporary files
    (no live writer holds their lock) from files being written right now.
    """
    task_lock = _task_locks.get((str(path), index))
    if task_lock is not None and task_lock.locked():
        yield False
        return
    if fcntl is None:  # pragma: no cover
        yield False
        return
    fd = _descriptor(path)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, index, os.SEEK_SET)
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, index, os.SEEK_SET)

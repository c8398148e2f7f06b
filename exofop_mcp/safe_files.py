"""One discipline for every file the server reads or writes in the sandbox: open first, then check what was opened.

Reading (:func:`open_inside`)
    The path is walked one name at a time from the sandbox root's descriptor: each folder is opened
    with ``O_NOFOLLOW | O_DIRECTORY`` relative to the one before it (``openat``), the file itself with
    ``O_NOFOLLOW | O_NONBLOCK``.  There is no check-then-open window: what was opened is what is read,
    so a file or folder swapped for a link meanwhile is never followed out.  A symbolic link met on
    the way is followed only when its target, taken as a path relative to the folder holding it, stays
    inside the base folder (a system's directory); the walk then starts again from that folder with
    the target in place, again following nothing by itself.  A link leading out, ``..`` climbing out,
    an absolute path or more than :data:`MAX_LINK_HOPS` links is refused
    (:class:`~exofop_mcp.errors.SandboxEscapeError`).

    The opened descriptor is ``fstat``-ed: only a regular file is read.  A FIFO, device, socket or
    folder is refused (:class:`~exofop_mcp.errors.UnsafeFileError`); the non-blocking open never waits
    on a FIFO.  **Hard links are refused**: a regular file with more than one name (``st_nlink > 1``)
    is not read.  The server never makes hard links, a second name may be another local user's link
    to a file outside the sandbox, and nothing in the file says which name is the original one
    (copy a file into the sandbox rather than linking it).

    Every read comes from that descriptor only, never past the size the file had when it was opened
    (a file still growing is read to that size) nor past a cap given by the reader; lines are read
    with a length cap (:meth:`OpenedFile.lines`).  Past a cap the reader gets
    :class:`~exofop_mcp.errors.FileTooLargeError` with the reason, never a partial table.

Writing (:func:`open_folder_for_writing`, :meth:`WritableFolder.write`)
    Every folder from the root to the written file is opened (and created if missing, with ``mkdir``
    relative to its parent's descriptor) with ``O_NOFOLLOW | O_DIRECTORY``: a link anywhere on the
    way, even one that stays inside, is refused with a :class:`~exofop_mcp.errors.SandboxEscapeError`
    naming it, and nothing is written.  The file is written atomically into that folder's descriptor
    (:func:`~exofop_mcp.atomic_files.atomic_write_bytes_at`).  A read-only or unwritable sandbox gives
    :class:`~exofop_mcp.errors.AtomicWriteError` (``write_failed``) naming the path and the cause.

Removing (:func:`remove_inside`)
    The same walk to the folder, then ``unlinkat``: a link there is removed itself, never its target,
    and a path through a link removes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Self

from exofop_mcp.atomic_files import _wrap_os_error, atomic_write_bytes_at
from exofop_mcp.errors import AtomicWriteError, FileTooLargeError, SandboxEscapeError, UnsafeFileError

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_LINK_HOPS",
    "OpenedFile",
    "WritableFolder",
    "open_folder_for_writing",
    "open_inside",
    "remove_inside",
]

#: Links followed (inside the base folder) while opening one path, at most.
MAX_LINK_HOPS = 40
#: Longest line :meth:`OpenedFile.lines` returns unless the reader asks for another cap.
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 16

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_DIR_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_DIRECTORY | _O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


class NotAFileError(UnsafeFileError):
    """The path names a folder or a special file; ``entries`` lists a folder's first entries."""

    def __init__(self, message: str, *, hint: str | None = None, entries: list[str] | None = None) -> None:
        self.entries = entries
        super().__init__(message, hint=hint)


# -- reading -----------------------------------------------------------------------------------------


class _BoundedRaw(io.RawIOBase):
    """A read-only, seekable view of the first ``limit`` bytes of a descriptor (``pread``: no shared offset)."""

    def __init__(self, fd: int, limit: int, name: str) -> None:
        super().__init__()
        self._fd = fd
        self._limit = limit
        self._pos = 0
        self.name = name
        self.mode = "rb"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._limit - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._pos)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._limit}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def fileno(self) -> int:  # deliberately absent: readers must not bypass the bound
        raise io.UnsupportedOperation("fileno")


class OpenedFile:
    """A regular file opened inside a base folder by :func:`open_inside`; read it only through this object."""

    def __init__(self, fd: int, st: os.stat_result, relative: PurePosixPath, path: Path) -> None:
        self.fd = fd
        self.st = st
        #: The file's real path below the base folder (links that stay inside followed).
        self.relative = relative
        #: The base folder joined with :attr:`relative`, for messages.
        self.path = path

    @property
    def size(self) -> int:
        """The size the file had when it was opened: no read goes past it."""
        return self.st.st_size

    @property
    def name(self) -> str:
        return self.relative.name

    def _refuse_size(self, cap: int, what: str) -> FileTooLargeError:
        return FileTooLargeError(
            f"{self.path} is {self.size:,} bytes, more than the {cap:,} bytes {what} reads; it was not read.",
            hint="A file this large is not what this reader expects; open it with another program.",
        )

    def read(self, cap: int, *, what: str = "this reader") -> bytes:
        """The whole file, refused (:class:`FileTooLargeError`) when it is larger than ``cap`` bytes."""
        if self.size > cap:
            raise self._refuse_size(cap, what)
        return self.head(self.size)

    def head(self, count: int) -> bytes:
        """At most ``count`` bytes from the start (never past the size at open)."""
        want = min(count, self.size)
        parts = []
        pos = 0
        while pos < want:
            data = os.pread(self.fd, min(want - pos, 1 << 24), pos)
            if not data:  # the file shrank meanwhile
                break
            parts.append(data)
            pos += len(data)
        return b"".join(parts)

    def binary(self, cap: int | None = None, *, what: str = "this reader") -> io.BufferedReader:
        """A seekable binary file object over the file (for Pillow, astropy), ending at the size at open.

        With ``cap``, a file larger than ``cap`` bytes is refused.  Closing it leaves this object open."""
        if cap is not None and self.size > cap:
            raise self._refuse_size(cap, what)
        return io.BufferedReader(_BoundedRaw(self.fd, self.size, str(self.path)), buffer_size=_CHUNK)

    def lines(self, *, max_line_bytes: int = MAX_LINE_BYTES, start: int = 0) -> Iterator[bytes]:
        """The file's lines (without their ``\\n``) up to the size at open; a longer line than
        ``max_line_bytes`` raises :class:`FileTooLargeError` (the line is never held whole)."""
        pos = start
        pending = b""
        number = 0
        while pos < self.size:
            data = os.pread(self.fd, min(_CHUNK, self.size - pos), pos)
            if not data:
                break
            pos += len(data)
            pending += data
            pieces = pending.split(b"\n")
            pending = pieces.pop()
            for line in pieces:
                number += 1
                if len(line) > max_line_bytes:
                    raise self._long_line(number, max_line_bytes)
                yield line
            if len(pending) > max_line_bytes:
                raise self._long_line(number + 1, max_line_bytes)
        if pending:
            yield pending

    def _long_line(self, number: int, cap: int) -> FileTooLargeError:
        return FileTooLargeError(
            f"line {number} of {self.path} is longer than {cap:,} bytes; the file was not read.",
            hint="A table with lines this long (or this many columns) is not a measurement table.",
        )

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _parts(relative: str | PurePosixPath, where: Path) -> list[str]:
    text = str(relative)
    if text.startswith("/") or "\0" in text:
        raise SandboxEscapeError(f"{text!r} is not a path inside {where}; it is not used.")
    return [part for part in text.split("/") if part not in ("", ".")]


def _link_target(dir_fd: int, name: str) -> str | None:
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:  # not a link (EINVAL), or gone
        return None


def _walk(start_fd: int, start: Path, parts: Sequence[str], *, file: bool, follow: bool) -> tuple[int, list[str]]:
    """Open ``parts`` below the open folder ``start_fd`` (the folder ``start``) without leaving it.

    Returns the descriptor (a folder's, or with ``file`` the last name's, opened non-blocking) and the
    real names below ``start``.  With ``follow``, links whose targets stay below ``start`` are followed
    as described in the module docstring; without, any link is refused."""
    pending = list(parts)
    done: list[str] = []
    current = os.dup(start_fd)
    hops = 0
    try:
        while pending:
            name = pending.pop(0)
            if name in ("", "."):
                continue
            if name == "..":
                if not done:
                    raise SandboxEscapeError(
                        f"{start / '/'.join(parts)} climbs out of {start} with '..'; it is not used."
                    )
                pending = done[:-1] + pending
                done = []
                os.close(current)
                current = os.dup(start_fd)
                continue
            last = file and not pending
            try:
                fd = os.open(name, _FILE_FLAGS if last else _DIR_FLAGS, dir_fd=current)
            except OSError as exc:
                target = _link_target(current, name) if exc.errno in (errno.ELOOP, errno.ENOTDIR) else None
                if target is None:
                    raise
                shown = start.joinpath(*done, name)
                if not follow:
                    raise SandboxEscapeError(
                        f"{shown} is a symbolic link (to {target}); exofop-mcp writes only into real folders "
                        f"inside {start}, so nothing was written.",
                        hint="Replace that link with a real folder (or remove it) and ask again.",
                    ) from None
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise SandboxEscapeError(f"{shown} goes through more than {MAX_LINK_HOPS} links.") from None
                if target.startswith("/"):
                    absolute = PurePosixPath(target)
                    if not absolute.is_relative_to(start):
                        raise SandboxEscapeError(
                            f"{shown} is a link leading outside {start} (to {target}); it is not read."
                        ) from None
                    new = list(absolute.relative_to(start).parts)
                else:
                    new = done + target.split("/")
                depth = 0
                for part in new:  # a relative target that climbs above the start folder leads out
                    depth += -1 if part == ".." else 0 if part in ("", ".") else 1
                    if depth < 0:
                        raise SandboxEscapeError(
                            f"{shown} is a link leading outside {start} (to {target}); it is not read."
                        ) from None
                pending = new + pending
                done = []
                os.close(current)
                current = os.dup(start_fd)
                continue
            os.close(current)
            current = fd
            done.append(name)
        result, current = current, -1
        return result, done
    finally:
        if current >= 0:
            os.close(current)


def open_inside(
    base: Path, relative: str | PurePosixPath, *, root: Path | None = None, folders: bool = False
) -> OpenedFile:
    """Open the regular file ``relative`` below the folder ``base`` (itself below ``root``) for reading.

    ``base`` and ``root`` are trusted (the sandbox root from the settings, a system's directory built
    from a canonical name); ``relative`` is not.  Raises :class:`SandboxEscapeError`,
    :class:`NotAFileError` (with a folder's ``entries`` when ``folders`` is true),
    :class:`UnsafeFileError` (a hard link), or :class:`OSError` (``FileNotFoundError`` when missing).
    """
    root = root or base
    names = _parts(relative, base)
    if not names:
        raise NotAFileError(f"{base} is a folder, not a file.")
    root_fd = os.open(root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        base_fd, base_parts = _walk(root_fd, root, base.relative_to(root).parts, file=False, follow=True)
    finally:
        os.close(root_fd)
    real_base = root.joinpath(*base_parts)
    try:
        fd, real = _walk(base_fd, real_base, names, file=True, follow=True)
    finally:
        os.close(base_fd)
    relative_real = PurePosixPath(*real)
    shown = base / relative_real
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            entries = None
            if stat.S_ISDIR(st.st_mode) and folders:
                entries = sorted(os.listdir(fd))[:50]
            raise NotAFileError(f"{shown} is {_kind(st.st_mode)}, not a regular file; it is not read.", entries=entries)
        if st.st_nlink > 1:
            raise UnsafeFileError(
                f"{shown} has {st.st_nlink} names (hard links); exofop-mcp does not read a file that another "
                "name outside the sandbox may share.",
                hint="Replace the hard link with a copy of the file (cp, not ln) and ask again.",
            )
    except BaseException:
        os.close(fd)
        raise
    return OpenedFile(fd, st, relative_real, shown)


# -- writing -----------------------------------------------------------------------------------------


class WritableFolder:
    """A real folder inside the sandbox, opened by :func:`open_folder_for_writing`; writes go into its descriptor."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def write(self, name: str, data: bytes, *, durable: bool = False) -> Path:
        """Write the file ``name`` of this folder atomically; returns its path."""
        path = self.path / name
        atomic_write_bytes_at(self.fd, name, data, shown_as=path, durable=durable)
        return path

    def size_of(self, name: str) -> int:
        return os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_size

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_folder_for_writing(root: Path, relative: str | PurePosixPath, *, create: bool = True) -> WritableFolder:
    """Open (creating what is missing) the folder ``relative`` below ``root`` with no link on the way.

    Raises :class:`SandboxEscapeError` naming a link met on the way (nothing is written through it)
    and :class:`AtomicWriteError` (``write_failed``) naming the folder and the cause when it cannot be
    created or opened (a read-only sandbox, permissions, a file where a folder should be)."""
    names = _parts(relative, root)
    if any(name == ".." for name in names):
        raise SandboxEscapeError(f"{root / str(relative)} climbs out of {root} with '..'; nothing was written.")
    try:
        root.mkdir(parents=True, exist_ok=True)
        current = os.open(root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError as exc:
        raise _wrap_os_error(exc, "open the folder", root) from exc
    done = root
    try:
        for name in names:
            done = done / name
            fd = -1
            for _ in range(3):  # created or removed by someone else meanwhile: look again
                try:
                    fd = os.open(name, _DIR_FLAGS, dir_fd=current)
                    break
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(name, 0o755, dir_fd=current)
                    except FileExistsError:
                        continue
                except OSError as exc:
                    target = _link_target(current, name) if exc.errno in (errno.ELOOP, errno.ENOTDIR) else None
                    if target is None:
                        raise
                    raise SandboxEscapeError(
                        f"{done} is a symbolic link (to {target}); exofop-mcp writes only into real folders "
                        f"inside {root}, so nothing was written.",
                        hint="Replace that link with a real folder (or remove it) and ask again.",
                    ) from None
            if fd < 0:
                raise FileNotFoundError(errno.ENOENT, "the folder keeps disappearing", str(done))
            os.close(current)
            current = fd
    except SandboxEscapeError:
        os.close(current)
        raise
    except FileNotFoundError:
        os.close(current)
        raise
    except OSError as exc:
        os.close(current)
        raise _wrap_os_error(exc, "create the folder", done) from exc
    return WritableFolder(current, done)


def remove_inside(root: Path, relative: str | PurePosixPath) -> bool:
    """Remove the file ``relative`` below ``root`` if there is one, reached with no link on the way.

    A link at the end is removed itself, never its target; a path through a link removes nothing
    (:class:`SandboxEscapeError`).  Returns whether something was removed."""
    names = _parts(relative, root)
    if not names or ".." in names:
        raise SandboxEscapeError(f"{root / str(relative)} is not a file inside {root}; nothing was removed.")
    try:
        folder = open_folder_for_writing(root, PurePosixPath(*names[:-1]) if names[:-1] else ".", create=False)
    except FileNotFoundError:
        return False
    with folder:
        try:
            if stat.S_ISDIR(os.stat(names[-1], dir_fd=folder.fd, follow_symlinks=False).st_mode):
                return False
            os.unlink(names[-1], dir_fd=folder.fd)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _wrap_os_error(exc, "remove", folder.path / names[-1]) from exc
    return True


def is_write_failure(exc: BaseException) -> bool:
    """A failure to write (as opposed to a failure to read): the documented ``write_failed`` errors."""
    return isinstance(exc, AtomicWriteError)

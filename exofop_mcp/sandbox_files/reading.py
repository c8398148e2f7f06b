"""Reading a file of the sandbox: open it first, check the opened descriptor, read that descriptor only."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from exofop_mcp.errors import FileTooLargeError, UnsafeFileError
from exofop_mcp.sandbox_files.walk import NotAFileError, OpenDescriptor, kind_of, names_of, walk

#: Longest line :meth:`OpenedFile.lines` returns unless the reader asks for another cap.
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 16
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


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


class OpenedFile(OpenDescriptor):
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
    names = names_of(relative, base)
    if not names:
        raise NotAFileError(f"{base} is a folder, not a file.")
    root_fd = os.open(root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        base_fd, base_parts = walk(root_fd, root, base.relative_to(root).parts, file=False, follow=True)
    finally:
        os.close(root_fd)
    real_base = root.joinpath(*base_parts)
    try:
        fd, real = walk(base_fd, real_base, names, file=True, follow=True)
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
            raise NotAFileError(
                f"{shown} is {kind_of(st.st_mode)}, not a regular file; it is not read.", entries=entries
            )
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

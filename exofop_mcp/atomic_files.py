"""Crash-safe file writing.

Every file this package produces is written under a temporary name in the *same directory* as its
final path and then moved into place with :func:`os.replace`, which is atomic on POSIX and Windows
when both names are on the same file system.  A crash (power cut, ``SIGKILL``, full disk) at any
moment therefore leaves either the old file or the new one at the final path, never a half-written
file that looks complete.  Leftover temporary files are recognisable by their name and can be removed
with :func:`remove_stale_temp_files`.

There is one writer, :class:`AtomicStreamWriter` (downloads stream through it, chunk by chunk);
:func:`atomic_write_text` writes a whole text file through it (manifests, sessions, schemas).

Temporary names:

* files: ``.<name>.<random>.part`` (see :data:`TEMP_SUFFIX`),
* directories (used by :mod:`exofop_mcp.downloads.archive_extraction` while extracting an archive):
  ``.<name>.<random>.partdir`` (see :data:`TEMP_DIR_SUFFIX`),

where ``<random>`` is :data:`TOKEN_LENGTH` lowercase hexadecimal digits.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import stat
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

from exofop_mcp.errors import AtomicWriteError

__all__ = [
    "TEMP_DIR_SUFFIX",
    "TEMP_SUFFIX",
    "TOKEN_LENGTH",
    "AtomicStreamWriter",
    "atomic_write_bytes_at",
    "atomic_write_text",
    "fsync_directory",
    "hint_for_os_error",
    "is_temp_name",
    "make_temp_dir",
    "remove_stale_temp_files",
    "temp_path_for",
]

TEMP_SUFFIX = ".part"
"""Suffix of temporary files; the full pattern is ``.<name>.<random>.part``."""

TEMP_DIR_SUFFIX = ".partdir"
"""Suffix of temporary directories; the full pattern is ``.<name>.<random>.partdir``."""

TOKEN_LENGTH = 8
"""Number of random hexadecimal digits in a temporary name."""

# Longest part of the final name kept inside a temporary name, in UTF-8 bytes.  File names are
# limited to 255 bytes on common file systems; the prefix, token and suffix need at most 20 more.
_MAX_STEM_BYTES = 200
_CREATE_ATTEMPTS = 100

_TEMP_NAME_RE = re.compile(
    rf"^\.(?P<stem>.+)\.(?P<token>[0-9a-f]{{{TOKEN_LENGTH}}})"
    rf"(?P<suffix>{re.escape(TEMP_SUFFIX)}|{re.escape(TEMP_DIR_SUFFIX)})$",
    re.DOTALL,
)

_O_BINARY: int = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)


def hint_for_os_error(err: OSError) -> str:
    """A short sentence telling the user what to do about a failed file-system operation."""
    code = err.errno
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        return "Free some disk space or choose another download directory."
    if code in (errno.EACCES, errno.EPERM):
        return "Check the permissions of the directory or choose another directory."
    if code == errno.EROFS:
        return "The file system is read-only; choose a writable directory."
    if code == errno.ENOENT:
        return "The directory does not exist; create it or choose another directory."
    if code == errno.ENAMETOOLONG:
        return "The file name is too long for this file system; choose a shorter directory path."
    if code in (errno.EISDIR, errno.ENOTDIR):
        return "A directory and a file have the same name; move or delete the one in the way."
    return "Check that the directory exists, is writable and has free space."


def _wrap_os_error(err: OSError, action: str, path: Path) -> AtomicWriteError:
    reason = err.strerror or str(err)
    wrapped = AtomicWriteError(f"Could not {action} {path}: {reason}.", hint=hint_for_os_error(err))
    wrapped.errno = err.errno
    return wrapped


# --------------------------------------------------------------------------------------------------
# Temporary names
# --------------------------------------------------------------------------------------------------


def _stem(name: str) -> str:
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= _MAX_STEM_BYTES:
        return name
    return encoded[:_MAX_STEM_BYTES].decode("utf-8", "ignore") or "file"


def temp_path_for(path: Path, *, directory: bool = False) -> Path:
    """Return a fresh temporary sibling of ``path`` (nothing is created).

    ``.<name>.<random>.part`` for files, ``.<name>.<random>.partdir`` when ``directory`` is true.
    Long names are shortened so the temporary name stays within file-system limits.
    """
    path = Path(path)
    suffix = TEMP_DIR_SUFFIX if directory else TEMP_SUFFIX
    token = secrets.token_hex(TOKEN_LENGTH // 2)
    return path.with_name(f".{_stem(path.name or 'file')}.{token}{suffix}")


def is_temp_name(name: str) -> bool:
    """Tell whether ``name`` (a bare file name, not a path) looks like one of our temporary names."""
    return _TEMP_NAME_RE.match(name) is not None


def make_temp_dir(path: Path, *, mode: int = 0o755) -> Path:
    """Create and return an empty temporary directory next to ``path`` (``.<name>.<random>.partdir``).

    Being a sibling, it lives on the same file system, so it can later be renamed onto ``path``.
    """
    path = Path(path)
    last_error: OSError | None = None
    for _ in range(_CREATE_ATTEMPTS):
        candidate = temp_path_for(path, directory=True)
        try:
            os.mkdir(candidate, mode)
        except FileExistsError as exc:
            last_error = exc
            continue
        except OSError as exc:
            raise _wrap_os_error(exc, "create a temporary directory next to", path) from exc
        return candidate
    assert last_error is not None
    raise _wrap_os_error(last_error, "create a temporary directory next to", path) from last_error


def _create_temp_file(path: Path, permissions: int | None) -> tuple[int, Path]:
    """Create an empty temporary sibling of ``path`` and return ``(fd, temp_path)``.

    With ``permissions`` the file is *created* with at most those bits (``os.open`` mode, further
    reduced by the umask) and then set to exactly those bits while still empty, so its content is
    never readable by anyone the caller did not allow.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_NOFOLLOW | _O_CLOEXEC
    create_mode = 0o666 if permissions is None else permissions & 0o777
    last_error: OSError | None = None
    for _ in range(_CREATE_ATTEMPTS):
        candidate = temp_path_for(path)
        try:
            fd = os.open(candidate, flags, create_mode)
        except FileExistsError as exc:
            last_error = exc
            continue
        except OSError as exc:
            raise _wrap_os_error(exc, "create a temporary file next to", path) from exc
        if permissions is not None and hasattr(os, "fchmod"):
            try:
                os.fchmod(fd, permissions & 0o777)
            except OSError as exc:
                os.close(fd)
                _unlink_quietly(candidate)
                raise _wrap_os_error(exc, "set permissions of a temporary file next to", path) from exc
        return fd, candidate
    assert last_error is not None
    raise _wrap_os_error(last_error, "create a temporary file next to", path) from last_error


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def fsync_directory(directory: Path) -> None:
    """Flush a directory entry change (create, rename, delete) to disk; best effort, never raises."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _commit(temp: Path, path: Path, *, durable: bool) -> None:
    """Move a fully written, closed temporary file onto ``path``; on failure remove it."""
    try:
        os.replace(temp, path)
    except OSError as exc:
        _unlink_quietly(temp)
        raise _wrap_os_error(exc, "move the new file into place at", path) from exc
    if durable:
        fsync_directory(path.parent)


# --------------------------------------------------------------------------------------------------
# Streaming writer (downloads)
# --------------------------------------------------------------------------------------------------


def _finalize_abandoned(handle: BinaryIO, temp: Path) -> None:
    # Runs if a writer is garbage-collected (or the interpreter exits) without commit/discard.
    with contextlib.suppress(OSError):
        handle.close()
    _unlink_quietly(temp)


class AtomicStreamWriter:
    """Stream bytes into a temporary sibling of ``path``; move it into place only on :meth:`commit`.

    Memory use is flat whatever the size: each chunk is hashed (SHA-256) and written straight to
    disk.  Only the first :attr:`head_size` bytes are kept (:attr:`head`) so the caller can check what
    the server actually sent (see :func:`exofop_mcp.site.responses.sniff_body`) before committing.

    Typical use, also valid inside ``async`` code (the writes are ordinary blocking writes to a local
    file; ``async with`` runs the final ``fsync`` + rename in a worker thread, or inline when not durable)::

        with AtomicStreamWriter(target) as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
            if out.bytes_written == 0:
                out.discard()        # nothing is committed; the temporary file is removed
        # committed here on clean exit; on exception the temporary file is removed

    The object can also be driven by hand: :meth:`open`, :meth:`write`, then :meth:`commit` or
    :meth:`discard`.  A writer that is garbage-collected without either removes its temporary file.
    """

    def __init__(
        self,
        path: Path,
        *,
        permissions: int | None = None,
        durable: bool = True,
        head_size: int = 8192,
    ) -> None:
        self.path = Path(path)
        self.permissions = permissions
        self.durable = durable
        self.head_size = head_size
        self._handle: BinaryIO | None = None
        self._temp: Path | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._hash = hashlib.sha256()
        self._bytes_written = 0
        self._head = bytearray()
        self._state = "new"  # new -> open -> committed | discarded

    # -- state ----------------------------------------------------------------------------------
    @property
    def temp_path(self) -> Path | None:
        """The temporary file being written (``None`` before :meth:`open` and after commit/discard)."""
        return self._temp if self._state == "open" else None

    @property
    def bytes_written(self) -> int:
        """Number of bytes written so far."""
        return self._bytes_written

    @property
    def head(self) -> bytes:
        """The first :attr:`head_size` bytes written (for sniffing the content type)."""
        return bytes(self._head)

    @property
    def committed(self) -> bool:
        return self._state == "committed"

    @property
    def discarded(self) -> bool:
        return self._state == "discarded"

    def sha256_hex(self) -> str:
        """Hex SHA-256 of the bytes written so far."""
        return self._hash.hexdigest()

    # -- operations -----------------------------------------------------------------------------
    def open(self) -> Self:
        """Create the temporary file.  Called automatically by ``with``/``async with``."""
        if self._state != "new":
            raise RuntimeError(f"the writer for {self.path} was already opened")
        fd, temp = _create_temp_file(self.path, self.permissions)
        try:
            handle = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            _unlink_quietly(temp)
            raise
        self._handle = handle
        self._temp = temp
        self._finalizer = weakref.finalize(self, _finalize_abandoned, handle, temp)
        self._state = "open"
        return self

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data`` and return its length; disk errors raise :class:`AtomicWriteError`."""
        if self._state != "open" or self._handle is None:
            raise RuntimeError(f"cannot write to {self.path}: the writer is {self._state}, not open")
        view = memoryview(data).cast("B")
        size = len(view)
        try:
            self._handle.write(view)
        except OSError as exc:
            raise _wrap_os_error(exc, "write", self.path) from exc
        self._hash.update(view)
        if len(self._head) < self.head_size:
            self._head += view[: self.head_size - len(self._head)]
        self._bytes_written += size
        return size

    def commit(self) -> Path:
        """Flush, ``fsync``, close and move the temporary file onto :attr:`path`; return :attr:`path`.

        On failure the temporary file is removed and :class:`AtomicWriteError` is raised.
        """
        if self._state != "open" or self._handle is None or self._temp is None:
            raise RuntimeError(f"cannot commit {self.path}: the writer is {self._state}, not open")
        handle, temp = self._handle, self._temp
        self._detach()
        try:
            try:
                handle.flush()
                if self.durable:
                    os.fsync(handle.fileno())
            finally:
                handle.close()
        except OSError as exc:
            _unlink_quietly(temp)
            self._state = "discarded"
            raise _wrap_os_error(exc, "write", self.path) from exc
        try:
            _commit(temp, self.path, durable=self.durable)
        except BaseException:
            self._state = "discarded"
            raise
        self._state = "committed"
        return self.path

    def discard(self) -> None:
        """Close and delete the temporary file; :attr:`path` is left untouched.  Idempotent."""
        if self._state != "open":
            if self._state == "new":
                self._state = "discarded"
            return
        handle, temp = self._handle, self._temp
        self._detach()
        self._state = "discarded"
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()
        if temp is not None:
            _unlink_quietly(temp)

    def _detach(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        self._handle = None

    # -- context managers -----------------------------------------------------------------------
    def _finish(self, failed: bool) -> None:
        if failed:
            self.discard()
        elif self._state == "open":
            self.commit()

    def __enter__(self) -> Self:
        if self._state == "new":
            self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc_type is not None)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()
            return
        if not self.durable:  # a flush and a rename: quicker here than a hop to a worker thread
            self._finish(False)
            return
        import anyio.to_thread

        await anyio.to_thread.run_sync(self._finish, False)

    def __repr__(self) -> str:
        return f"<AtomicStreamWriter {str(self.path)!r} {self._state}, {self._bytes_written} bytes>"


# --------------------------------------------------------------------------------------------------
# Whole files
# --------------------------------------------------------------------------------------------------


def atomic_write_text(
    path: Path,
    text: str,
    *,
    encoding: str = "utf-8",
    permissions: int | None = None,
    durable: bool = True,
) -> None:
    """Atomically replace ``path`` with ``text`` encoded as ``encoding``; newlines are written as-is.

    The text is written to ``.<name>.<random>.part`` in the same directory, ``fsync``-ed, moved onto
    ``path`` with :func:`os.replace` and the directory is ``fsync``-ed (best effort); on any failure
    the temporary file is removed and ``path`` is left as it was.  ``permissions`` (e.g. ``0o600``
    for secrets) is applied when the temporary file is created, before any byte is written; without
    it the file gets the usual ``0o666`` minus the umask.  ``durable=False`` skips the ``fsync``
    calls (still atomic, but may be lost on power failure).  File-system errors are raised as
    :class:`~exofop_mcp.errors.AtomicWriteError`.
    """
    data = text.encode(encoding)  # an encoding error leaves no file behind
    atomic_write_bytes(path, data, permissions=permissions, durable=durable)


def atomic_write_bytes(path: Path, data: bytes, *, permissions: int | None = None, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``data``, as :func:`atomic_write_text` does (e.g. a plot's PNG)."""
    with AtomicStreamWriter(path, permissions=permissions, durable=durable, head_size=0) as out:
        out.write(data)


def atomic_write_bytes_at(dir_fd: int, name: str, data: bytes, *, shown_as: Path, durable: bool = False) -> None:
    """Atomically replace the entry ``name`` of the open directory ``dir_fd`` with ``data``.

    The same temporary-name-then-rename as :func:`atomic_write_bytes`, but every name is taken
    relative to a directory descriptor (``openat``/``renameat``), so no folder on the way can be
    swapped for a link meanwhile: :func:`exofop_mcp.sandbox_files.open_folder_for_writing` opened that
    directory without following any link.  The temporary file is created with ``O_NOFOLLOW``, and a
    rename replaces a link at ``name`` itself, never what it points to.  ``shown_as`` (the final path)
    names the file in errors, raised as :class:`~exofop_mcp.errors.AtomicWriteError`.
    """
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"{name!r} is not a plain file name")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_NOFOLLOW | _O_CLOEXEC
    for _ in range(_CREATE_ATTEMPTS):
        temp = temp_path_for(Path(name)).name
        try:
            fd = os.open(temp, flags, 0o666, dir_fd=dir_fd)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _wrap_os_error(exc, "create a temporary file next to", shown_as) from exc
        break
    else:
        raise _wrap_os_error(FileExistsError(errno.EEXIST, "File exists"), "create a temporary file next to", shown_as)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
        raise _wrap_os_error(exc, "write", shown_as) from exc
    if durable:
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)


# --------------------------------------------------------------------------------------------------
# Cleaning up after a crash
# --------------------------------------------------------------------------------------------------


def _newest_mtime(entry: os.DirEntry[str]) -> float:
    """Latest modification time of an entry, looking inside directories (without following links)."""
    newest = entry.stat(follow_symlinks=False).st_mtime
    if entry.is_dir(follow_symlinks=False):
        for root, dirs, files in os.walk(entry.path, followlinks=False):
            for name in (*dirs, *files):
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def remove_stale_temp_files(directory: Path, *, recursive: bool = True, min_age_seconds: float = 0.0) -> list[Path]:
    """Delete leftovers of interrupted writes under ``directory``; return what was removed (sorted).

    Only entries whose *name* matches our temporary patterns (``.<name>.<random>.part`` files and
    ``.<name>.<random>.partdir`` directories, see :func:`is_temp_name`) are touched; symbolic links
    are never followed nor removed.  ``recursive`` also searches sub-directories (a temporary
    directory itself is removed as a whole, not searched).

    If another process may be writing in the same directory right now, pass ``min_age_seconds``
    (e.g. ``3600``): entries modified more recently than that (for directories: anything inside
    them) are left alone.  A missing ``directory`` is not an error.
    """
    removed: list[Path] = []
    now = time.time()

    def visit(folder: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            try:
                if entry.is_symlink():
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                match = _TEMP_NAME_RE.match(entry.name)
                if match is not None:
                    wants_dir = match.group("suffix") == TEMP_DIR_SUFFIX
                    if wants_dir != is_dir:
                        continue
                    if min_age_seconds > 0 and now - _newest_mtime(entry) < min_age_seconds:
                        continue
                    if is_dir:
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed.append(Path(entry.path))
                elif is_dir and recursive:
                    visit(entry.path)
            except FileNotFoundError:
                continue  # removed concurrently

    start = Path(directory)
    try:
        if not stat.S_ISDIR(os.stat(start).st_mode):
            return []
    except FileNotFoundError:
        return []
    visit(os.fspath(start))
    if removed:
        fsync_directory(start)
    return sorted(removed)

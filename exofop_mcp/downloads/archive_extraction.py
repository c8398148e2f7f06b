"""Safe extraction of downloaded ZIP archives.

ExoFOP delivers a tag (the files one observer uploaded) as a ZIP archive.  An archive is untrusted
input: its member names, types, sizes and compression ratios are all checked *before* anything is
written (:func:`inspect_zip`, see :mod:`exofop_mcp.downloads.archive_plan` for what is refused),
and :func:`extract_zip` writes into a temporary directory next to the destination that is moved
into place only when every member has been extracted and verified (on Linux by exchanging the two
directories atomically with ``renameat2(RENAME_EXCHANGE)``).  Whatever goes wrong, the destination
is either the old directory or the complete new one, and no byte is ever written outside it.

What is reported as damaged (:class:`~exofop_mcp.errors.CorruptArchive`): not a ZIP at all (the
message describes what the file starts with, e.g. an HTML login page), truncated data, bad CRC, and
entries whose data does not match the size declared in the archive directory (extraction stops at
the first byte beyond the declared size).  Failed writes are
:class:`~exofop_mcp.errors.ExtractionIOError`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import logging
import os
import shutil
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

from exofop_mcp.atomic_files import fsync_directory, hint_for_os_error, make_temp_dir, temp_path_for
from exofop_mcp.downloads import written_hashes
from exofop_mcp.downloads.archive_limits import TRUSTED_ARCHIVE_HINT, ExtractionLimits
from exofop_mcp.downloads.archive_plan import PlannedMember, ZipPlan, make_plan
from exofop_mcp.downloads.streaming_unpack import StreamingUnpacker, matches_plan
from exofop_mcp.downloads.zip_reader import member_chunks, open_zip
from exofop_mcp.errors import CorruptArchive, ExofopMcpError, ExtractionIOError, UnsafeArchive
from exofop_mcp.text_format import format_bytes

__all__ = ["extract_zip", "inspect_zip"]

log = logging.getLogger(__name__)


def inspect_zip(
    path: Path, limits: ExtractionLimits | None = None, *, flatten_single_top_folder: bool = True
) -> ZipPlan:
    """Check an archive and return what :func:`extract_zip` would write, writing nothing.

    Raises :class:`UnsafeArchive`, :class:`CorruptArchive` or :class:`UnsupportedArchive` for any
    problem visible from the archive directory (data-level problems such as a bad CRC are found
    only while extracting).
    """
    archive = Path(path)
    limits = limits or ExtractionLimits()
    with open_zip(archive, limits) as (zf, _fh, size):
        return make_plan(zf, archive, size, limits, flatten_single_top_folder)


def _io_error(err: OSError, what: str, archive: Path) -> ExtractionIOError:
    reason = err.strerror or str(err)
    wrapped = ExtractionIOError(f"{what}: {reason}", archive=archive, hint=hint_for_os_error(err))
    wrapped.errno = err.errno
    return wrapped


_FILE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _extract_member(
    zf: zipfile.ZipFile,
    fh: BinaryIO,
    info: zipfile.ZipInfo,
    target: Path,
    archive: Path,
    durable: bool,
) -> int:
    name = info.orig_filename
    try:
        fd = os.open(target, _FILE_FLAGS, 0o644)
    except FileExistsError as exc:
        raise UnsafeArchive(
            f"member {name!r} collides with another member on this file system", archive=archive, member=name
        ) from exc
    except OSError as exc:
        raise _io_error(exc, f"cannot create {target.name!r}", archive) from exc
    written = 0
    with os.fdopen(fd, "wb") as out:
        chunks = member_chunks(zf, fh, info, archive)
        try:
            for chunk in chunks:
                written += len(chunk)
                if written > info.file_size:
                    raise CorruptArchive(
                        f"member {name!r} holds more data than the {info.file_size:,} bytes its header declares",
                        archive=archive,
                        member=name,
                        hint="Nothing was extracted. The archive is damaged or crafted; do not trust it.",
                    )
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _io_error(exc, f"cannot write {target.name!r}", archive) from exc
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        if written != info.file_size:
            raise CorruptArchive(
                f"member {name!r} holds {written:,} bytes but its header declares {info.file_size:,}",
                archive=archive,
                member=name,
            )
        try:
            out.flush()
            if durable:
                os.fsync(out.fileno())
        except OSError as exc:
            raise _io_error(exc, f"cannot write {target.name!r}", archive) from exc
    with contextlib.suppress(ValueError, OverflowError, OSError):
        mtime = time.mktime((*info.date_time, 0, 0, -1))
        os.utime(target, (mtime, mtime))
    return written


def _inside(root: Path, target: Path) -> bool:
    return target.resolve().is_relative_to(root)


def _extract_into(
    zf: zipfile.ZipFile,
    fh: BinaryIO,
    plan: ZipPlan,
    temp: Path,
    limits: ExtractionLimits,
    durable: bool,
) -> None:
    root = temp.resolve()
    infos = zf.infolist()
    directories: set[Path] = {temp}
    total = 0

    def make_dirs(folder: Path, member: PlannedMember) -> None:
        try:
            os.makedirs(folder, 0o755, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise UnsafeArchive(
                f"member {member.name!r} collides with another member on this file system",
                archive=plan.archive,
                member=member.name,
            ) from exc
        except OSError as exc:
            raise _io_error(exc, f"cannot create folder {member.path!r}", plan.archive) from exc
        while folder != temp and folder not in directories:
            directories.add(folder)
            folder = folder.parent

    for member in plan.members:
        target = temp.joinpath(*member.path.split("/"))
        if not _inside(root, target):
            raise UnsafeArchive(
                f"member {member.name!r} would be written outside the destination",
                archive=plan.archive,
                member=member.name,
            )
        if member.is_dir:
            make_dirs(target, member)
            continue
        make_dirs(target.parent, member)
        if not _inside(root, target.parent):
            raise UnsafeArchive(
                f"member {member.name!r} would be written outside the destination",
                archive=plan.archive,
                member=member.name,
            )
        info = infos[member.index]
        if total + info.file_size > limits.max_total_uncompressed:
            raise UnsafeArchive(
                f"its members would expand to more than {format_bytes(limits.max_total_uncompressed)}",
                archive=plan.archive,
                hint=TRUSTED_ARCHIVE_HINT,
            )
        total += _extract_member(zf, fh, info, target, plan.archive, durable)
    if durable:
        for folder in sorted(directories, key=lambda p: len(p.parts), reverse=True):
            fsync_directory(folder)


def _adopt_streamed(
    zf: zipfile.ZipFile, plan: ZipPlan, streamed: StreamingUnpacker, destination: Path, durable: bool
) -> Path | None:
    """The streamed files as a finished temporary directory beside ``destination``, or ``None``.

    Used only if every member of the central directory (already checked by the plan) is exactly
    what was streamed: same local header offset, name, method, sizes and CRC-32, and the same
    paths.  Then the folder the plan strips (or the streamed root) is renamed to a temporary name
    beside ``destination``, modification times are set from the central directory and the folders
    are synced, as :func:`_extract_into` does.  Any difference or failure: ``None`` (the caller
    extracts from the archive; what was streamed is removed when the unpacker is closed).
    """
    result = streamed.result()
    if result is None:
        log.debug("%s: the streamed unpack gave up (%s)", plan.archive.name, streamed.reason)
        return None
    infos = zf.infolist()
    mismatch = matches_plan(result, infos, plan)
    if mismatch is not None:
        log.info("%s: the streamed files are not used: %s", plan.archive.name, mismatch)
        return None
    source = result.root / plan.stripped_prefix if plan.stripped_prefix is not None else result.root
    temp = temp_path_for(destination, directory=True)
    try:
        os.rename(source, temp)
    except OSError as exc:
        log.info("%s: the streamed files are not used: %s", plan.archive.name, exc)
        return None
    directories = {temp}
    streamed_at = {m.offset: m for m in result.members}
    for member in plan.members:
        target = temp.joinpath(*member.path.split("/"))
        folder = target if member.is_dir else target.parent
        while folder != temp and folder not in directories:
            directories.add(folder)
            folder = folder.parent
        if not member.is_dir:
            info = infos[member.index]
            with contextlib.suppress(ValueError, OverflowError, OSError):
                mtime = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(target, (mtime, mtime))
            written = streamed_at.get(info.header_offset)
            if written is not None and written.sha256:  # its final state: the record takes the digest
                written_hashes.remember(target, written.sha256)
    if durable:
        for folder in sorted(directories, key=lambda p: len(p.parts), reverse=True):
            fsync_directory(folder)
    log.debug("%s: used the %d members unpacked while it downloaded", plan.archive.name, len(result.members))
    return temp


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return cast("Callable[..., int]", func)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` if unsupported."""
    func = _renameat2()
    if func is None:
        return False
    result = func(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), os.fspath(second))


def _swap_into_place(temp: Path, destination: Path) -> None:
    """Move the finished ``temp`` directory onto ``destination``, replacing an existing directory.

    Where the platform can exchange two paths atomically it does; otherwise the old directory is
    renamed to a temporary name, the new one moved in, and the old one deleted (if the process dies
    between the two renames, both survive under temporary names and the destination is missing).
    """
    if not os.path.lexists(destination):
        os.rename(temp, destination)
        return
    if _exchange(temp, destination):
        shutil.rmtree(temp, ignore_errors=True)  # now holds the old content
        return
    aside = temp_path_for(destination, directory=True)
    os.rename(destination, aside)
    try:
        os.rename(temp, destination)
    except BaseException:
        os.rename(aside, destination)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def extract_zip(
    path: Path,
    destination: Path,
    limits: ExtractionLimits | None = None,
    *,
    flatten_single_top_folder: bool = True,
    durable: bool = True,
    streamed: StreamingUnpacker | None = None,
) -> list[str]:
    """Safely extract the ZIP archive ``path`` into the directory ``destination``.

    All members are checked first (see the module documentation and :func:`inspect_zip`); then they
    are streamed in chunks of 1 MiB into ``.<destination name>.<random>.partdir`` next to
    ``destination``, counting bytes so that data beyond a member's declared size is caught at once.
    Only when every member is written and verified is that directory renamed onto ``destination``,
    replacing an existing directory.  On any error the temporary directory is removed, the
    destination is untouched and the error is raised.

    With ``flatten_single_top_folder`` (default), when every member lives under one top-level
    folder (ExoFOP wraps a tag's files in one), that folder is stripped.  Files are created with
    mode ``0o644`` and folders ``0o755`` (minus the umask), whatever the archive says; modification
    times are restored.  ``durable=False`` skips the ``fsync`` calls (faster, still atomic).

    ``streamed`` is the :class:`~exofop_mcp.downloads.streaming_unpack.StreamingUnpacker` that was
    fed this archive while it downloaded: after every check above, its files are used instead of
    extracting again if they match the plan exactly (see :func:`_adopt_streamed`); otherwise they
    are removed and the archive is extracted as usual.  Either way it is closed on return.

    Returns the sorted relative POSIX paths of the extracted files (not folders).

    Raises :class:`UnsafeArchive`, :class:`CorruptArchive`, :class:`UnsupportedArchive` and
    :class:`ExtractionIOError` (all subclasses of :class:`ArchiveError`).
    """
    try:
        return _extract_zip(path, destination, limits, flatten_single_top_folder, durable, streamed)
    finally:
        if streamed is not None:
            streamed.close()


def _extract_zip(
    path: Path,
    destination: Path,
    limits: ExtractionLimits | None,
    flatten_single_top_folder: bool,
    durable: bool,
    streamed: StreamingUnpacker | None,
) -> list[str]:
    archive = Path(path)
    destination = Path(destination)
    limits = limits or ExtractionLimits()
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        raise ExtractionIOError(
            f"the destination {destination} exists and is not a directory",
            archive=archive,
            hint="Move it away or choose another destination.",
        )
    with open_zip(archive, limits) as (zf, fh, size):
        plan = make_plan(zf, archive, size, limits, flatten_single_top_folder)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            adopted = _adopt_streamed(zf, plan, streamed, destination, durable) if streamed is not None else None
            temp = adopted or make_temp_dir(destination)
        except OSError as exc:
            if isinstance(exc, ExofopMcpError):
                raise ExtractionIOError(exc.message, archive=archive, hint=exc.hint) from exc
            raise _io_error(exc, f"cannot create {destination.parent}", archive) from exc
        try:
            if adopted is None:
                _extract_into(zf, fh, plan, temp, limits, durable)
            try:
                _swap_into_place(temp, destination)
            except OSError as exc:
                raise _io_error(exc, f"cannot move the extracted files to {destination}", archive) from exc
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    if durable:
        fsync_directory(destination.parent)
    return plan.files

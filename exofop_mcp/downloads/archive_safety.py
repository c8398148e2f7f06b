"""Safe extraction of downloaded ZIP archives, and recognising what a server sent instead of one.

ExoFOP delivers a tag (the files one observer uploaded) as a ZIP archive.  An archive is untrusted
input: its member names, types, sizes and compression ratios are all checked *before* anything is
written (:func:`inspect_zip`), and :func:`extract_zip` writes into a temporary directory next to the
destination that is renamed into place only when every member has been extracted and verified.
Whatever goes wrong, the destination is either the old directory or the complete new one, and no
byte is ever written outside it.

What is refused (:class:`UnsafeArchive`):

* member names that are absolute (``/etc/passwd``, ``C:\\x``, ``C:x``, ``//server/share``), contain a
  backslash, a ``..`` component, a NUL or another control character, are empty, or have a
  component longer than 255 bytes;
* symbolic links, device nodes, FIFOs and sockets (Unix file type in ``external_attr``);
* two members that would land on the same path (after removing ``.`` and empty components, Unicode
  NFC normalisation and case folding, so the result is the same on case-insensitive file systems),
  and a path that is both a file and a folder;
* archives that exceed :class:`ExtractionLimits` (too many entries, too many bytes, a too high
  compression ratio - a "zip bomb") or whose entries overlap in the file.

What is reported as damaged (:class:`CorruptArchive`): not a ZIP at all (the message describes what
the file starts with, e.g. an HTML login page), truncated data, bad CRC, and entries whose data does
not match the size declared in the archive directory (extraction stops at the first byte beyond
the declared size).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import itertools
import os
import re
import shutil
import stat
import struct
import sys
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, cast

from exofop_mcp.atomic_files import fsync_directory, hint_for_os_error, make_temp_dir, temp_path_for
from exofop_mcp.errors import ExofopMcpError

__all__ = [
    "ArchiveError",
    "BodyKind",
    "CorruptArchive",
    "ExtractionIOError",
    "ExtractionLimits",
    "PlannedMember",
    "UnsafeArchive",
    "UnsupportedArchive",
    "ZipPlan",
    "describe_bytes",
    "extract_zip",
    "inspect_zip",
    "sniff_body",
]

_CHUNK = 1 << 20
_MAX_COMPONENT_BYTES = 255
_GiB = 1 << 30
_MiB = 1 << 20


# --------------------------------------------------------------------------------------------------
# Limits and errors
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds that stop hostile archives while letting real tags through.

    Real tags are up to a few GB: FITS images, light-curve tables and plots, which compress between
    about 1.5x and 20x.  A "zip bomb" compresses zeros about 1000x with deflate (100 MiB into
    100 KiB) or nests many small entries.

    Attributes:
        max_entries: most members (files and directory entries) an archive may list.
        max_total_uncompressed: most bytes all members may expand to together (default 20 GiB).
        max_entry_ratio: highest allowed ratio of uncompressed to compressed size, checked for every
            member of at least ``ratio_min_size`` bytes and for the whole archive (total
            uncompressed size over archive file size) once the total reaches ``ratio_min_size``.
            Small members are exempt: a tiny text file full of blanks may legitimately compress
            100x, but cannot hurt.
        ratio_min_size: uncompressed size from which the ratio check applies (default 1 MiB).
    """

    max_entries: int = 20_000
    max_total_uncompressed: int = 20 * _GiB
    max_entry_ratio: float = 200.0
    ratio_min_size: int = 1 * _MiB

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError("ExtractionLimits.max_entries must be at least 1")
        if self.max_total_uncompressed < 0:
            raise ValueError("ExtractionLimits.max_total_uncompressed must not be negative")
        if not self.max_entry_ratio >= 1.0:
            raise ValueError("ExtractionLimits.max_entry_ratio must be at least 1")
        if self.ratio_min_size < 0:
            raise ValueError("ExtractionLimits.ratio_min_size must not be negative")


class ArchiveError(ExofopMcpError):
    """Base class of every problem with an archive.

    Attributes: ``reason`` (what is wrong, one phrase), ``archive`` (the archive path, if known) and
    ``member`` (the offending member name, if any).  ``str(error)`` is a complete sentence followed
    by what to do about it (``hint``).
    """

    code = "archive_error"
    _verb = "Cannot extract"
    _default_hint = "Delete the file and download it again."

    def __init__(
        self,
        reason: str,
        *,
        archive: Path | str | None = None,
        member: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = reason
        self.archive = Path(archive) if archive is not None else None
        self.member = member
        where = f" {self.archive}" if self.archive is not None else " the archive"
        super().__init__(f"{self._verb}{where}: {reason}.", hint=hint or self._default_hint)


class UnsafeArchive(ArchiveError):
    """The archive could write outside its destination, create links or devices, or is a zip bomb.

    Nothing was extracted.
    """

    code = "unsafe_archive"
    _verb = "Refusing to extract"
    _default_hint = (
        "Nothing was extracted. The archive may be malicious; do not unpack it with other tools, "
        "and tell the ExoFOP team if it came from their site."
    )


class CorruptArchive(ArchiveError):
    """The file is not a ZIP archive, or it is damaged or truncated.

    ``kind`` is what :func:`sniff_body` makes of the first bytes when the file is not a ZIP at all
    (``None`` otherwise).
    """

    code = "corrupt_archive"
    _default_hint = "The download is damaged or incomplete: delete it and download it again."

    def __init__(
        self,
        reason: str,
        *,
        archive: Path | str | None = None,
        member: str | None = None,
        hint: str | None = None,
        kind: BodyKind | None = None,
    ) -> None:
        self.kind = kind
        super().__init__(reason, archive=archive, member=member, hint=hint)


class UnsupportedArchive(ArchiveError):
    """The archive is valid but uses a feature we do not handle (encryption, exotic compression)."""

    code = "unsupported_archive"
    _default_hint = "Nothing was extracted; unpack it by hand with a tool that supports this feature."


class ExtractionIOError(ArchiveError, OSError):
    """Writing the extracted files failed (disk full, permissions, destination in the way).

    Also an :class:`OSError`; ``errno`` is copied from the underlying error.  The destination is
    left as it was.
    """

    code = "extraction_failed"
    _default_hint = "Check that the destination directory is writable and has free space."


def _io_error(err: OSError, what: str, archive: Path) -> ExtractionIOError:
    reason = err.strerror or str(err)
    wrapped = ExtractionIOError(f"{what}: {reason}", archive=archive, hint=hint_for_os_error(err))
    wrapped.errno = err.errno
    return wrapped


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{int(n):,} bytes" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedMember:
    """One archive member that passed every check.

    ``name`` is the member name in the archive, ``path`` the relative POSIX path it will have under
    the destination (after normalisation and, if enabled, removal of the single top folder).
    """

    name: str
    path: str
    is_dir: bool
    file_size: int
    compress_size: int
    index: int


@dataclass(frozen=True)
class ZipPlan:
    """What :func:`extract_zip` would write, computed by :func:`inspect_zip` without writing anything."""

    archive: Path
    archive_size: int
    members: tuple[PlannedMember, ...]
    total_uncompressed: int
    total_compressed: int
    stripped_prefix: str | None

    @property
    def files(self) -> list[str]:
        """Sorted relative paths of the regular files."""
        return sorted(m.path for m in self.members if not m.is_dir)

    @property
    def directories(self) -> list[str]:
        """Sorted relative paths of the explicit directory entries."""
        return sorted(m.path for m in self.members if m.is_dir)

    @property
    def member_names(self) -> list[str]:
        """Names in the archive of the members that will be extracted, in archive order."""
        return [m.name for m in self.members]


_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SPECIAL_TYPES = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def _supported_methods() -> dict[int, str]:
    methods = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
    with contextlib.suppress(ImportError):
        import bz2  # noqa: F401

        methods[zipfile.ZIP_BZIP2] = "bzip2"
    with contextlib.suppress(ImportError):
        import lzma  # noqa: F401

        methods[zipfile.ZIP_LZMA] = "lzma"
    return methods


_METHODS = _supported_methods()


def _split_name(info: zipfile.ZipInfo, archive: Path) -> tuple[str, ...]:
    """Return the normalised path components of a member name, or raise :class:`UnsafeArchive`."""
    raw = info.orig_filename
    shown = repr(raw)

    def unsafe(why: str) -> UnsafeArchive:
        return UnsafeArchive(f"member {shown} {why}", archive=archive, member=raw)

    if "\x00" in raw:
        raise unsafe("contains a NUL character")
    if raw == "" or info.filename == "":
        raise UnsafeArchive("a member has an empty name", archive=archive, member=raw)
    if _CONTROL_RE.search(raw):
        raise unsafe("contains a control character")
    if "\\" in raw:
        raise unsafe("contains a backslash (a Windows path separator)")
    if raw.startswith("/"):
        raise unsafe("is an absolute path")
    if _DRIVE_RE.match(raw):
        raise unsafe("starts with a Windows drive letter")
    parts = tuple(p for p in raw.split("/") if p not in ("", "."))
    if ".." in parts:
        raise unsafe("contains a '..' component and would be written outside the destination")
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > _MAX_COMPONENT_BYTES:
            raise unsafe(f"has a component longer than {_MAX_COMPONENT_BYTES} bytes")
    return parts


def _entry_is_dir(info: zipfile.ZipInfo, archive: Path) -> bool:
    mode = (info.external_attr >> 16) & 0xFFFF
    file_type = stat.S_IFMT(mode)
    if file_type in _SPECIAL_TYPES:
        raise UnsafeArchive(
            f"member {info.orig_filename!r} is {_SPECIAL_TYPES[file_type]}",
            archive=archive,
            member=info.orig_filename,
        )
    is_dir = (
        info.orig_filename.endswith("/")
        or file_type == stat.S_IFDIR
        or (file_type == 0 and info.external_attr & 0x10 != 0 and info.file_size == 0)
    )
    if is_dir and info.file_size != 0:
        raise UnsafeArchive(
            f"member {info.orig_filename!r} is a directory entry that has content",
            archive=archive,
            member=info.orig_filename,
        )
    return is_dir


def _key(parts: tuple[str, ...]) -> str:
    return unicodedata.normalize("NFC", "/".join(parts)).casefold()


def _check_type_and_method(info: zipfile.ZipInfo, archive: Path) -> None:
    if info.flag_bits & 0x1:
        raise UnsupportedArchive(
            f"member {info.orig_filename!r} is encrypted (password-protected archives are not supported)",
            archive=archive,
            member=info.orig_filename,
        )
    if info.compress_type not in _METHODS:
        raise UnsupportedArchive(
            f"member {info.orig_filename!r} uses compression method {info.compress_type}, "
            f"which is not supported (supported: {', '.join(sorted(_METHODS.values()))})",
            archive=archive,
            member=info.orig_filename,
        )


def _check_sizes(
    infos: list[zipfile.ZipInfo], archive: Path, archive_size: int, limits: ExtractionLimits
) -> None:
    raise_hint = "If you trust this archive, raise ExtractionLimits.{} and try again."
    total = 0
    for info in infos:
        if info.file_size >= limits.ratio_min_size and info.file_size > 0:
            ratio = info.file_size / info.compress_size if info.compress_size else float("inf")
            if ratio > limits.max_entry_ratio:
                raise UnsafeArchive(
                    f"member {info.orig_filename!r} would expand from {_size(info.compress_size)} to "
                    f"{_size(info.file_size)} (ratio {ratio:,.0f}:1, limit {limits.max_entry_ratio:,.0f}:1); "
                    "this looks like a zip bomb",
                    archive=archive,
                    member=info.orig_filename,
                    hint=raise_hint.format("max_entry_ratio"),
                )
        if info.header_offset + info.compress_size > archive_size:
            raise CorruptArchive(
                f"member {info.orig_filename!r} extends past the end of the file (truncated download?)",
                archive=archive,
                member=info.orig_filename,
            )
        total += info.file_size
    if total > limits.max_total_uncompressed:
        raise UnsafeArchive(
            f"its members would expand to {_size(total)}, more than the limit of "
            f"{_size(limits.max_total_uncompressed)}",
            archive=archive,
            hint=raise_hint.format("max_total_uncompressed"),
        )
    if total >= limits.ratio_min_size and total > limits.max_entry_ratio * max(archive_size, 1):
        raise UnsafeArchive(
            f"its {_size(archive_size)} would expand to {_size(total)} "
            f"(ratio {total / max(archive_size, 1):,.0f}:1, limit {limits.max_entry_ratio:,.0f}:1); "
            "this looks like a zip bomb",
            archive=archive,
            hint=raise_hint.format("max_entry_ratio"),
        )
    # Members must not share compressed data: overlapping entries are how "non-recursive" zip
    # bombs make a small file expand many times over.
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for current, following in itertools.pairwise(ordered):
        if current.header_offset + current.compress_size > following.header_offset:
            raise UnsafeArchive(
                f"members {current.orig_filename!r} and {following.orig_filename!r} overlap in the file",
                archive=archive,
            )


def _make_plan(
    zf: zipfile.ZipFile,
    archive: Path,
    archive_size: int,
    limits: ExtractionLimits,
    flatten_single_top_folder: bool,
) -> ZipPlan:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnsafeArchive(
            f"it lists {len(infos):,} entries, more than the limit of {limits.max_entries:,}",
            archive=archive,
            hint="If you trust this archive, raise ExtractionLimits.max_entries and try again.",
        )

    entries: list[tuple[int, zipfile.ZipInfo, tuple[str, ...], bool]] = []
    file_keys: dict[str, str] = {}
    dir_keys: dict[str, str] = {}
    for index, info in enumerate(infos):
        parts = _split_name(info, archive)
        is_dir = _entry_is_dir(info, archive)
        _check_type_and_method(info, archive)
        if not parts:
            if is_dir:
                continue  # "./" and the like: the destination itself
            raise UnsafeArchive(
                f"member {info.orig_filename!r} has no usable file name",
                archive=archive,
                member=info.orig_filename,
            )
        key = _key(parts)
        if is_dir:
            dir_keys.setdefault(key, info.orig_filename)
        else:
            if key in file_keys:
                raise UnsafeArchive(
                    f"members {file_keys[key]!r} and {info.orig_filename!r} would be written to the same "
                    "file (names can differ only in case or Unicode form)",
                    archive=archive,
                    member=info.orig_filename,
                )
            file_keys[key] = info.orig_filename
        for depth in range(1, len(parts)):
            dir_keys.setdefault(_key(parts[:depth]), "/".join(parts[:depth]) + "/")
        entries.append((index, info, parts, is_dir))

    clashes = file_keys.keys() & dir_keys.keys()
    if clashes:
        key = min(clashes)
        raise UnsafeArchive(
            f"{file_keys[key]!r} is both a file and a folder in the archive",
            archive=archive,
            member=file_keys[key],
        )

    _check_sizes(infos, archive, archive_size, limits)

    stripped: str | None = None
    if flatten_single_top_folder and entries:
        tops = {parts[0] for _, _, parts, _ in entries}
        if len(tops) == 1 and all(len(parts) > 1 or is_dir for _, _, parts, is_dir in entries):
            stripped = tops.pop()
            entries = [(i, info, parts[1:], d) for i, info, parts, d in entries if parts[1:]]

    members: list[PlannedMember] = []
    seen_dirs: set[str] = set()
    for index, info, parts, is_dir in entries:
        path = "/".join(parts)
        if is_dir:
            if _key(parts) in seen_dirs:
                continue
            seen_dirs.add(_key(parts))
        members.append(
            PlannedMember(
                name=info.orig_filename,
                path=path,
                is_dir=is_dir,
                file_size=info.file_size,
                compress_size=info.compress_size,
                index=index,
            )
        )
    return ZipPlan(
        archive=archive,
        archive_size=archive_size,
        members=tuple(members),
        total_uncompressed=sum(i.file_size for i in infos),
        total_compressed=sum(i.compress_size for i in infos),
        stripped_prefix=stripped,
    )


# --------------------------------------------------------------------------------------------------
# Opening an archive
# --------------------------------------------------------------------------------------------------

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")


def _declared_directory(fh: BinaryIO, size: int) -> tuple[int, int] | None:
    """Entry count and central-directory size from the end records, read before :mod:`zipfile`
    loads the whole directory into memory.  Best effort: ``None`` when they cannot be found."""
    tail_size = min(size, _EOCD.size + 0xFFFF)
    fh.seek(size - tail_size)
    tail = fh.read(tail_size)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < _EOCD.size:
        return None
    _, _, _, _, count, cd_size, _, _ = _EOCD.unpack_from(tail, pos)
    eocd_offset = size - tail_size + pos
    if eocd_offset >= _ZIP64_LOCATOR.size:
        fh.seek(eocd_offset - _ZIP64_LOCATOR.size)
        locator = fh.read(_ZIP64_LOCATOR.size)
        if len(locator) == _ZIP64_LOCATOR.size and locator[:4] == b"PK\x06\x07":
            _, _, z64_offset, _ = _ZIP64_LOCATOR.unpack(locator)
            if z64_offset + _ZIP64_EOCD.size <= size:
                fh.seek(z64_offset)
                record = fh.read(_ZIP64_EOCD.size)
                if record[:4] == b"PK\x06\x06":
                    fields = _ZIP64_EOCD.unpack(record)
                    count = max(count, fields[7])
                    cd_size = max(cd_size, fields[8])
    return count, cd_size


@contextlib.contextmanager
def _open_zip(archive: Path, limits: ExtractionLimits) -> Iterator[tuple[zipfile.ZipFile, BinaryIO, int]]:
    try:
        fh = open(archive, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError as exc:
        raise ArchiveError(
            "the file does not exist", archive=archive, hint="Check the path, or download the tag again."
        ) from exc
    with fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(4096)
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            kind = sniff_body(head)
            raise CorruptArchive(
                f"it is not a ZIP archive; it starts with {describe_bytes(head, total_size=size)}",
                archive=archive,
                kind=kind,
                hint=_not_zip_hint(kind),
            )
        declared = _declared_directory(fh, size)
        if declared is not None:
            count, cd_size = declared
            if count > limits.max_entries:
                raise UnsafeArchive(
                    f"it declares {count:,} entries, more than the limit of {limits.max_entries:,}",
                    archive=archive,
                    hint="If you trust this archive, raise ExtractionLimits.max_entries and try again.",
                )
            if cd_size > limits.max_entries * 1024 + 0x10000:
                raise UnsafeArchive(
                    f"its directory is {_size(cd_size)}, too large for {limits.max_entries:,} entries",
                    archive=archive,
                    hint="If you trust this archive, raise ExtractionLimits.max_entries and try again.",
                )
        fh.seek(0)
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, EOFError, ValueError, struct.error, OSError) as exc:
            raise CorruptArchive(f"its ZIP directory cannot be read ({exc})", archive=archive) from exc
        with zf:
            yield zf, fh, size


def _not_zip_hint(kind: BodyKind) -> str:
    if kind == "html_login":
        return "The server sent a login page instead of the files: log in to ExoFOP and try again."
    if kind == "html_no_files":
        return "The server says there are no files for this tag."
    if kind == "html_not_found":
        return "The server says this tag does not exist; check the tag number."
    if kind == "empty":
        return "The download is empty: try again later."
    return "Delete the file and download it again; if this keeps happening, the server is not sending a ZIP."


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
    with _open_zip(archive, limits) as (zf, _fh, size):
        return _make_plan(zf, archive, size, limits, flatten_single_top_folder)


# --------------------------------------------------------------------------------------------------
# Reading member data
# --------------------------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _raw_member_chunks(fh: BinaryIO, info: zipfile.ZipInfo, archive: Path) -> Iterator[bytes]:
    """Decompressed data of a stored or deflated member, read straight from the file.

    Unlike :meth:`zipfile.ZipFile.open`, which silently stops at the declared size, this yields
    everything the compressed data holds, so the caller can tell when it exceeds the declared size.
    Verifies the local header, the end of the compressed stream and the CRC.
    """
    name = info.orig_filename

    def corrupt(why: str) -> CorruptArchive:
        return CorruptArchive(f"member {name!r} {why}", archive=archive, member=name)

    fh.seek(info.header_offset)
    header = fh.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise corrupt("has no valid local header")
    fields = _LOCAL_HEADER.unpack(header)
    flags, name_length, extra_length = fields[2], fields[9], fields[10]
    raw_name = fh.read(name_length)
    encoding = "utf-8" if flags & 0x800 else "cp437"
    if raw_name.decode(encoding, "replace") != name:
        raise corrupt("has a different name in its local header")
    fh.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)

    remaining = info.compress_size
    crc = 0
    decompressor = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    while remaining > 0:
        data = fh.read(min(_CHUNK, remaining))
        if not data:
            raise corrupt("is truncated: the file ends inside its data")
        remaining -= len(data)
        if decompressor is None:
            crc = zlib.crc32(data, crc)
            yield data
            continue
        try:
            while data and not decompressor.eof:
                out = decompressor.decompress(data, _CHUNK)
                data = decompressor.unconsumed_tail
                if out:
                    crc = zlib.crc32(out, crc)
                    yield out
        except zlib.error as exc:
            raise corrupt(f"has damaged compressed data ({exc})") from exc
    if decompressor is not None:
        try:
            out = decompressor.flush()
        except zlib.error as exc:
            raise corrupt(f"has damaged compressed data ({exc})") from exc
        if out:
            crc = zlib.crc32(out, crc)
            yield out
        if not decompressor.eof:
            raise corrupt("is truncated: its compressed data ends early")
    if crc != info.CRC:
        raise corrupt("fails its CRC check (the data is damaged)")


def _zipfile_member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path) -> Iterator[bytes]:
    """Data of a bzip2/lzma member through :mod:`zipfile` (which stops at the declared size)."""
    try:
        with zf.open(info) as src:
            while chunk := src.read(_CHUNK):
                yield chunk
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error, OSError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise CorruptArchive(
            f"member {info.orig_filename!r} cannot be read ({exc})",
            archive=archive,
            member=info.orig_filename,
        ) from exc


def _member_chunks(
    zf: zipfile.ZipFile, fh: BinaryIO, info: zipfile.ZipInfo, archive: Path
) -> Iterator[bytes]:
    if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return _raw_member_chunks(fh, info, archive)
    return _zipfile_member_chunks(zf, info, archive)


# --------------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------------

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
        chunks = _member_chunks(zf, fh, info, archive)
        try:
            for chunk in chunks:
                written += len(chunk)
                if written > info.file_size:
                    raise CorruptArchive(
                        f"member {name!r} holds more data than the {info.file_size:,} bytes its header "
                        "declares",
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
                f"its members would expand to more than {_size(limits.max_total_uncompressed)}",
                archive=plan.archive,
            )
        total += _extract_member(zf, fh, info, target, plan.archive, durable)
    if durable:
        for folder in sorted(directories, key=lambda p: len(p.parts), reverse=True):
            fsync_directory(folder)


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

    Returns the sorted relative POSIX paths of the extracted files (not folders).

    Raises :class:`UnsafeArchive`, :class:`CorruptArchive`, :class:`UnsupportedArchive` and
    :class:`ExtractionIOError` (all subclasses of :class:`ArchiveError`).
    """
    archive = Path(path)
    destination = Path(destination)
    limits = limits or ExtractionLimits()
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        raise ExtractionIOError(
            f"the destination {destination} exists and is not a directory",
            archive=archive,
            hint="Move it away or choose another destination.",
        )
    with _open_zip(archive, limits) as (zf, fh, size):
        plan = _make_plan(zf, archive, size, limits, flatten_single_top_folder)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            temp = make_temp_dir(destination)
        except OSError as exc:
            if isinstance(exc, ExofopMcpError):
                raise ExtractionIOError(exc.message, archive=archive, hint=exc.hint) from exc
            raise _io_error(exc, f"cannot create {destination.parent}", archive) from exc
        try:
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


# --------------------------------------------------------------------------------------------------
# What did the server send?
# --------------------------------------------------------------------------------------------------

BodyKind = Literal[
    "zip", "html_login", "html_no_files", "html_not_found", "html_other", "empty", "text", "binary"
]

_HTML_RE = re.compile(r"<\s*(!doctype\s+html|html|head|body|title|meta|form|div|table|script|h[1-6]|p)\b")
_PASSWORD_INPUT_RE = re.compile(r"<input\b[^<>]*\btype\s*=\s*[\"']?password")
_LOGIN_TEXT_RE = re.compile(r"\blog\s*-?\s*in\b|\bsign\s*-?\s*in\b|\blogin\b")
_NO_FILES_RE = re.compile(r"\bno\s+files?\b")
_NOT_FOUND_RE = re.compile(
    r"\bnot\s+found\b|\bdoes\s+not\s+exist\b|\bno\s+such\b|\b404\b|\bno\s+(?:\w+\s+){0,2}found\b"
)
_TAG_RE = re.compile(r"<[^<>]*>")
_TITLE_RE = re.compile(r"<title\b[^<>]*>([^<]*)", re.IGNORECASE)
# Where "log in" is a real signal: the title, headings, buttons and forms (not a navigation link).
# Every repetition is bounded so that hostile input cannot make these searches slow.
_LOGIN_PLACES_RE = re.compile(
    r"<title\b[^<>]*>([^<]*)|<h[1-6]\b[^<>]*>(.{0,300}?)</h[1-6]|<button\b[^<>]*>(.{0,300}?)</button"
    r"|<form\b(.{0,2000})",
    re.DOTALL,
)
_SNIFF_LIMIT = 64 * 1024


def _as_text(first_bytes: bytes) -> str:
    data = first_bytes
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    return data.decode("utf-8", "replace")


def _looks_textual(first_bytes: bytes) -> bool:
    if b"\x00" in first_bytes:
        return False
    text = first_bytes.decode("utf-8", "replace")
    if not text:
        return True
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f"))
    return bad <= len(text) * 0.05


def sniff_body(first_bytes: bytes) -> BodyKind:
    """Guess what a response body is from its first bytes (a few KiB is plenty).

    * ``"zip"``: starts with a ZIP local header ``PK\\x03\\x04`` (or ``PK\\x05\\x06``, an empty zip);
    * ``"empty"``: no bytes, or only whitespace;
    * HTML (a ``<!DOCTYPE html>``, ``<html>``, ``<head>``, ``<body>``... tag near the start) is split
      by heuristics, case-insensitively and in this order: ``"html_login"`` when it has a password
      input; ``"html_no_files"`` when it says "no files"; ``"html_not_found"`` when it says "not
      found", "does not exist", "no such" or "404"; ``"html_login"`` when its title, a heading, a
      button or a form mentions logging in ("login", "log in", "sign in"); ``"html_other"``
      otherwise.  A "Login" link in a page's navigation bar alone does not make it a login page;
    * ``"text"`` for other mostly printable UTF-8, ``"binary"`` for the rest.

    Only the first 64 KiB are looked at.  These are heuristics for error messages, never for
    security decisions.
    """
    first_bytes = first_bytes[:_SNIFF_LIMIT]
    if first_bytes.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if not first_bytes.strip():
        return "empty"
    text = _as_text(first_bytes)
    lowered = text.lower()
    stripped = lowered.lstrip()
    if stripped.startswith("<") and _HTML_RE.search(stripped[:4096]):
        if _PASSWORD_INPUT_RE.search(lowered):
            return "html_login"
        visible = _TAG_RE.sub(" ", lowered)
        if _NO_FILES_RE.search(visible):
            return "html_no_files"
        if _NOT_FOUND_RE.search(visible):
            return "html_not_found"
        places = " ".join(" ".join(m) for m in _LOGIN_PLACES_RE.findall(lowered))
        if _LOGIN_TEXT_RE.search(places):
            return "html_login"
        return "html_other"
    if first_bytes.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_textual(first_bytes):
        return "text"
    return "binary"


_KIND_LABELS: dict[str, str] = {
    "zip": "ZIP archive",
    "html_login": "HTML login page",
    "html_no_files": "HTML page saying there are no files",
    "html_not_found": "HTML page saying not found",
    "html_other": "HTML",
    "text": "text",
    "binary": "binary data",
}


def describe_bytes(first_bytes: bytes, *, total_size: int | None = None, width: int = 60) -> str:
    """A short, printable, single-line description of a body for error messages.

    For example ``'<!DOCTYPE html><html><head><title>Error' (HTML, 1,234 bytes)`` or
    ``b'\\x1f\\x8b\\x08\\x00' (binary data, 10 bytes)``.  ``total_size`` is the size of the whole body
    when ``first_bytes`` is only its beginning (defaults to ``len(first_bytes)``).
    """
    size = len(first_bytes) if total_size is None else total_size
    first_bytes = first_bytes[:_SNIFF_LIMIT]
    count = f"{size:,} byte" + ("" if size == 1 else "s")
    kind = sniff_body(first_bytes)
    if kind == "empty":
        return f"nothing ({count})" if size == 0 or not first_bytes else f"only whitespace ({count})"
    label = _KIND_LABELS[kind]
    if first_bytes.startswith(b"SIMPLE  ="):
        label = "FITS file"
    elif first_bytes.startswith(b"%PDF"):
        label = "PDF document"
    elif first_bytes.startswith(b"\x1f\x8b"):
        label = "gzip data"
    if kind in ("zip", "binary"):
        snippet = repr(first_bytes[:16])
    else:
        text = " ".join(_as_text(first_bytes).split())
        snippet = repr(text[:width])
        if kind.startswith("html"):
            match = _TITLE_RE.search(_as_text(first_bytes))
            title = " ".join(match.group(1).split())[:width] if match else ""
            if title:
                label = f"{label} titled {title!r}"
    return f"{snippet} ({label}, {count})"

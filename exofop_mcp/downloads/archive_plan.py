"""Checking an archive's directory and planning what extracting it will write.

:func:`make_plan` reads every entry of an open :class:`zipfile.ZipFile` and returns a
:class:`ZipPlan` (the members to write and the relative path each gets), or refuses the archive
before a byte is written.

What is refused (:class:`~exofop_mcp.errors.UnsafeArchive`):

* member names that are absolute (``/etc/passwd``, ``C:\\x``, ``C:x``, ``//server/share``), contain a
  backslash, a ``..`` component, a NUL or another control character, are empty, or have a
  component longer than 255 bytes;
* symbolic links, device nodes, FIFOs and sockets (Unix file type in ``external_attr``);
* two members that would land on the same path (after removing ``.`` and empty components, Unicode
  NFC normalisation and case folding, so the result is the same on case-insensitive file systems),
  and a path that is both a file and a folder;
* archives that exceed :class:`~exofop_mcp.downloads.archive_limits.ExtractionLimits` (too many
  entries, too many bytes, a too high compression ratio - a "zip bomb") or whose entries overlap in
  the file.

Encrypted members and compression methods other than stored, deflate, bzip2 and lzma are
:class:`~exofop_mcp.errors.UnsupportedArchive`; a member that extends past the end of the file is
:class:`~exofop_mcp.errors.CorruptArchive`.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from exofop_mcp.downloads.archive_limits import TRUSTED_ARCHIVE_HINT, ExtractionLimits
from exofop_mcp.errors import CorruptArchive, UnsafeArchive, UnsupportedArchive
from exofop_mcp.text_format import format_bytes

__all__ = ["PlannedMember", "ZipPlan", "make_plan"]

_MAX_COMPONENT_BYTES = 255


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
    """What extracting an archive would write, computed without writing anything (see
    :func:`~exofop_mcp.downloads.archive_extraction.inspect_zip`)."""

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


def _check_sizes(infos: list[zipfile.ZipInfo], archive: Path, archive_size: int, limits: ExtractionLimits) -> None:
    total = 0
    for info in infos:
        if info.file_size >= limits.ratio_min_size and info.file_size > 0:
            ratio = info.file_size / info.compress_size if info.compress_size else float("inf")
            if ratio > limits.max_entry_ratio:
                raise UnsafeArchive(
                    f"member {info.orig_filename!r} would expand from {format_bytes(info.compress_size)} to "
                    f"{format_bytes(info.file_size)} (ratio {ratio:,.0f}:1, limit {limits.max_entry_ratio:,.0f}:1); "
                    "this looks like a zip bomb",
                    archive=archive,
                    member=info.orig_filename,
                    hint=TRUSTED_ARCHIVE_HINT,
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
            f"its members would expand to {format_bytes(total)}, more than the limit of "
            f"{format_bytes(limits.max_total_uncompressed)}",
            archive=archive,
            hint=TRUSTED_ARCHIVE_HINT,
        )
    if total >= limits.ratio_min_size and total > limits.max_entry_ratio * max(archive_size, 1):
        raise UnsafeArchive(
            f"its {format_bytes(archive_size)} would expand to {format_bytes(total)} "
            f"(ratio {total / max(archive_size, 1):,.0f}:1, limit {limits.max_entry_ratio:,.0f}:1); "
            "this looks like a zip bomb",
            archive=archive,
            hint=TRUSTED_ARCHIVE_HINT,
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


def make_plan(
    zf: zipfile.ZipFile,
    archive: Path,
    archive_size: int,
    limits: ExtractionLimits,
    flatten_single_top_folder: bool,
) -> ZipPlan:
    """Check every entry of ``zf`` (the archive ``archive``, ``archive_size`` bytes) and plan the extraction.

    With ``flatten_single_top_folder``, when every member lives under one top-level folder, that
    folder is left out of the planned paths (``ZipPlan.stripped_prefix``).  Raises
    :class:`~exofop_mcp.errors.UnsafeArchive`, :class:`~exofop_mcp.errors.UnsupportedArchive` or
    :class:`~exofop_mcp.errors.CorruptArchive`.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnsafeArchive(
            f"it lists {len(infos):,} entries, more than the limit of {limits.max_entries:,}",
            archive=archive,
            hint=TRUSTED_ARCHIVE_HINT,
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

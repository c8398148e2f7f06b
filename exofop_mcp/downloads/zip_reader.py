"""Opening a downloaded ZIP archive and reading its members' data, checking both as they go.

:func:`open_zip` refuses a file that is not a ZIP at all (the message describes what it starts
with, e.g. an HTML login page) and an archive whose end records declare more entries, or a larger
directory, than the limits allow, before :mod:`zipfile` loads that directory into memory.

:func:`member_chunks` yields a member's decompressed data.  Stored and deflated members are read
straight from the file by a small reader of our own which, unlike :mod:`zipfile`, does not stop at
the declared size, so that the caller can tell when a member holds more than its header declares;
it checks the local header, the end of the compressed stream and the CRC.  Damage is reported as
:class:`~exofop_mcp.errors.CorruptArchive`.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from exofop_mcp.downloads.archive_limits import TRUSTED_ARCHIVE_HINT, ExtractionLimits
from exofop_mcp.errors import ArchiveError, CorruptArchive, UnsafeArchive
from exofop_mcp.site.responses import BodyKind, describe_bytes, sniff_body
from exofop_mcp.text_format import format_bytes

__all__ = ["CHUNK_SIZE", "member_chunks", "open_zip"]

CHUNK_SIZE = 1 << 20
"""Most bytes read or decompressed at once."""


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
def open_zip(archive: Path, limits: ExtractionLimits) -> Iterator[tuple[zipfile.ZipFile, BinaryIO, int]]:
    """Open ``archive``; yield ``(zip file, raw file object, file size)``, closing both afterwards.

    Raises :class:`~exofop_mcp.errors.CorruptArchive` for a file that is not a readable ZIP (with a
    hint that depends on what it looks like), :class:`~exofop_mcp.errors.UnsafeArchive` when its end
    records declare more than ``limits`` allow, and :class:`~exofop_mcp.errors.ArchiveError` when it
    does not exist.
    """
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
                    hint=TRUSTED_ARCHIVE_HINT,
                )
            if cd_size > limits.max_entries * 1024 + 0x10000:
                raise UnsafeArchive(
                    f"its directory is {format_bytes(cd_size)}, too large for {limits.max_entries:,} entries",
                    archive=archive,
                    hint=TRUSTED_ARCHIVE_HINT,
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
        data = fh.read(min(CHUNK_SIZE, remaining))
        if not data:
            raise corrupt("is truncated: the file ends inside its data")
        remaining -= len(data)
        if decompressor is None:
            crc = zlib.crc32(data, crc)
            yield data
            continue
        try:
            while data and not decompressor.eof:
                out = decompressor.decompress(data, CHUNK_SIZE)
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
            while chunk := src.read(CHUNK_SIZE):
                yield chunk
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error, OSError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise CorruptArchive(
            f"member {info.orig_filename!r} cannot be read ({exc})",
            archive=archive,
            member=info.orig_filename,
        ) from exc


def member_chunks(zf: zipfile.ZipFile, fh: BinaryIO, info: zipfile.ZipInfo, archive: Path) -> Iterator[bytes]:
    """The decompressed data of member ``info``, in chunks of at most :data:`CHUNK_SIZE` bytes.

    Stored and deflated members yield everything their compressed data holds (possibly more than
    declared: the caller counts); bzip2 and lzma members go through :mod:`zipfile`.
    """
    if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return _raw_member_chunks(fh, info, archive)
    return _zipfile_member_chunks(zf, info, archive)

"""Deterministic zip and tar writers that stream entries to disk (flat memory for any size).

Entries are described lazily (name, type, how to produce the bytes) so file lists can be built
without generating content.  A *padding* entry is sized while writing, so that the finished
archive is about a requested size.
"""

from __future__ import annotations

import calendar
import io
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from exofop_mcp.replica.file_formats import FITS_BLOCK, padding_fits_chunks

Producer = Callable[[], Iterable[bytes]]


@dataclass
class Entry:
    """One archive member.  ``kind`` is ``file``, ``dir`` or ``symlink``."""

    name: str
    produce: Producer = field(default=lambda: ())
    kind: str = "file"
    file_type: str = ""
    description: str = ""
    compress: bool = True
    link_target: str = ""
    padding: bool = False
    seed: str = ""


def bytes_producer(make: Callable[[], bytes]) -> Producer:
    return lambda: (make(),)


def directory(name: str) -> Entry:
    return Entry(name=name.rstrip("/") + "/", kind="dir")


def _zip_info(entry: Entry, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(entry.name, date_time=date_time)
    info.create_system = 3
    if entry.kind == "dir":
        info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
    elif entry.kind == "symlink":
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
    else:
        info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED if entry.compress and entry.kind == "file" else zipfile.ZIP_STORED
    return info


def _zip_padding_size(target: int, offset: int, entries: list[Entry]) -> int:
    """Size of the padding FITS so the zip ends near ``target`` bytes."""
    central = sum(46 + len(entry.name.encode("utf-8")) for entry in entries) + 22
    padding_name = next(entry.name for entry in entries if entry.padding)
    remaining = target - offset - central - (30 + len(padding_name.encode("utf-8")))
    return (remaining // FITS_BLOCK) * FITS_BLOCK


def write_zip(
    entries: list[Entry],
    destination: Path,
    date_time: tuple[int, int, int, int, int, int],
    target_size: int | None = None,
) -> None:
    """Write the entries as a zip (padding entries only when ``target_size`` is set)."""
    wanted = [entry for entry in entries if not entry.padding or target_size]
    with destination.open("wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        for entry in wanted:
            info = _zip_info(entry, date_time)
            if entry.kind == "dir":
                archive.writestr(info, b"")
                continue
            if entry.kind == "symlink":
                archive.writestr(info, entry.link_target.encode("utf-8"))
                continue
            chunks: Iterable[bytes]
            if entry.padding:
                size = _zip_padding_size(target_size or 0, handle.tell(), wanted)
                if size < 2 * FITS_BLOCK:
                    continue
                info.file_size = size
                chunks = padding_fits_chunks(size, entry.seed)
            else:
                chunks = entry.produce()
            with archive.open(info, "w", force_zip64=info.file_size > 0x7FFFFFFF) as member:
                for chunk in chunks:
                    member.write(chunk)


class _ChunkReader(io.RawIOBase):
    """A read-only file object over an iterator of chunks (for tarfile.addfile)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def write_tar(
    entries: list[Entry],
    destination: Path,
    date_time: tuple[int, int, int, int, int, int],
    target_size: int | None = None,
) -> None:
    mtime = calendar.timegm((*date_time, 0, 0, 0))
    wanted = [entry for entry in entries if not entry.padding or target_size]
    with destination.open("wb") as handle, tarfile.open(fileobj=handle, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in wanted:
            info = tarfile.TarInfo(entry.name.rstrip("/") if entry.kind == "dir" else entry.name)
            info.mtime = mtime
            info.uname = info.gname = "apache"
            info.uid = info.gid = 48
            if entry.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            if entry.kind == "symlink":
                info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, entry.link_target
                tar.addfile(info)
                continue
            info.mode = 0o644
            if entry.padding:
                remaining = (target_size or 0) - handle.tell() - 512 - 1024
                size = (remaining // FITS_BLOCK) * FITS_BLOCK
                if size < 2 * FITS_BLOCK:
                    continue
                info.size = size
                tar.addfile(info, _ChunkReader(padding_fits_chunks(size, entry.seed)))
                continue
            data = b"".join(entry.produce())
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

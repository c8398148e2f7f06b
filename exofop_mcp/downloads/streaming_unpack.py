"""Unpacking a tag's archive while it downloads, for :func:`~exofop_mcp.downloads.archive_extraction.extract_zip`
to adopt once the complete archive has passed every check.

A :class:`StreamingUnpacker` is fed the archive's bytes as they arrive (the event loop only puts
them on a queue); one worker thread per transfer parses the ZIP local file headers in order
(``PK\\x03\\x04``, the 30-byte fixed header, the name, the extra field, the data) and writes each
member into a temporary directory ``.<tag>.<random>.partdir`` beside the tag's folder (removed by
the leftovers cleanup after a crash), syncing each file every 512 KiB as it comes (``fdatasync``) and
once more when it ends, so that little disk work is left after the last byte.  It stops at the first
central-directory header (``PK\\x01\\x02``).

Nothing streamed is trusted: the result (:class:`StreamedArchive`) records, for each member, the
offset of its local header, its name as the local header spells it, its size and CRC-32, and
:func:`~exofop_mcp.downloads.archive_extraction.extract_zip` uses it only if it matches, member for
member, the plan made from the central directory of the complete archive.

The unpacker gives up (removes its directory; the archive is then extracted from the file as usual)
on anything it does not handle exactly: encryption, a data descriptor, a method other than stored
or deflate, ZIP64 sizes, a name that is not a plain relative path, two members of one name (or one
differing only in case or Unicode form), more entries or bytes than the limits allow, a too high
compression ratio, data beyond the declared size, a CRC or size mismatch, any OSError, and more
than :data:`MAX_QUEUED_BYTES` waiting for the disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import queue
import re
import shutil
import struct
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exofop_mcp.atomic_files import make_temp_dir
from exofop_mcp.downloads.archive_limits import ExtractionLimits
from exofop_mcp.downloads.archive_plan import ZipPlan

__all__ = ["MAX_QUEUED_BYTES", "StreamedArchive", "StreamedMember", "StreamingUnpacker", "matches_plan"]

log = logging.getLogger(__name__)

#: Most bytes received but not yet unpacked; past it the unpacker gives up rather than hold more in memory.
MAX_QUEUED_BYTES = 8 << 20

_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_STORED, _DEFLATED = 0, 8
_WRITE_CHUNK = 1 << 20
_SYNC_EVERY = 512 << 10
_datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
_MAX_COMPONENT_BYTES = 255
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class StreamedMember:
    """One member written while the archive streamed in."""

    offset: int  # of its local header in the archive
    name: str  # as the local header spells it
    is_dir: bool
    method: int
    compress_size: int
    file_size: int
    crc: int
    path: str  # relative POSIX path under the streamed directory
    sha256: str = ""  # of the file written (hex; empty for a folder)


@dataclass(frozen=True)
class StreamedArchive:
    """What a completed stream wrote: ``root`` holds ``members`` (in archive order)."""

    root: Path
    members: tuple[StreamedMember, ...]


class _GiveUp(Exception):
    """The stream holds something this unpacker does not handle exactly."""


_END = object()


class StreamingUnpacker:
    """Unpacks an archive from its bytes as they arrive; see the module documentation.

    :meth:`feed`, :meth:`end` and :meth:`discard` are called on the event loop and never block;
    :meth:`result` and :meth:`close` wait for the worker (call them from a worker thread).  Whoever
    holds an unpacker calls :meth:`discard` or :meth:`close` when done with it: only then does its
    directory go (or what is left of it, once the result was moved away).
    """

    def __init__(self, target: Path | None, limits: ExtractionLimits | None = None, *, durable: bool = True) -> None:
        """Unpack into a temporary directory beside ``target``, the folder the archive is for; when it
        is not known yet (``None``), the bytes wait in the queue until :meth:`set_target`."""
        self.target = Path(target) if target is not None else None
        self.limits = limits or ExtractionLimits()
        self.durable = durable
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued = 0
        self._stopped = False  # no more feeding: given up, ended or discarded
        self._discarded = threading.Event()
        self._target_known = threading.Event()
        if self.target is not None:
            self._target_known.set()
        self._done = threading.Event()  # the worker stopped unpacking
        self._released = threading.Event()  # the consumer is done with the result
        self._finished = threading.Event()  # the worker removed its directory and ended
        self._root: Path | None = None
        self._result: StreamedArchive | None = None
        self.reason: str | None = None  # why it gave up, for logs and tests
        self._thread = threading.Thread(target=self._run, name="streaming unpack", daemon=True)
        self._thread.start()

    # -- the event loop's side -------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        """Hand over the next bytes of the archive (never blocks)."""
        if self._stopped or not chunk:
            return
        with self._lock:
            self._queued += len(chunk)
            too_much = self._queued > MAX_QUEUED_BYTES
        if too_much:
            self._give_up_from_loop("more than the queue's limit waits for the disk")
            return
        self._queue.put(bytes(chunk))

    def set_target(self, target: Path) -> None:
        """The folder the archive is for, once known (never blocks)."""
        if self.target is None:
            self.target = Path(target)
            self._target_known.set()

    def end(self) -> None:
        """The archive is complete: the worker finishes the last member (never blocks)."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(_END)

    def discard(self) -> None:
        """Stop, and have the worker remove whatever it wrote that was not moved away (never blocks)."""
        self._stopped = True
        self._discarded.set()
        self._released.set()
        self._target_known.set()
        self._queue.put(_END)

    async def aclose(self) -> None:
        """:meth:`discard`, then wait (in a worker thread) until the directory is removed."""
        self.discard()
        await asyncio.to_thread(self._finished.wait)

    def _give_up_from_loop(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.discard()

    # -- a worker thread's side ------------------------------------------------------------

    def result(self) -> StreamedArchive | None:
        """Wait for the worker; the streamed archive, or ``None`` if it gave up or was discarded.

        What was not moved away from the result's directory is removed by :meth:`close`."""
        self._done.wait()
        return None if self._discarded.is_set() else self._result

    def close(self) -> None:
        """:meth:`discard`, then wait until the worker has removed its directory (blocks)."""
        self.discard()
        self._finished.wait()

    # -- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._result = self._unpack()
        except _GiveUp as exc:
            self.reason = self.reason or str(exc)
        except OSError as exc:
            self.reason = self.reason or f"cannot write: {exc}"
        except Exception as exc:  # anything unforeseen: the usual extraction decides
            log.warning("streaming unpack into %s stopped: %r", self.target, exc)
            self.reason = self.reason or repr(exc)
        finally:
            self._stopped = True
            if self._result is None:
                self._discarded.set()
            self._done.set()
            self._released.wait()  # the result's directory stays until the consumer is done with it
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
            self._finished.set()
            while True:  # drop what was queued after the end
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def _chunks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END or self._discarded.is_set():
                return
            assert isinstance(item, bytes)
            with self._lock:
                self._queued -= len(item)
            yield item

    def _unpack(self) -> StreamedArchive | None:
        self._target_known.wait()
        if self._discarded.is_set() or self.target is None:
            return None
        # Only beside a folder that exists: one made here could stay behind, empty, for a tag that fails.
        self._root = make_temp_dir(self.target)
        reader = _Reader(self._chunks())
        writer = _Writer(self._root, self.limits, self.durable)
        while True:
            signature = reader.peek(4)
            if signature == _CENTRAL_SIG:
                break
            if signature != _LOCAL_SIG:
                raise _GiveUp("not a local file header where one should be")
            offset = reader.offset
            header = reader.take(_LOCAL.size)
            _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = _LOCAL.unpack(header)
            raw_name = reader.take(name_len)
            reader.take(extra_len)
            if flags & 0x1:
                raise _GiveUp("an encrypted member")
            if flags & 0x8:
                raise _GiveUp("a member with a data descriptor")
            if method not in (_STORED, _DEFLATED):
                raise _GiveUp(f"compression method {method}")
            if 0xFFFFFFFF in (csize, usize):
                raise _GiveUp("ZIP64 sizes")
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "strict")
            member = writer.member(reader, offset, name, method, crc, csize, usize)
            if self._discarded.is_set():
                return None
            writer.members.append(member)
        return StreamedArchive(self._root, tuple(writer.members))


class _Reader:
    """Exact reads over the stream of chunks, keeping the offset in the archive."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self.offset = 0

    def _fill(self, n: int) -> None:
        while len(self._buffer) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise _GiveUp("the stream ended before the central directory")
            self._buffer += chunk

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return bytes(self._buffer[:n])

    def take(self, n: int) -> bytes:
        self._fill(n)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        self.offset += n
        return data

    def pieces(self, n: int) -> Iterator[bytes]:
        """Yield exactly ``n`` bytes, in the pieces they arrived in (at most 1 MiB each)."""
        left = n
        while left:
            if not self._buffer:
                self._fill(1)
            piece = bytes(self._buffer[: min(left, _WRITE_CHUNK)])
            del self._buffer[: len(piece)]
            self.offset += len(piece)
            left -= len(piece)
            yield piece


def _components(name: str) -> tuple[tuple[str, ...], bool]:
    """A plain relative path's components and whether it names a folder; stricter than the plan's checks."""
    if not name or _CONTROL_RE.search(name) or "\\" in name or name.startswith("/") or _DRIVE_RE.match(name):
        raise _GiveUp("a name that is not a plain relative path")
    is_dir = name.endswith("/")
    parts = tuple((name[:-1] if is_dir else name).split("/"))
    for part in parts:
        if part in ("", ".", "..") or len(part.encode("utf-8", "surrogateescape")) > _MAX_COMPONENT_BYTES:
            raise _GiveUp("a name that is not a plain relative path")
    return parts, is_dir


class _Writer:
    def __init__(self, root: Path, limits: ExtractionLimits, durable: bool) -> None:
        self.root = root
        self.limits = limits
        self.durable = durable
        self.members: list[StreamedMember] = []
        self.total = 0
        self.keys: set[str] = set()
        self.folders: set[tuple[str, ...]] = set()

    def _folder(self, parts: tuple[str, ...]) -> None:
        """Create the folder ``parts`` under the root, one level at a time (never the root itself)."""
        for depth in range(1, len(parts) + 1):
            if parts[:depth] in self.folders:
                continue
            os.mkdir(self.root.joinpath(*parts[:depth]), 0o755)
            self.folders.add(parts[:depth])

    def member(
        self, reader: _Reader, offset: int, name: str, method: int, crc: int, csize: int, usize: int
    ) -> StreamedMember:
        limits = self.limits
        parts, is_dir = _components(name)
        if len(self.members) + 1 > limits.max_entries:
            raise _GiveUp("more entries than the limit")
        self.total += usize
        if self.total > limits.max_total_uncompressed:
            raise _GiveUp("more bytes than the limit")
        if usize >= limits.ratio_min_size and usize > 0 and (not csize or usize / csize > limits.max_entry_ratio):
            raise _GiveUp("a compression ratio beyond the limit")
        key = unicodedata.normalize("NFC", "/".join(parts)).casefold()
        if key in self.keys:
            raise _GiveUp("two members of one name")
        self.keys.add(key)
        if is_dir:
            if usize or csize:
                raise _GiveUp("a folder entry with content")
            self._folder(parts)
            return StreamedMember(offset, name, True, method, csize, 0, crc, "/".join(parts))
        if method == _STORED and csize != usize:
            raise _GiveUp("a stored member whose sizes differ")
        self._folder(parts[:-1])
        target = self.root.joinpath(*parts)
        fd = os.open(target, _FILE_FLAGS, 0o644)
        with os.fdopen(fd, "wb") as out:
            written, running, unsynced = 0, 0, 0
            digest = hashlib.sha256()  # here, while the archive downloads: the record needs not read it again
            inflater = zlib.decompressobj(-15) if method == _DEFLATED else None
            for piece in reader.pieces(csize):
                for data in _inflate(inflater, piece, usize - written):
                    written += len(data)
                    running = zlib.crc32(data, running)
                    digest.update(data)
                    out.write(data)
                    unsynced += len(data)
                if self.durable and unsynced >= _SYNC_EVERY:
                    # Synced as it comes, so that the member's last sync, after the last byte, is short.
                    out.flush()
                    _datasync(out.fileno())
                    unsynced = 0
            if inflater is not None and (not inflater.eof or inflater.unused_data or inflater.unconsumed_tail):
                raise _GiveUp("a deflate stream that does not end with the member")
            if written != usize or running != crc:
                raise _GiveUp("a size or CRC-32 that does not match the local header")
            out.flush()
            if self.durable:
                os.fsync(out.fileno())
        return StreamedMember(offset, name, False, method, csize, usize, crc, "/".join(parts), digest.hexdigest())


def _inflate(inflater: Any, piece: bytes, room: int) -> Iterator[bytes]:
    """The decompressed data of ``piece``; gives up at the first byte beyond ``room``."""
    if inflater is None:
        if len(piece) > room:
            raise _GiveUp("more data than the declared size")
        yield piece
        return
    data = piece
    while data:
        out = inflater.decompress(data, room + 1)
        if len(out) > room:
            raise _GiveUp("a deflate stream producing more than the declared size")
        room -= len(out)
        if out:
            yield out
        data = inflater.unconsumed_tail
        if not out and data:
            raise _GiveUp("a deflate stream that makes no progress")


def matches_plan(streamed: StreamedArchive, infos: list[zipfile.ZipInfo], plan: ZipPlan) -> str | None:
    """``None`` if the streamed members are exactly the central directory's ``infos`` and the
    ``plan`` made from them; otherwise what differs."""
    by_offset = {m.offset: m for m in streamed.members}
    if len(by_offset) != len(streamed.members) or len(infos) != len(streamed.members):
        return "not the same number of members"
    by_index: dict[int, StreamedMember] = {}
    for index, info in enumerate(infos):
        member = by_offset.pop(info.header_offset, None)
        if member is None:
            return f"no local header streamed at the offset of {info.orig_filename!r}"
        if (
            member.name != info.orig_filename
            or member.method != info.compress_type
            or member.compress_size != info.compress_size
            or member.file_size != info.file_size
            or (not member.is_dir and member.crc != info.CRC)
        ):
            return f"{info.orig_filename!r} differs from its local header"
        by_index[index] = member
    prefix = f"{plan.stripped_prefix}/" if plan.stripped_prefix is not None else ""
    for planned in plan.members:
        member = by_index[planned.index]
        if member.is_dir != planned.is_dir or member.path != prefix + planned.path:
            return f"{planned.name!r} was streamed to another path than planned"
    return None

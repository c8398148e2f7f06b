"""``manifest.json``: the record of every tag downloaded into a system directory.

The manifest is the commit point of a download: a tag counts as present only
when the manifest says ``downloaded`` *and* its files are on disk with the
recorded sizes.  It is rewritten atomically, under the system's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from exofop_mcp.atomic_files import atomic_write_text
from exofop_mcp.downloads import written_hashes
from exofop_mcp.downloads.sandbox import MANIFEST_NAME, DownloadKind, SystemDirectory
from exofop_mcp.errors import ExofopMcpError, FileTooLargeError, SandboxEscapeError, UnsafeFileError
from exofop_mcp.sandbox_files import open_inside

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1


class ManifestUnreadableError(ExofopMcpError):
    """A manifest that cannot be read and cannot be moved aside either."""

    code = "manifest_unreadable"


class ManifestFile(BaseModel):
    path: str = Field(description="relative to the system directory")
    size: int
    sha256: str | None = Field(None, description="SHA-256 of the file as written")
    mtime_ns: int | None = Field(None, description="modification time of the file as written (ns)")


def describe_file(system_dir: SystemDirectory, path: Path) -> ManifestFile:
    """The record of a file just written: its size, modification time and SHA-256."""
    st = path.stat()
    digest = written_hashes.recall(st) or file_sha256(path)  # hashed as it was unpacked, or read now
    return ManifestFile(path=system_dir.relative(path), size=st.st_size, sha256=digest, mtime_ns=st.st_mtime_ns)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a regular file; anything else (a FIFO, a device: never waited on) is an OSError."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# Checksums computed by is_complete, by the file state they were computed from (path, inode, size,
# mtime, ctime): a file is hashed again only when something about it changed.
_verified: dict[tuple[str, int, int, int, int], str] = {}


class ManifestTag(BaseModel):
    tag: int
    kind: DownloadKind
    status: str
    source_url: str
    sha256: str | None = None
    size: int | None = Field(None, description="bytes of the archive as downloaded")
    directory: str | None = Field(None, description="where the files are, relative to the system directory")
    archive: str | None = Field(None, description="the kept archive, relative to the system directory")
    files: list[ManifestFile] = Field(default_factory=list)
    attempts: int = 0
    message: str | None = None
    time: datetime


class ManifestProduct(BaseModel):
    """Files made from one downloaded file of a tag (light curves extracted from a measurement table)."""

    tag: int
    source: str = Field(description="the downloaded file, relative to the system directory")
    source_sha256: str
    source_size: int
    source_mtime_ns: int
    files: list[ManifestFile] = Field(default_factory=list, description="products, relative to the system directory")
    entries: list[dict[str, Any]] = Field(default_factory=list, description="what the extraction reported")
    time: datetime


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    system: str
    tic_id: int
    updated: datetime
    tags: dict[str, ManifestTag] = Field(default_factory=dict)
    products: dict[str, ManifestProduct] | None = Field(
        None, description="derived files by source file (relative path), e.g. extracted light curves"
    )

    def entry(self, tag: int) -> ManifestTag | None:
        return self.tags.get(str(tag))


# Parsed manifests by path, with the (inode, mtime, size) they were parsed from: asking whether
# each of hundreds of tags is present must not re-parse the same file hundreds of times.
_parsed: dict[Path, tuple[tuple[int, int, int], Manifest]] = {}


def load_manifest(system_dir: SystemDirectory, *, for_update: bool = False) -> Manifest | None:
    """The system's manifest; ``None`` if there is none.  A damaged one is set aside, not trusted.

    Damaged means anything that is not a readable manifest: not UTF-8, not JSON, not the manifest's
    shape, a folder, a FIFO, a hard link, a file that cannot be read.  It is moved aside to
    ``manifest.json.damaged-<time>`` (kept for inspection) and the system counts as having no
    manifest, so its tags are fetched again.  A manifest reached through a link leading out of the
    system's directory is neither read nor moved: that raises :class:`~exofop_mcp.errors.SandboxEscapeError`.

    The result is shared with other readers until the file changes: treat it as read-only, or ask
    ``for_update=True`` for a private copy to change and save.
    """
    path = system_dir.manifest_path
    try:
        st = path.stat()
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = _parsed.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1].model_copy(deep=True) if for_update else cached[1]
        data = read_manifest_bytes(system_dir)
        manifest = Manifest.model_validate_json(data.decode("utf-8"))
    except FileNotFoundError:
        _parsed.pop(path, None)
        return None
    except SandboxEscapeError:  # reached through a link leading out: not ours to move aside
        _parsed.pop(path, None)
        raise
    except (OSError, ValueError, UnsafeFileError, FileTooLargeError) as exc:  # ValidationError... are ValueErrors
        _parsed.pop(path, None)
        set_aside(path, _reason(exc))
        return None
    _parsed[path] = (signature, manifest)
    return manifest.model_copy(deep=True) if for_update else manifest


#: A manifest larger than this is not read (one of thousands of tags is a few MB).
MAX_MANIFEST_BYTES = 256 << 20


def read_manifest_bytes(system_dir: SystemDirectory) -> bytes:
    """The manifest's bytes, opened inside the system directory and checked before it is read
    (:mod:`exofop_mcp.sandbox_files`): a FIFO, a device, a hard link or a link leading out is refused,
    never waited on or followed."""
    with open_inside(system_dir.path, MANIFEST_NAME, root=system_dir.root) as opened:
        return opened.read(MAX_MANIFEST_BYTES, what="the manifest reader")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ExofopMcpError):
        return exc.message
    if isinstance(exc, ValidationError):
        return f"{exc.error_count()} error(s) in its content"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, IsADirectoryError):
        return "a folder, not a file"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return type(exc).__name__


def set_aside(path: Path, reason: str) -> Path:
    """Move a damaged manifest out of the way (kept for inspection); return where it went."""
    aside = path.with_name(f"{path.name}.damaged-{time.time_ns()}")
    try:
        path.replace(aside)
    except OSError as exc:
        raise ManifestUnreadableError(
            f"{path} is unreadable ({reason}) and could not be moved aside ({exc.strerror or exc}).",
            hint=f"Move or delete {path} by hand; the next download then fetches the tags again.",
        ) from None
    log.warning("manifest %s was unreadable (%s); moved aside to %s", path, reason, aside)
    return aside


def save_manifest(system_dir: SystemDirectory, manifest: Manifest) -> None:
    """Write a manifest the caller may go on changing (the shared copy readers get is a private one)."""
    manifest.updated = datetime.now(UTC)
    write_manifest(system_dir, manifest.model_copy(deep=True))


def write_manifest(system_dir: SystemDirectory, manifest: Manifest) -> None:
    """Write ``manifest`` atomically; it becomes the copy readers share, so nobody may change it afterwards."""
    path = system_dir.manifest_path
    atomic_write_text(path, manifest.model_dump_json(indent=2, exclude_none=True) + "\n")
    st = path.stat()
    _parsed[path] = ((st.st_ino, st.st_mtime_ns, st.st_size), manifest)


def commit_entries(system_dir: SystemDirectory, entries: list[tuple[ManifestTag, bool]], *, tic_id: int) -> list[bool]:
    """Record tag entries in the manifest with one atomic write; the caller holds the system's lock.

    Each entry is ``(entry, keep_complete)``: with ``keep_complete`` a complete earlier download of the
    tag is kept instead (a failed re-fetch never forgets a good download).  Returns, per entry, whether
    it was recorded.  Nothing is copied but the dictionary of tags (entries are never changed in place),
    so recording N tags one after another costs N writes, not N copies of a growing manifest.
    """
    current = load_manifest(system_dir)
    tags = dict(current.tags) if current is not None else {}
    recorded = []
    for entry, keep_complete in entries:
        previous = tags.get(str(entry.tag))
        keep = keep_complete and previous is not None and is_complete(system_dir, previous)
        if not keep:
            tags[str(entry.tag)] = entry
        recorded.append(not keep)
    if not any(recorded):
        return recorded
    if current is None:
        manifest = Manifest(system=system_dir.name, tic_id=tic_id, updated=now(), tags=tags)
    else:
        manifest = current.model_copy(update={"tags": tags, "updated": now()})
    write_manifest(system_dir, manifest)
    return recorded


@dataclass
class _Batch:
    system_dir: SystemDirectory
    tic_id: int
    entries: list[tuple[ManifestTag, bool]] = field(default_factory=list)
    waiters: list[asyncio.Future[bool]] = field(default_factory=list)


def _retrieve(future: asyncio.Future[bool]) -> None:
    if not future.cancelled():
        future.exception()


class ManifestCommits:
    """Group commit of finished tags: tags that finish while a manifest write is under way share the next one.

    :meth:`record` returns only once a write holding the tag's entry is on disk (atomically, under the
    system's lock), so a reported tag is never lost in a crash.  A group whose write fails is written
    again tag by tag, so only the tags that cannot be written fail.
    One per process (per event loop): the downloader's.
    """

    def __init__(self, lock: Callable[[SystemDirectory], contextlib.AbstractAsyncContextManager[object]]) -> None:
        self._lock = lock
        self._pending: dict[Path, _Batch] = {}
        self._writers: dict[Path, asyncio.Task[None]] = {}

    async def record(
        self, system_dir: SystemDirectory, entry: ManifestTag, *, tic_id: int, keep_complete: bool
    ) -> bool:
        """Record ``entry`` (see :func:`commit_entries`); True if it was recorded, False if a complete one was kept."""
        path = system_dir.manifest_path
        batch = self._pending.get(path)
        if batch is None:
            batch = self._pending[path] = _Batch(system_dir, tic_id)
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(_retrieve)  # a failure nobody waits for any more is not logged as unretrieved
        batch.entries.append((entry, keep_complete))
        batch.waiters.append(waiter)
        if path not in self._writers:
            self._writers[path] = asyncio.create_task(self._drain(path), name=f"manifest-{system_dir.name}")
        return await asyncio.shield(waiter)  # a caller giving up does not take the others' write with it

    async def _drain(self, path: Path) -> None:
        try:
            while (batch := self._pending.pop(path, None)) is not None:
                await self._commit(batch)
        finally:
            self._writers.pop(path, None)
            left = self._pending.pop(path, None)
            for waiter in left.waiters if left is not None else ():
                if not waiter.done():
                    waiter.cancel()

    async def _commit(self, batch: _Batch) -> None:
        """Write one group and settle its waiters; a group whose write fails is written again tag by tag."""
        try:
            async with self._lock(batch.system_dir):
                outcomes = await asyncio.to_thread(commit_entries, batch.system_dir, batch.entries, tic_id=batch.tic_id)
        except Exception as exc:
            if len(batch.entries) > 1:  # only the tags that cannot be written fail
                for one, waiter in zip(batch.entries, batch.waiters, strict=True):
                    await self._commit(_Batch(batch.system_dir, batch.tic_id, [one], [waiter]))
                return
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        except BaseException:
            for waiter in batch.waiters:
                waiter.cancel()
            raise
        for waiter, outcome in zip(batch.waiters, outcomes, strict=True):
            if not waiter.done():
                waiter.set_result(outcome)


_ODD_PARTS = frozenset(("", ".", ".."))  # path parts that are not a plain name
#: What :class:`Containment` knows of a folder: plain names all the way and inside, plain but leading
#: outside through a link, or not a plain path at all (an empty, ``.`` or ``..`` part).
_INSIDE, _OUTSIDE, _ODD = 1, 0, -1


class Containment:
    """Whether recorded paths are inside a system directory, each folder on the way checked once.

    The same answer as :meth:`SystemDirectory.contains` (links followed), for the price of one
    ``lstat`` per file once the folders above it are known, and of one listing of each folder that
    holds them (which of its entries are links): checking a call's hundreds of tags neither resolves
    every file's whole path again nor ``lstat``s every tag's folder.  Keep one for one call (folders
    may change between).
    """

    def __init__(self, system_dir: SystemDirectory) -> None:
        self.system_dir = system_dir
        self._base = str(system_dir.path)
        self._prefix = os.path.join(self._base, "")
        self._folders: dict[str, bool] = {"": True}
        self._links: dict[str, frozenset[str]] = {}
        #: Each folder of a recorded file, by its text: one of ``_INSIDE``, ``_OUTSIDE``, ``_ODD``.
        self._seen: dict[str, int] = {}

    def stat(self, relative: str) -> os.stat_result | None:
        """The file's ``stat`` (links followed) if it is inside the system directory, else ``None``.

        Raises :class:`OSError` when it cannot be read (missing, say).
        """
        folder, sep, name = relative.rpartition("/")
        where = self._seen.get(folder) if sep else _INSIDE
        if where is None:
            where = self._classify(folder)
        if where == _ODD or name in _ODD_PARTS:  # unusual (or absolute): the full check
            path = self.system_dir.path / relative
            return path.stat() if self.system_dir.contains(path) else None
        if where == _OUTSIDE:
            return None
        st = os.lstat(self._prefix + relative)
        if stat.S_ISLNK(st.st_mode):
            path = self.system_dir.path / relative
            if not self.system_dir.contains(path):
                return None
            st = path.stat()
        return st

    def _classify(self, folder: str) -> int:
        """What is known of the folder of a recorded file (``""`` before a leading ``/`` is odd)."""
        plain = _ODD_PARTS.isdisjoint(folder.split("/"))
        where = _ODD if not plain else _INSIDE if self._folder(folder) else _OUTSIDE
        self._seen[folder] = where
        return where

    def _folder(self, relative: str) -> bool:
        """The folder (a path without ``.``/``..`` parts) does not lead outside the system directory."""
        known = self._folders.get(relative)
        if known is None:
            parent, _, name = relative.rpartition("/")
            known = name not in ("", ".", "..") and self._folder(parent)
            if known and name in self._links_in(parent):
                known = self.system_dir.contains(self.system_dir.path / relative)
            self._folders[relative] = known
        return known

    def _links_in(self, folder: str) -> frozenset[str]:
        """The names of the symbolic links in a folder: one listing per folder, not one ``lstat`` per tag."""
        links = self._links.get(folder)
        if links is None:
            names = []
            with contextlib.suppress(OSError), os.scandir(self._prefix + folder) as listing:
                for item in listing:
                    with contextlib.suppress(OSError):
                        if item.is_symlink():
                            names.append(item.name)
            links = self._links[folder] = frozenset(names)
        return links


def is_complete(
    system_dir: SystemDirectory,
    entry: ManifestTag,
    *,
    verify: bool = False,
    containment: Containment | None = None,
) -> bool:
    """True when ``entry`` is a finished download whose files are all on disk as they were written.

    A file counts when its size is the recorded one and, if its modification time differs from the
    recorded one (or ``verify`` asks), its SHA-256 is the recorded one too.  ``containment``: one
    shared by the checks of one call, so that each folder is checked once.
    """
    if entry.status != "downloaded" or not entry.files:
        return False  # a download with no files is not a download (a hand-edited entry, an empty archive)
    within = containment or Containment(system_dir)
    if entry.archive is not None:  # the archive it says it kept must be there too
        try:
            kept = within.stat(entry.archive)
        except OSError:
            return False
        if kept is None or not stat.S_ISREG(kept.st_mode):
            return False
    for f in entry.files:
        try:
            st = within.stat(f.path)
            if st is None or st.st_size != f.size:
                return False
            if f.sha256 is not None and (verify or st.st_mtime_ns != f.mtime_ns):
                p = system_dir.path / f.path
                key = (str(p), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                digest = _verified.get(key) if not verify else None
                if digest is None:
                    digest = file_sha256(p)
                    _verified[key] = digest
                if digest != f.sha256:
                    log.warning("%s changed since it was downloaded (SHA-256 differs)", p)
                    return False
        except OSError:
            return False
    return True


def now() -> datetime:
    return datetime.now(UTC)


def list_manifests(root: Path) -> list[Path]:
    """Every ``<root>/<system>/manifest.json`` (a folder of that name too: it is a damaged manifest)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/manifest.json") if p.is_file() or p.is_dir())

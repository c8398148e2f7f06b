"""The observation tables a download reads to file each tag under its kind, and saves under ``tables/``.

ExoFOP files a tag under one of the system's observation tables (time series, spectroscopy, imaging).
For explicit tags the archives start before the tables are read: :class:`TablesOnTheWay` asks for the
three tables while the archives transfer, in kind order, and tells a tag's kind as soon as the tables
that decide it have come (:meth:`~TablesOnTheWay.listed_kind`), so a time-series tag need not wait for
the other two.  :class:`TableFiles` saves the tables as CSV, rewriting a file only when it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path

from exofop_mcp.atomic_files import atomic_write_text
from exofop_mcp.downloads.locks import range_lock
from exofop_mcp.downloads.sandbox import DownloadKind, SandboxWriteError, SystemDirectory, write_failure
from exofop_mcp.site.observations import TAG_KINDS, ObservationLister
from exofop_mcp.site.records import TableRecord

Tables = dict[DownloadKind, list[TableRecord]]


class TablesFailure(Exception):
    """The observation tables a tag needs could not be read, or could not be written (the message says)."""

    def __init__(self, reason: str, *, reading: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reading = reading

    def __str__(self) -> str:  # a tag's message
        if self.reading:
            return f"the archive arrived but the observation tables that file it could not be read: {self.reason}"
        return f"the archive arrived but {self.reason}"

    def note(self) -> str:  # the report's, when every tag found its kind in the tables that did come
        if self.reading:
            return (
                f"The observation tables could not all be read ({self.reason}); the tags found in those that came "
                "are filed, but no table was saved in tables/."
            )
        return f"The tags are filed, but the observation tables were not saved: {self.reason}"


async def fetch_tables(observations: ObservationLister, tic: int) -> Tables:
    """The system's three observation tables, asked together (in kind order)."""
    return await TablesOnTheWay(observations, tic).everything


def tag_kinds(tables: Tables) -> dict[int, DownloadKind]:
    """Each listed tag's kind: the first table, in :data:`TAG_KINDS` order, that lists it."""
    kinds: dict[int, DownloadKind] = {}
    for kind in TAG_KINDS:
        for tag in _tags_of(tables.get(kind, [])):
            kinds.setdefault(tag, kind)
    return kinds


def _tags_of(rows: list[TableRecord]) -> Iterator[int]:
    """The tags of a table's rows (rows without one are left out)."""
    for row in rows:
        tag = getattr(row, "tag", None)
        if tag is not None:
            yield tag


class TablesOnTheWay:
    """The three tables being read while the archives transfer (make it inside the running event loop)."""

    def __init__(self, observations: ObservationLister, tic: int) -> None:
        self.tasks = {kind: asyncio.create_task(observations.table(kind, tic)) for kind in TAG_KINDS}
        #: Every table, once all have come (raises what the first failed one raised).
        self.everything = asyncio.create_task(self._gathered())
        self._tags: dict[DownloadKind, frozenset[int]] = {}

    async def _gathered(self) -> Tables:
        tables = await asyncio.gather(*self.tasks.values())
        return dict(zip(self.tasks, tables, strict=True))

    async def listed_kind(self, tag: int) -> DownloadKind | None:
        """The first kind (as :func:`tag_kinds`) whose table lists ``tag``, once that table and those of the
        kinds before it have come; None when no table lists it, or one failed (:attr:`everything` says how)."""
        while True:
            for kind in TAG_KINDS:
                task = self.tasks[kind]
                if task.cancelled():
                    return None
                if not task.done():
                    break  # an earlier kind may still claim the tag
                if task.exception() is not None:
                    return None
                if kind not in self._tags:
                    self._tags[kind] = frozenset(_tags_of(task.result()))
                if tag in self._tags[kind]:
                    return kind
            else:
                return None  # every table has come and none lists it
            arriving = [t for t in self.tasks.values() if not t.done()]
            await asyncio.wait(arriving, return_when=asyncio.FIRST_COMPLETED)

    def cancel(self) -> None:
        for task in (self.everything, *self.tasks.values()):
            if not task.done():
                task.cancel()


class TableFiles:
    """Writes a system's observation tables under ``tables/`` as CSV (atomically, only when changed)."""

    def __init__(self) -> None:
        #: The rows last written to each table file, and the file's (inode, mtime, size) then.
        self._written: dict[Path, tuple[list[TableRecord], tuple[int, int, int] | None]] = {}

    async def write(self, directory: SystemDirectory, tables: Tables, kinds: set[DownloadKind | None]) -> None:
        """Save the tables of ``kinds`` that have rows; :class:`SandboxWriteError` when the folder cannot be made."""
        directory.check_links()
        try:
            directory.tables_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SandboxWriteError(write_failure(exc, directory.tables_dir)) from None
        async with range_lock(directory.lock_file, directory.lock_index()):  # its temp files too
            for kind, rows in tables.items():
                if kind in kinds and rows:
                    path = directory.table_path(kind)
                    written = self._written.get(path)
                    if written is not None and written[0] is rows and written[1] == _signature(path):
                        continue  # the same rows (the lister's cache) are already in that very file
                    text = _rows_to_csv(rows)
                    await asyncio.to_thread(_write_if_changed, path, text)
                    self._written[path] = (rows, _signature(path))


def _rows_to_csv(rows: list[TableRecord]) -> str:
    fields = [name for name in type(rows[0]).model_fields if name != "kind"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(["" if (v := getattr(row, name)) is None else v for name in fields])
    return out.getvalue()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _write_if_changed(path: Path, text: str) -> None:
    """Write a table atomically, unless the file already holds exactly ``text`` (a repeated call)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if path.stat().st_size == len(text.encode()) and path.read_text(encoding="utf-8") == text:
            return
    atomic_write_text(path, text)

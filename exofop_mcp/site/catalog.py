"""The TOI catalog: ExoFOP's TOI table, cached on disk and shared by every process.

The full table (~7,700 rows, ~3.6 MB) is fetched at most once per TTL and streamed, a few hundred
rows at a time, into a small SQLite database under the cache directory (plain Python, only the
columns it keeps; written to a temporary name, then renamed), so the refresh never holds the table.
Lookups query the database by TIC, host TOI or normalized name, so a warm lookup costs a fraction of a
millisecond and a fresh process never re-downloads or re-parses the table.

When the cache is stale and ExoFOP cannot be reached, the stale cache is used
and :class:`CatalogStatus` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from exofop_mcp.errors import ExofopMcpError, ExofopResponseError
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.identifiers import normalize_name, star_name_of
from exofop_mcp.site.pipe_table import PipeRowReader, check_pipe_table
from exofop_mcp.site.records import TOIRecord, read_record_table

log = logging.getLogger(__name__)

#: The cache's schema version: a cache of another version is not used, and is replaced at the next refresh.
#: 2 added the toi_search table that search_tois filters and sorts; 3 the ephemeris, its errors and the
#: SG1A/SG1B priorities to it (for plan_transits); 4 every priority, ESM/TSM, the predicted RV
#: semi-amplitude and 'Date Modified' to the stored records (for follow_up_status and whats_new).
CACHE_FORMAT = 4
#: After a failed refresh, the stale cache answers at once for this many seconds before ExoFOP is tried again.
RETRY_FAILED_REFRESH_AFTER = 300.0
CACHE_FILE = "toi_catalog.sqlite3"
TOI_PAGE = TOIRecord.page


class CatalogStatus(BaseModel):
    """Where the TOI catalog data behind an answer came from, and how old it is."""

    source: Literal["cache", "network", "toi_page"] = Field(
        description="'cache': the on-disk catalog; 'network': just downloaded; "
        "'toi_page': ExoFOP's rows for one TOI, fetched while the full catalog warms up"
    )
    fetched_at: datetime = Field(description="when the data was fetched from ExoFOP (UTC)")
    age_hours: float = Field(description="age of the data in hours")
    stale: bool = Field(description="true when ExoFOP could not be reached and older data was used")
    rows: int | None = Field(default=None, description="TOI rows in the catalog")


@dataclass(frozen=True)
class CatalogEntry:
    """One TOI row with its coordinates in degrees."""

    record: TOIRecord
    ra_deg: float | None
    dec_deg: float | None

    @property
    def host(self) -> int | None:
        return host_of(self.record.toi)


def _log_failure(task: asyncio.Task[CatalogStatus]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("refreshing the TOI catalog failed: %s", task.exception())


def host_of(toi: str | None) -> int | None:
    if not toi:
        return None
    m = re.match(r"^\s*(?:TOI[\s\-_]*)?(\d+)", toi, re.IGNORECASE)
    return int(m.group(1)) if m else None


_NAME_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9+\-. ']{1,40}$")


def names_in(record: TOIRecord) -> set[str]:
    """Common names a TOI row carries: ``Planet Name`` and name-like parts of ``Comments``."""
    found: set[str] = set()
    for source in (record.planet_name, record.comments):
        if not source:
            continue
        for part in re.split(r"[/;,]| and ", source):
            token = part.strip()
            if not token or not _NAME_TOKEN.match(token) or not any(ch.isdigit() for ch in token):
                continue
            if len(token.split()) > 4:
                continue
            found.add(token)
            found.add(star_name_of(token))
    return found


#: What a cache file with a bad value inside raises when read (ValidationError is a ValueError).
_DAMAGE = (sqlite3.Error, ValueError, KeyError, TypeError, OverflowError)


def _degrees(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("coordinates are not numbers")
    return float(value)


class TOICatalog:
    """The on-disk TOI catalog and the logic that keeps it fresh."""

    def __init__(self, client: ExofopClient, cache_dir: Path, ttl_seconds: float) -> None:
        self.client = client
        self.path = cache_dir / CACHE_FILE
        self.ttl_seconds = ttl_seconds
        self._conn: sqlite3.Connection | None = None
        self._conn_key: tuple[int, int] | None = None
        self._refresh_task: asyncio.Task[CatalogStatus] | None = None
        #: One-TOI pages fetched while the catalog is cold or stale: host -> (monotonic time, entries).
        self._host_pages: dict[int, tuple[float, list[CatalogEntry]]] = {}
        #: Why the last refresh failed when an out-of-date cache was used instead (None once one succeeds).
        self.refresh_error: ExofopMcpError | None = None
        self._failed_at = 0.0
        #: How many times a damaged cache file was found (and removed, to be built again).
        self.damage_count = 0

    # -- database access -------------------------------------------------

    def _db(self) -> sqlite3.Connection | None:
        """An open connection to the current cache file, reopened when another process replaced it."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._close()
            return None
        key = (st.st_ino, st.st_mtime_ns)
        if self._conn is not None and key == self._conn_key:
            return self._conn
        self._close()
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            version = conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if not version or str(version[0]) != str(CACHE_FORMAT):
                conn.close()
                return None
        except sqlite3.Error as exc:
            log.warning("ignoring unreadable catalog cache %s: %s", self.path, exc)
            return None
        self._conn, self._conn_key = conn, key
        return conn

    def connection(self) -> sqlite3.Connection | None:
        """A read-only connection to the current cache (``None`` when there is none): for searches."""
        return self._db()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._conn_key = None

    def close(self) -> None:
        if self._refresh_task is not None and not self._refresh_task.done():
            self._refresh_task.cancel()
        self._close()

    def _damaged(self, exc: Exception) -> None:
        """A cache with a bad value inside: removed, so that the next look-up builds it again."""
        self.damage_count += 1
        log.warning("the TOI catalog cache %s is damaged (%s); it will be built again", self.path, type(exc).__name__)
        self._close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def status(self) -> CatalogStatus | None:
        """The cache's status, or ``None`` when there is no usable cache."""
        conn = self._db()
        if conn is None:
            return None
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            fetched = float(meta["fetched_at"])
            age = max(0.0, time.time() - fetched)
            return CatalogStatus(
                source="cache",
                fetched_at=datetime.fromtimestamp(fetched, UTC),
                age_hours=round(age / 3600.0, 3),
                stale=age > self.ttl_seconds,
                rows=int(meta.get("rows", 0)),
            )
        except _DAMAGE as exc:
            self._damaged(exc)
            return None

    def is_fresh(self) -> bool:
        status = self.status()
        return status is not None and not status.stale

    def entries_for_tic(self, tic: int) -> list[CatalogEntry]:
        return self._entries("SELECT record, ra_deg, dec_deg FROM tois WHERE tic = ? ORDER BY toi", (tic,))

    def entries_for_host(self, host: int) -> list[CatalogEntry]:
        return self._entries("SELECT record, ra_deg, dec_deg FROM tois WHERE host = ? ORDER BY toi", (host,))

    def tics_for_name(self, name: str) -> dict[int, str]:
        """TIC ids whose catalog names match ``name`` (normalized), with the name that matched."""
        conn = self._db()
        if conn is None:
            return {}
        try:
            rows = conn.execute("SELECT tic, name FROM names WHERE norm = ?", (normalize_name(name),)).fetchall()
            return {int(tic): str(n) for tic, n in rows}
        except _DAMAGE as exc:
            self._damaged(exc)
            return {}

    def _entries(self, sql: str, args: tuple[object, ...]) -> list[CatalogEntry]:
        conn = self._db()
        if conn is None:
            return []
        try:
            entries = [
                CatalogEntry(TOIRecord.model_validate_json(rec), _degrees(ra), _degrees(dec))
                for rec, ra, dec in conn.execute(sql, args).fetchall()
            ]
        except _DAMAGE as exc:
            self._damaged(exc)
            return []
        if any(e.record.tic_id is None for e in entries):
            self._damaged(ValueError("a row without a TIC id"))
            return []
        return entries

    # -- fetching ----------------------------------------------------------

    async def ensure(self) -> CatalogStatus:
        """Make the cache usable: fresh if ExoFOP answers, stale (and said so) if not.

        Raises :class:`ExofopUnavailableError` (or another fetch error) only when
        there is no cache at all and ExoFOP cannot deliver one.
        """
        status = self.status()
        if status is not None and (not status.stale or self.failed_recently()):
            return status
        try:
            fresh = await self.refresh()
        except ExofopMcpError as exc:
            if status is None:
                raise
            log.warning("using the stale TOI catalog (%.1f h old): %s", status.age_hours, exc)
            self.note_failure(exc)
            return status
        self.refresh_error = None
        return fresh

    def note_failure(self, exc: ExofopMcpError) -> None:
        """Remember that ExoFOP could not refresh the catalog, so callers use the stale one for a while."""
        self.refresh_error = exc
        self._failed_at = time.monotonic()

    def failed_recently(self) -> bool:
        """A refresh failed less than :data:`RETRY_FAILED_REFRESH_AFTER` seconds ago: do not wait for another.

        While ExoFOP is down, every lookup would otherwise spend its retries (seconds) before falling
        back to the stale cache.
        """
        return self.refresh_error is not None and time.monotonic() - self._failed_at < RETRY_FAILED_REFRESH_AFTER

    async def refresh(self) -> CatalogStatus:
        """Download and store the full table; concurrent callers share one download."""
        return await asyncio.shield(self._running_refresh())

    def warm_in_background(self) -> None:
        """Start fetching the full catalog if it is missing or stale; errors are only logged."""
        if not self.is_fresh():
            self._running_refresh()

    def _running_refresh(self) -> asyncio.Task[CatalogStatus]:
        """The download in progress, or a new one (whose failure is logged even if nobody awaits it)."""
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = asyncio.create_task(self._download_and_store())
            self._refresh_task.add_done_callback(_log_failure)
        return self._refresh_task

    async def wait_for_warm_up(self, timeout: float) -> None:
        """Give a background refresh up to ``timeout`` seconds to finish (used before a process exits)."""
        task = self._refresh_task
        if task is not None and not task.done():
            with contextlib.suppress(Exception, asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout)

    async def _download_and_store(self) -> CatalogStatus:
        started = time.time()
        rows = await self.client.read_lines(
            TOI_PAGE, {"output": "pipe", "sort": "toi"}, lambda batches: self._stream_into_cache(batches, started)
        )
        log.info("TOI catalog refreshed: %d rows in %.2f s", rows, time.time() - started)
        status = self.status()
        assert status is not None
        return status.model_copy(update={"source": "network"})

    async def _stream_into_cache(self, batches: AsyncIterator[list[str]], fetched_at: float) -> int:
        """Build the cache from the table's lines as they arrive: a few hundred rows in memory at a time.

        Written to a temporary file, renamed over the cache only once the whole table is in; an attempt
        that fails (or is retried) leaves nothing behind.
        """
        build = _CacheBuild(self.path, fetched_at, self.client.url(TOI_PAGE))
        try:
            async for lines in batches:
                for chunk in build.take(lines):
                    await asyncio.to_thread(build.write, chunk)
            return await asyncio.to_thread(build.finish)
        finally:
            await asyncio.to_thread(build.discard)

    async def fetch_host(self, host: int) -> list[CatalogEntry]:
        """ExoFOP's rows for one host TOI (``download_toi.php?toi=N``): one small request.

        The answer is kept in memory for :data:`HOST_PAGE_SECONDS` (at most the catalog's lifetime), so
        that the calls of one task (resolve, list, download) ask once while the whole table is fetched."""
        kept = self._host_pages.get(host)
        now = time.monotonic()
        if kept is not None and now - kept[0] < min(HOST_PAGE_SECONDS, self.ttl_seconds):
            return list(kept[1])
        text = await self.client.get_text(TOI_PAGE, {"toi": host, "output": "pipe"})
        entries = await asyncio.to_thread(parse_toi_table, text, page=TOI_PAGE)
        found = [e for e in entries if e.host == host]
        if found:
            self._host_pages[host] = (now, found)
        return list(found)


#: How long a one-TOI page answers again from memory (while the whole table is being fetched).
HOST_PAGE_SECONDS = 600.0


def parse_toi_table(text: str, *, page: str) -> list[CatalogEntry]:
    """Parse TOI table text into entries with coordinates in degrees."""
    check_pipe_table(text, TOIRecord.required_columns, page=page)
    rows = read_record_table(text, TOIRecord, only_its_columns=True)
    return _entries_of(rows)


#: Rows parsed and written to the cache at a time while the table streams in.
CHUNK_ROWS = 500


class _CacheBuild:
    """A new cache file being built from the TOI table's lines (one attempt)."""

    def __init__(self, path: Path, fetched_at: float, source_url: str) -> None:
        self.path = path
        self.fetched_at = fetched_at
        self.source_url = source_url
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.part")
        self.reader: PipeRowReader | None = None
        self.pending: list[str] = []
        self.rows = 0
        self._conn: sqlite3.Connection | None = None
        # The writes run in worker threads; a cancelled await does not stop its thread, so the
        # connection is only ever used (and closed) under this lock, one thread at a time.
        self._lock = threading.Lock()

    def take(self, lines: list[str]) -> list[list[str]]:
        """Add body lines; return the chunks of :data:`CHUNK_ROWS` lines now ready to write."""
        if self.reader is None:
            for index, line in enumerate(lines):
                if line.strip():
                    check_pipe_table(line, TOIRecord.required_columns, page=TOI_PAGE)
                    self.reader = PipeRowReader(
                        line,
                        text_columns=TOIRecord.text_columns(),
                        columns=TOIRecord.columns(),
                        key_column=TOIRecord.key_column,
                        free_text=TOIRecord.free_text_columns,
                    )
                    lines = lines[index + 1 :]
                    break
            else:
                return []
        self.pending.extend(lines)
        ready = []
        while len(self.pending) >= CHUNK_ROWS:
            ready.append(self.pending[:CHUNK_ROWS])
            del self.pending[:CHUNK_ROWS]
        return ready

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.tmp, check_same_thread=False)
            _write_schema(self._conn)
        return self._conn

    def write(self, lines: list[str]) -> None:
        with self._lock:
            self._write(lines)

    def _write(self, lines: list[str], *, final: bool = False) -> None:
        assert self.reader is not None
        entries = _entries_of(self.reader.rows(lines, final=final))
        if entries:
            _write_entries(self._connection(), entries)
            self.rows += len(entries)

    def finish(self) -> int:
        """Write what is left, then put the new cache in place (atomically); the number of TOI rows."""
        with self._lock:
            return self._finish()

    def _finish(self) -> int:
        if self.reader is None:
            check_pipe_table("", TOIRecord.required_columns, page=TOI_PAGE)  # an empty answer: says so
        self._write(self.pending, final=True)
        self.pending = []
        if not self.rows:
            raise ExofopResponseError(
                "ExoFOP's TOI table came back with no rows.",
                hint="The site may be under maintenance; try again later.",
            )
        conn = self._connection()
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("format", str(CACHE_FORMAT)),
                ("fetched_at", repr(self.fetched_at)),
                ("rows", str(self.rows)),
                ("source_url", self.source_url),
            ],
        )
        conn.commit()
        conn.close()
        self._conn = None
        os.replace(self.tmp, self.path)
        return self.rows

    def discard(self) -> None:
        """Close and remove the temporary file if it was not put in place (after any write under way)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()


def _entries_of(rows: list[dict[str, object]]) -> list[CatalogEntry]:
    records = [TOIRecord.model_validate(row) for row in rows]
    records = [r for r in records if r.tic_id is not None and r.toi]
    if not records:
        return []
    from exofop_mcp.site.coordinates import to_degrees

    degrees = to_degrees([r.ra for r in records], [r.dec for r in records])
    return [CatalogEntry(r, ra, dec) for r, (ra, dec) in zip(records, degrees, strict=True)]


def _write_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE tois (toi TEXT PRIMARY KEY, host INTEGER, tic INTEGER NOT NULL,
                           ra_deg REAL, dec_deg REAL, record TEXT NOT NULL);
        -- A narrow copy of the searchable values (search_tois scans it: no record text to read past).
        CREATE TABLE toi_search (toi TEXT PRIMARY KEY, host INTEGER, planet INTEGER, tic INTEGER NOT NULL,
                           ra_deg REAL, dec_deg REAL, tfopwg_disposition TEXT, tess_disposition TEXT,
                           tess_mag REAL, period_days REAL, duration_hours REAL, depth_ppm REAL,
                           planet_radius_earth REAL, time_series_count INTEGER, spectroscopy_count INTEGER,
                           imaging_count INTEGER, sg1a_priority INTEGER, sg1b_priority INTEGER,
                           epoch_bjd REAL, epoch_err_days REAL, period_err_days REAL, depth_mmag REAL);
        CREATE INDEX tois_tic ON tois (tic);
        CREATE INDEX tois_host ON tois (host);
        CREATE TABLE names (norm TEXT NOT NULL, tic INTEGER NOT NULL, name TEXT NOT NULL,
                            PRIMARY KEY (norm, tic));
        """
    )


def _write_entries(conn: sqlite3.Connection, entries: Iterable[CatalogEntry]) -> None:
    tois = []
    search = []
    names: dict[tuple[str, int], str] = {}
    for e in entries:
        r = e.record
        assert r.tic_id is not None
        tois.append((r.toi, e.host, r.tic_id, e.ra_deg, e.dec_deg, r.model_dump_json(exclude_none=True)))
        search.append(
            (
                r.toi,
                e.host,
                _planet_number(r.toi),
                r.tic_id,
                e.ra_deg,
                e.dec_deg,
                (r.tfopwg_disposition or "").upper() or None,
                (r.tess_disposition or "").upper() or None,
                r.tess_mag,
                r.period_days,
                r.duration_hours,
                r.depth_ppm,
                r.planet_radius_earth,
                r.time_series_count,
                r.spectroscopy_count,
                r.imaging_count,
                r.sg1a_priority,
                r.sg1b_priority,
                r.epoch_bjd,
                r.epoch_err_days,
                r.period_err_days,
                r.depth_mmag,
            )
        )
        for name in names_in(r):
            names.setdefault((normalize_name(name), r.tic_id), name)
    conn.executemany("INSERT OR REPLACE INTO tois VALUES (?, ?, ?, ?, ?, ?)", tois)
    conn.executemany(f"INSERT OR REPLACE INTO toi_search VALUES ({', '.join('?' * 22)})", search)
    conn.executemany("INSERT OR IGNORE INTO names VALUES (?, ?, ?)", [(n, t, name) for (n, t), name in names.items()])


def _planet_number(toi: str | None) -> int | None:
    """The planet's number after the dot (``1130.02`` -> 2), so TOIs sort as numbers."""
    m = re.match(r"^\s*(?:TOI[\s\-_]*)?\d+\.(\d+)", toi or "", re.IGNORECASE)
    return int(m.group(1)) if m else None

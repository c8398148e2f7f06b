"""Answers of ExoFOP's name resolver, remembered on disk for as long as the TOI catalog is.

A name such as ``WASP-46`` maps to the same TIC id for years; asking ``gototicid.php`` again on
every lookup would cost a round trip each time.  Only positive answers are kept, for the catalog's
TTL, in a small SQLite file next to the catalog, shared by every process.  A star's other names
(``target.php``'s ``star_names``: Gaia, 2MASS, HD ...) are kept there the same way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from exofop_mcp.site.identifiers import normalize_name

log = logging.getLogger(__name__)

CACHE_FILE = "names.sqlite3"


#: The cache's tables: what each keeps, by which key.
_TABLES = {
    "names": "CREATE TABLE IF NOT EXISTS names (norm TEXT PRIMARY KEY, tics TEXT NOT NULL, fetched_at REAL)",
    "star_names": "CREATE TABLE IF NOT EXISTS star_names "
    "(tic INTEGER PRIMARY KEY, names TEXT NOT NULL, fetched_at REAL)",
}
_SELECT = {
    "names": "SELECT fetched_at, tics FROM names WHERE norm = ?",
    "star_names": "SELECT fetched_at, names FROM star_names WHERE tic = ?",
}


class NameCache:
    def __init__(self, cache_dir: Path, ttl_seconds: float) -> None:
        self.path = cache_dir / CACHE_FILE
        self.ttl_seconds = ttl_seconds
        self._memory: dict[str, tuple[float, list[int]]] = {}
        self._star_names: dict[int, tuple[float, list[str]]] = {}

    def _stored(self, table: str, key: str | int) -> tuple[float, Any] | None:
        """(fetched_at, decoded JSON) of the row kept for ``key``; ``None`` when there is none.

        Raises ``ValueError`` for a damaged row (the caller says which and asks ExoFOP again)."""
        if not self.path.exists():
            return None
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn:
                row = conn.execute(_SELECT[table], (key,)).fetchone()
        except sqlite3.Error as exc:  # no such table yet, or unreadable: asked of ExoFOP
            log.debug("name cache (%s) unreadable: %s", table, exc)
            return None
        if row is None:
            return None
        try:
            return float(row[0]), json.loads(row[1])
        except (TypeError, RecursionError) as exc:  # deep JSON counts as damage too
            raise ValueError(str(exc)) from None

    def _store(self, table: str, key: str | int, value: object, now: float) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn, conn:
                conn.execute(_TABLES[table])
                conn.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", (key, json.dumps(value), now))
        except sqlite3.Error as exc:  # a cache that cannot be written only costs a round trip later
            log.debug("name cache (%s) not written: %s", table, exc)

    def get(self, name: str) -> list[int] | None:
        """The TIC ids remembered for ``name``, or ``None`` when unknown or too old."""
        key = normalize_name(name)
        now = time.time()
        hit = self._memory.get(key)
        if hit is not None and now - hit[0] <= self.ttl_seconds:
            return hit[1]
        try:
            stored = self._stored("names", key)
            if stored is None:
                return None
            fetched, raw = stored
            tics = [t for t in raw if isinstance(t, int) and not isinstance(t, bool) and t > 0]
            if not tics or len(tics) != len(raw):
                raise ValueError("not a list of TIC ids")
        except (ValueError, TypeError) as exc:  # a damaged row: forgotten, and asked again
            log.warning("name cache %s: damaged entry for %r (%s); asking ExoFOP again", self.path, name, exc)
            self._forget(key)
            return None
        if now - fetched > self.ttl_seconds:
            return None
        self._memory[key] = (fetched, tics)
        return tics

    def _forget(self, key: str) -> None:
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn, conn:
                conn.execute("DELETE FROM names WHERE norm = ?", (key,))
        except sqlite3.Error as exc:
            log.debug("name cache entry not removed: %s", exc)

    def put(self, name: str, tics: list[int]) -> None:
        key = normalize_name(name)
        now = time.time()
        self._memory[key] = (now, tics)
        self._store("names", key, tics, now)

    # -- a star's other names (target.php's star_names), kept as long as the names above -----------------

    def get_star_names(self, tic: int) -> list[str] | None:
        """The names remembered for TIC ``tic`` (its target page's ``star_names``), or ``None``."""
        now = time.time()
        hit = self._star_names.get(tic)
        if hit is not None and now - hit[0] <= self.ttl_seconds:
            return hit[1]
        try:
            stored = self._stored("star_names", tic)
            if stored is None:
                return None
            fetched, names = stored
            if not isinstance(names, list) or not all(isinstance(n, str) and 0 < len(n) <= 80 for n in names):
                raise ValueError("not a list of names")
        except (ValueError, TypeError) as exc:
            log.warning("name cache %s: damaged names of TIC %s (%s); asking ExoFOP again", self.path, tic, exc)
            return None
        if now - fetched > self.ttl_seconds:
            return None
        self._star_names[tic] = (fetched, names[:40])
        return names[:40]

    def put_star_names(self, tic: int, names: list[str]) -> None:
        now = time.time()
        self._star_names[tic] = (now, names)
        self._store("star_names", tic, names, now)

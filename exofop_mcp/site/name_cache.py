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

from exofop_mcp.site.identifiers import normalize_name

log = logging.getLogger(__name__)

CACHE_FILE = "names.sqlite3"


class NameCache:
    def __init__(self, cache_dir: Path, ttl_seconds: float) -> None:
        self.path = cache_dir / CACHE_FILE
        self.ttl_seconds = ttl_seconds
        self._memory: dict[str, tuple[float, list[int]]] = {}
        self._star_names: dict[int, tuple[float, list[str]]] = {}

    def get(self, name: str) -> list[int] | None:
        """The TIC ids remembered for ``name``, or ``None`` when unknown or too old."""
        key = normalize_name(name)
        now = time.time()
        hit = self._memory.get(key)
        if hit is not None and now - hit[0] <= self.ttl_seconds:
            return hit[1]
        if not self.path.exists():
            return None
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn:
                row = conn.execute("SELECT fetched_at, tics FROM names WHERE norm = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            log.debug("name cache unreadable: %s", exc)
            return None
        if row is None:
            return None
        try:
            fetched = float(row[0])
            tics = [t for t in json.loads(row[1]) if isinstance(t, int) and not isinstance(t, bool) and t > 0]
            if not tics or len(tics) != len(json.loads(row[1])):
                raise ValueError("not a list of TIC ids")
        except (ValueError, TypeError, RecursionError) as exc:  # a damaged row: forgotten, and asked again
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn, conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS names (norm TEXT PRIMARY KEY, tics TEXT NOT NULL, fetched_at REAL)"
                )
                conn.execute("INSERT OR REPLACE INTO names VALUES (?, ?, ?)", (key, json.dumps(tics), now))
        except sqlite3.Error as exc:  # a cache that cannot be written only costs a round trip later
            log.debug("name cache not written: %s", exc)

    # -- a star's other names (target.php's star_names), kept as long as the names above -----------------

    def get_star_names(self, tic: int) -> list[str] | None:
        """The names remembered for TIC ``tic`` (its target page's ``star_names``), or ``None``."""
        now = time.time()
        hit = self._star_names.get(tic)
        if hit is not None and now - hit[0] <= self.ttl_seconds:
            return hit[1]
        if not self.path.exists():
            return None
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn:
                row = conn.execute("SELECT fetched_at, names FROM star_names WHERE tic = ?", (tic,)).fetchone()
        except sqlite3.Error as exc:  # no such table yet, or unreadable: asked of ExoFOP
            log.debug("star names not read from the cache: %s", exc)
            return None
        if row is None:
            return None
        try:
            fetched = float(row[0])
            names = json.loads(row[1])
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn, conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS star_names "
                    "(tic INTEGER PRIMARY KEY, names TEXT NOT NULL, fetched_at REAL)"
                )
                conn.execute("INSERT OR REPLACE INTO star_names VALUES (?, ?, ?)", (tic, json.dumps(names), now))
        except sqlite3.Error as exc:
            log.debug("star names not written to the cache: %s", exc)

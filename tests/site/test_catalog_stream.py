"""The catalog refresh streams the TOI table into SQLite: the same cache as parsing the whole text."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopUnavailableError
from exofop_mcp.site import catalog as catalog_module
from exofop_mcp.site.catalog import CACHE_FILE, TOI_PAGE, _write_entries, _write_schema, parse_toi_table

pytestmark = pytest.mark.anyio

TABLES = ("tois", "toi_search", "names")


def contents(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in TABLES}


def whole_text_cache(text: str) -> dict[str, list[tuple]]:
    """What the cache holds when the whole table is parsed at once (the non-streamed way)."""
    conn = sqlite3.connect(":memory:")
    _write_schema(conn)
    _write_entries(conn, parse_toi_table(text, page=TOI_PAGE))
    return contents(conn)


def temp_files(settings) -> list:
    return [p for p in settings.cache_dir.iterdir() if p.name.endswith(".part")]


async def test_streamed_refresh_builds_the_same_cache_as_the_whole_table(settings, replica, monkeypatch):
    monkeypatch.setattr(catalog_module, "CHUNK_ROWS", 333)  # chunk boundaries fall anywhere in the table
    text = httpx.get(f"{replica.tess_url}/{TOI_PAGE}", params={"output": "pipe", "sort": "toi"}).text
    expected = whole_text_cache(text)
    assert len(expected["tois"]) > 7000
    async with Exofop(settings) as exofop:
        status = await exofop.catalog.refresh()
    assert status.source == "network" and status.rows == len(text.strip().split("\n")) - 1
    with sqlite3.connect(settings.cache_dir / CACHE_FILE) as conn:
        assert contents(conn) == expected
    assert temp_files(settings) == []


async def test_a_body_cut_mid_stream_is_fetched_again_and_leaves_no_temporary_file(settings, replica):
    replica.configure(error_rate=1.0, fault_kinds=("truncate",), fault_paths=(TOI_PAGE,))
    async with Exofop(settings) as exofop:
        with pytest.raises(ExofopUnavailableError, match=r"download_toi\.php"):
            await exofop.catalog.refresh()
        assert temp_files(settings) == [] and not (settings.cache_dir / CACHE_FILE).exists()
        attempts = replica.count(TOI_PAGE)
        assert attempts > 1  # retried
        replica.configure(error_rate=0.0)
        status = await exofop.catalog.refresh()
    assert status.source == "network" and status.rows and status.rows > 7000
    assert temp_files(settings) == []


async def test_a_refresh_cancelled_during_a_write_closes_the_cache_only_after_it(settings, replica):
    """A cancelled await does not stop its worker thread: the temporary cache is closed after the write ends."""
    text = httpx.get(f"{replica.tess_url}/{TOI_PAGE}", params={"output": "pipe", "sort": "toi"}).text
    lines = text.split("\n")
    build = catalog_module._CacheBuild(settings.cache_dir / CACHE_FILE, 0.0, "test")
    build.take(lines[:1])  # the header
    chunk = lines[1:4001]
    writer = threading.Thread(target=build.write, args=(chunk,))
    writer.start()
    while build._conn is None and writer.is_alive():
        time.sleep(0.001)
    build.discard()  # what the refresh's cleanup does while the write is still running
    writer.join()
    # the write finished whole (its last row waits for the next line, which may continue its comment)
    assert build.rows == 3999
    assert build._conn is None and temp_files(settings) == []

"""ExoFOP throttles by looking like success: an empty ``200``, or a connection that sends nothing.

An empty body is never "no rows" (a table without rows is its header line alone): it is retried with
backoff, and when it stays empty the error says ExoFOP is throttling and what to do.  A connection that
sends nothing is a read timeout, retried, and told apart from a connection that could not be made.
The cached TOI catalog keeps answering meanwhile.  Everything over real sockets, against the replica.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopThrottledError, ExofopUnreachableError
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.environment import age_cache
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio


async def test_an_empty_answer_is_retried_not_read_as_no_rows(warm_settings: Settings, replica: Replica) -> None:
    expected = await ok(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "time_series"})
    assert expected["total"] > 0
    replica.reset_requests()
    replica.configure(page_faults={"download_tseries.php": "empty:2"})  # the site's 480, 0, 480 bytes... twice
    page = await ok(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "time_series"})
    assert page["total"] == expected["total"]
    assert replica.count("download_tseries.php") == 3  # two empty answers, then the table


async def test_a_page_that_stays_empty_says_exofop_is_throttling(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(page_faults={"download_tseries.php": "empty"})
    message = await error(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "time_series"})
    assert "[throttled]" in message, message
    assert "throttling" in message and "not an empty result" in message
    assert "EXOFOP_MCP_CONCURRENCY" in message and "Wait" in message
    assert "no observations" not in message.lower()
    assert replica.count("download_tseries.php") == warm_settings.max_retries + 1

    # the same through the Python API: a ThrottledError, never an empty page of observations
    async with Exofop(warm_settings) as exofop:
        with pytest.raises(ExofopThrottledError) as caught:
            await exofop.list_observations("TOI-1130", "time_series")
    assert caught.value.code == "throttled"


async def test_an_empty_json_answer_is_throttling_too(warm_settings: Settings, replica: Replica) -> None:
    # WASP-46 is known to the catalog: the empty name resolver is reported, and the catalog answers
    replica.configure(page_faults={"gototicid.php": "empty"})
    system = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})
    assert system["canonical_name"] == "TOI-101" and system["matched_by"] == "catalog_name"
    assert any("name resolver is throttling" in note for note in system["notes"]), system["notes"]
    # a name the catalog does not know: the site could not say, which is not "no such star"
    message = await error(warm_settings, "resolve_system", {"query": "Kepler-999999"})
    assert "[throttled]" in message and "No star or planet named" not in message, message
    assert "could not be checked" in message and "EXOFOP_MCP_CONCURRENCY" in message and "TIC id" in message


async def test_the_cached_catalog_answers_while_the_toi_table_is_throttled(
    warm_settings: Settings, replica: Replica
) -> None:
    age_cache(warm_settings, 30)
    replica.configure(page_faults={"download_toi.php": "empty"})
    system = await ok(warm_settings, "resolve_system", {"query": "TOI-1130"})
    assert system["tic_id"] == 254113311 and system["catalog"]["stale"] is True
    notes = " ".join(system["notes"])
    assert "throttling" in notes and "cached 3" in notes, notes
    found = await ok(warm_settings, "search_tois", {"tfopwg_disposition": ["CP"], "limit": 5})
    assert found["total"] > 0
    assert replica.count("download_toi.php") >= warm_settings.max_retries + 1  # it did try, with retries


async def test_the_full_toi_table_empty_on_a_cold_cache_says_throttling(settings: Settings, replica: Replica) -> None:
    replica.configure(page_faults={"download_toi.php": "empty"})
    message = await error(settings, "search_tois", {"limit": 5})
    assert "[throttled]" in message and "download_toi.php" in message, message
    assert not (settings.cache_dir / "toi_catalog.sqlite3").exists(), "an empty table is never cached"


async def test_a_connection_that_sends_nothing_is_a_read_timeout_and_is_retried(
    warm_settings: Settings, replica: Replica
) -> None:
    quick = replace(warm_settings, read_timeout=0.5, connect_timeout=5.0)
    replica.configure(page_faults={"download_spect.php": "silent:1"}, stall_seconds=5.0)
    page = await ok(quick, "list_observations", {"system": "TOI-1130", "kind": "spectroscopy"})
    assert page["total"] >= 0
    assert replica.count("download_spect.php") == 2  # the silent one, then the answer

    replica.configure(page_faults={"download_spect.php": "silent"})
    started = time.monotonic()
    async with Exofop(replace(quick, max_retries=1)) as exofop:
        with pytest.raises(ExofopUnreachableError) as caught:
            await exofop.list_observations("TOI-1130", "spectroscopy")
    elapsed = time.monotonic() - started
    message = str(caught.value)
    # the read timeout, not the connect timeout: the connection was made, then nothing came
    assert "no answer within 0.5 s (read timeout)" in message and "connecting" not in message, message
    assert "2 attempt(s)" in message and "throttl" in message, message
    assert elapsed < 8, elapsed  # two read timeouts and a backoff, not the 5 s of silence each


async def test_an_empty_archive_is_retried_and_called_throttling(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(page_faults={"download_tag_files_zip.php": "empty:1"})
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [18493]})
    assert report["results"][0]["status"] == "downloaded", report["results"][0]
    replica.configure(page_faults={"download_tag_files_zip.php": "empty"})
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [18598]})
    result = report["results"][0]
    assert result["status"] == "failed" and "throttl" in result["message"], result
    assert "EXOFOP_MCP_CONCURRENCY" in result["message"] and result["attempts"] > 1


async def test_a_silent_page_past_the_deadline_suggests_throttling(warm_settings: Settings, replica: Replica) -> None:
    # with the default timeouts the page deadline ends the wait first: its message names throttling too
    replica.configure(page_faults={"download_imaging.php": "silent"}, stall_seconds=5.0)
    hasty = replace(warm_settings, page_deadline_seconds=1.0, read_timeout=3.0)
    message = await error(hasty, "list_observations", {"system": "TOI-1130", "kind": "imaging"})
    assert "[unavailable]" in message and "within 1 s" in message and "throttles" in message, message

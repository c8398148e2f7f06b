"""Answers that drip: a page (or its headers) arriving a byte at a time is given up on, in bounded time.

The read timeout waits for one byte, so a byte every two seconds never trips it: a table, page or JSON
answer has an overall deadline (``EXOFOP_MCP_PAGE_DEADLINE_SECONDS``), retries included, and an
archive's response headers are bounded as a whole (``EXOFOP_MCP_HEADER_WAIT_SECONDS``), not only
between two bytes.  Over real sockets, against the replica.
"""

from __future__ import annotations

import time

import anyio
import pytest
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopUnavailableError
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import Replica
from exofop_mcp.settings import DEFAULT_PAGE_DEADLINE_SECONDS, Settings
from tests.helpers.tool_client import error, ok, text_of

pytestmark = pytest.mark.anyio

#: No test here may take longer than this: without the deadlines each would wait for many minutes.
GUARD_SECONDS = 30


def test_the_page_deadline_is_a_setting() -> None:
    assert Settings().page_deadline_seconds == DEFAULT_PAGE_DEADLINE_SECONDS == 180.0
    assert Settings.from_env({"EXOFOP_MCP_PAGE_DEADLINE_SECONDS": "30"}).page_deadline_seconds == 30.0


async def test_a_dripping_table_is_given_up_while_the_server_keeps_answering(
    warm_settings: Settings, replica: Replica
) -> None:
    # one byte every two seconds: the table would take hours, and no read ever waits 10 s for a byte
    replica.configure(page_faults={"download_tseries.php": "drip"}, stall_rate=0.5)
    hasty = warm_settings.with_overrides(page_deadline_seconds=2.0)
    with anyio.fail_after(GUARD_SECONDS):
        async with Client(build_server(hasty)) as client:
            started = time.monotonic()
            async with anyio.create_task_group() as group:
                results: list = []

                async def listing() -> None:
                    results.append(
                        await client.call_tool("list_observations", {"system": "TOI-1130", "kind": "time_series"})
                    )

                group.start_soon(listing)
                status = await client.call_tool("login_status", {})
                assert not status.is_error  # the server answers other calls meanwhile
            elapsed = time.monotonic() - started
    result = results[0]
    assert result.is_error
    message = text_of(result)
    assert "[unavailable]" in message and "download_tseries.php" in message and "within 2 s" in message, message
    assert "EXOFOP_MCP_PAGE_DEADLINE_SECONDS" in message
    assert elapsed < 6, elapsed


async def test_the_deadline_covers_the_retries(warm_settings: Settings, replica: Replica) -> None:
    # the first answer drips, the retries would not: the whole (not each attempt) is bounded
    replica.configure(page_faults={"download_spect.php": "drip"}, stall_rate=0.5)
    hasty = warm_settings.with_overrides(page_deadline_seconds=1.5)
    with anyio.fail_after(GUARD_SECONDS):
        async with Exofop(hasty) as exofop:
            started = time.monotonic()
            with pytest.raises(ExofopUnavailableError) as caught:
                await exofop.list_observations("TOI-1130", "spectroscopy")
            elapsed = time.monotonic() - started
    assert "download_spect.php" in str(caught.value) and elapsed < 4, (elapsed, caught.value)
    assert replica.count("download_spect.php") == 1  # a deadline is not a transient failure: not retried


async def test_a_page_whose_headers_drip_is_given_up(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(page_faults={"target.php": "slow_headers", "gototicid.php": "slow_headers"}, stall_rate=1.0)
    hasty = warm_settings.with_overrides(page_deadline_seconds=1.5)
    started = time.monotonic()
    with anyio.fail_after(GUARD_SECONDS):
        message = await error(hasty, "resolve_system", {"query": "Kepler-999999"})
    assert "gototicid.php" in message and "within 1.5 s" in message, message
    assert "No star or planet named" not in message
    assert time.monotonic() - started < 5


async def test_a_slow_but_steady_page_within_the_deadline_is_read(warm_settings: Settings, replica: Replica) -> None:
    # a small JSON answer dripping at 200 bytes a second arrives whole well within the deadline
    replica.configure(page_faults={"gototicid.php": "drip"}, stall_rate=200.0)
    system = await ok(warm_settings.with_overrides(page_deadline_seconds=10.0), "resolve_system", {"query": "WASP-46"})
    assert system["matched_by"] == "name_resolver" and system["tic_id"] > 0


async def test_archive_headers_that_trickle_are_bounded_as_a_whole(warm_settings: Settings, replica: Replica) -> None:
    # headers at a byte a second: each byte is within the read timeout, the whole is minutes long
    replica.configure(page_faults={"download_tag_files_zip.php": "slow_headers"}, stall_rate=1.0)
    tight = warm_settings.with_overrides(header_wait_seconds=1.0, max_retries=1, retry_base_delay=0.01)
    started = time.monotonic()
    with anyio.fail_after(GUARD_SECONDS):
        report = await ok(tight, "download_tags", {"system": "TOI-1130", "tags": [18493], "wait_seconds": 20})
    elapsed = time.monotonic() - started
    result = report["results"][0]
    assert result["status"] in ("failed", "timed_out"), result
    assert "no complete response headers" in result["message"], result
    assert "EXOFOP_MCP_HEADER_WAIT_SECONDS" in result["message"]
    assert result["attempts"] == 2 and elapsed < 15, (result, elapsed)  # not the 30-minute tag deadline

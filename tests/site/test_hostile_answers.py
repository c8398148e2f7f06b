"""Answers no well-behaved site sends: bodies that inflate without bound, redirects to another site."""

from __future__ import annotations

import asyncio
import time

import pytest
from mcp import Client

from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.downloads.archive_limits import ExtractionLimits
from exofop_mcp.errors import ForeignRedirectError
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import Replica, ReplicaConfig
from exofop_mcp.settings import DEFAULT_MAX_ARCHIVE_BYTES, DEFAULT_MAX_PAGE_BYTES, Settings
from tests.helpers.tool_client import error, ok, text_of

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"


def test_the_archive_limit_is_the_extraction_limit() -> None:
    assert ExtractionLimits().max_total_uncompressed == DEFAULT_MAX_ARCHIVE_BYTES
    assert DEFAULT_MAX_PAGE_BYTES == 64 << 20


async def test_an_inflating_table_is_refused_while_the_server_keeps_answering(
    warm_settings: Settings, replica: Replica
) -> None:
    # 300 MiB of zeros as a gzip body of about 300 KB, on the time-series page.
    replica.configure(inflating_pages=("download_tseries.php",), inflate_bytes=300 << 20)
    async with Client(build_server(warm_settings)) as client:
        bomb = asyncio.ensure_future(
            client.call_tool("list_observations", {"system": "TOI-1130", "kind": "time_series"})
        )
        started = time.monotonic()
        status = await client.call_tool("login_status", {})
        assert not status.is_error and status.structured_content["logged_in"] is False
        answered = time.monotonic() - started
        result = await bomb
    assert answered < 10
    assert result.is_error
    message = text_of(result)
    assert "download_tseries.php" in message and "64 MiB" in message and "EXOFOP_MCP_MAX_PAGE_BYTES" in message
    assert "Traceback" not in message
    # the other pages still answer normally
    page = await ok(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "spectroscopy"})
    assert page["total"] >= 0


async def test_the_page_limit_is_a_setting(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(inflating_pages=("download_spect.php",), inflate_bytes=4 << 20)
    message = await error(
        warm_settings.with_overrides(max_page_bytes=1 << 20),
        "list_observations",
        {"system": "TOI-1130", "kind": "spectroscopy"},
    )
    assert "download_spect.php" in message and "1 MiB" in message
    # under the default limit the 4 MiB are read, and found not to be a table; the message stays short
    message = await error(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "spectroscopy"})
    assert "lacks the expected column" in message and len(message) < 2000


async def test_an_inflating_archive_fails_that_tag_only(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(inflating_pages=("download_tag_files_zip.php",), inflate_bytes=8 << 20)
    small = warm_settings.with_overrides(max_archive_bytes=2 << 20)
    report = await ok(small, "download_tags", {"system": "TOI-1130", "tags": [18493]})
    result = report["results"][0]
    assert result["status"] == "failed"
    assert "2 MiB" in result["message"] and "EXOFOP_MCP_MAX_ARCHIVE_BYTES" in result["message"]
    kept = [p for p in small.data_dir.rglob("*") if p.is_file()]
    assert all(p.stat().st_size < (1 << 20) for p in kept), kept  # nothing of the bomb was kept


@pytest.fixture
def foreign() -> Replica:
    with Replica(ReplicaConfig(accounts={"alice": PASSWORD})) as other:
        yield other


async def test_a_redirect_to_another_site_is_not_followed(
    warm_settings: Settings, replica: Replica, foreign: Replica
) -> None:
    replica.configure(
        accounts={"alice": PASSWORD},
        foreign_redirect=foreign.base_url,
        foreign_redirect_pages=("download_tag_files_zip.php", "download_imaging.php"),
    )
    await login(warm_settings, Credentials("alice", PASSWORD, source="test"), sessions=2)
    foreign.reset_requests()
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [18493]})
    result = report["results"][0]
    assert result["status"] == "failed"
    assert foreign.base_url in result["message"] and "not followed" in result["message"]

    message = await error(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "imaging"})
    assert foreign.base_url in message and "not followed" in message
    assert foreign.requests == [], "the other site received nothing"

    # the login form redirecting elsewhere: the password never leaves the configured site
    replica.configure(foreign_redirect_pages=("password_check.php",))
    with pytest.raises(ForeignRedirectError):
        await login(warm_settings, Credentials("alice", PASSWORD, source="test"), sessions=1)
    assert foreign.requests == []


async def test_redirects_within_the_site_are_followed_with_the_session(
    warm_settings: Settings, replica: Replica
) -> None:
    replica.configure(accounts={"alice": PASSWORD})
    await login(warm_settings, Credentials("alice", PASSWORD, source="test"), sessions=1)
    replica.configure(foreign_redirect=replica.base_url, foreign_redirect_pages=("download_tseries.php",))
    # the same site redirecting to itself loops: the client stops after its redirect limit, honestly
    message = await error(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "time_series"})
    assert "Traceback" not in message
    hops = [r for r in replica.requests if r.path.endswith("download_tseries.php")]
    assert len(hops) > 1 and all(r.user == "alice" for r in hops)

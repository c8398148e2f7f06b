"""A tag's zip is built before its first byte: waiting for the headers has its own, longer limit."""

from __future__ import annotations

import pytest

from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.tool_client import ok

pytestmark = pytest.mark.anyio


def test_the_header_wait_defaults_to_five_minutes() -> None:
    assert Settings().header_wait_seconds == 300.0
    assert Settings.from_env({"EXOFOP_MCP_HEADER_WAIT_SECONDS": "90"}).header_wait_seconds == 90.0


@pytest.mark.slow
async def test_headers_later_than_the_stall_window_and_read_timeout_still_download(
    warm_settings: Settings, replica: Replica
) -> None:
    # The scaled-down real case: headers after 75 s, a 30 s stall window and a 60 s read timeout.
    replica.configure(archive_header_delay=1.5)
    settings = warm_settings.with_overrides(stall_seconds=1.0, read_timeout=1.0, header_wait_seconds=3.0)
    report = await ok(settings, "download_tags", {"system": "TOI-1130", "tags": [18493]})
    assert report["results"][0]["status"] == "downloaded", report["results"][0]

    # past the header limit (and within the overall deadline) the tag times out, saying so
    replica.configure(archive_header_delay=2.5)
    tight = warm_settings.with_overrides(stall_seconds=1.0, read_timeout=1.0, header_wait_seconds=1.0, max_retries=0)
    report = await ok(tight, "download_tags", {"system": "TOI-1130", "tags": [18598]})
    assert report["results"][0]["status"] in ("timed_out", "failed")

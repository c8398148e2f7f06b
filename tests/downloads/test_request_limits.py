"""Amplification and limits: one call cannot become thousands of requests, nor a small body gigabytes.

``download_tags`` publishes its most tags (``maxItems``), looks up at most a fixed number of unlisted
tags in ExoFOP's tag summaries per call and says so; a compressed body that grows more than
``EXOFOP_MCP_MAX_DECODED_RATIO`` times is refused early, pages and archives alike; the archive limit's
default fits real tags.  Over real sockets, against the replica.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.archive_limits import ExtractionLimits
from exofop_mcp.downloads.request_models import MAX_TAGS_PER_REQUEST
from exofop_mcp.downloads.tag_owner import MAX_OWNER_LOOKUPS, SUMMARY_PAGES
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import Replica
from exofop_mcp.settings import DEFAULT_MAX_ARCHIVE_BYTES, Settings
from tests.helpers.tool_client import error, ok, text_of

pytestmark = pytest.mark.anyio

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
MADE_UP = [900_000_000 + n for n in range(3 * MAX_OWNER_LOOKUPS)]


def test_the_archive_limit_fits_real_tags() -> None:
    # real tags run from kilobytes to hundreds of megabytes: 4 GiB, not 20, and the same for unpacking
    assert DEFAULT_MAX_ARCHIVE_BYTES == 4 << 30 == Settings().max_archive_bytes
    assert ExtractionLimits().max_total_uncompressed == DEFAULT_MAX_ARCHIVE_BYTES
    assert Settings().max_decoded_ratio == 100.0
    assert Settings.from_env({"EXOFOP_MCP_MAX_DECODED_RATIO": "500"}).max_decoded_ratio == 500.0


async def test_the_schema_publishes_the_most_tags(warm_settings: Settings) -> None:
    published = json.loads((SCHEMAS / "download_tags.input.json").read_text())
    tags = published["properties"]["tags"]["anyOf"][0]
    assert tags["maxItems"] == MAX_TAGS_PER_REQUEST == 500
    async with Client(build_server(warm_settings)) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        schema = listed["download_tags"].input_schema["properties"]["tags"]["anyOf"][0]
        assert schema["maxItems"] == 500
    message = await error(warm_settings, "download_tags", {"system": "TOI-1130", "tags": list(range(1, 502))})
    assert "500" in message


async def test_made_up_tags_cost_a_bounded_number_of_lookups(warm_settings: Settings, replica: Replica) -> None:
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=MADE_UP)
    lookups = sum(replica.count(page) for _, page in SUMMARY_PAGES)
    assert lookups <= len(SUMMARY_PAGES) * MAX_OWNER_LOOKUPS, lookups  # not three for every made-up tag
    assert len(report.results) == len(MADE_UP) and all(r.status != "downloaded" for r in report.results)
    unchecked = [r for r in report.results if "not looked up" in (r.message or "")]
    assert len(unchecked) == len(MADE_UP) - MAX_OWNER_LOOKUPS, [r.message for r in report.results[:3]]
    assert f"only the first {MAX_OWNER_LOOKUPS} were looked up" in report.message

    # through the MCP tool: the report's text says so too
    replica.reset_requests()
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool(
            "download_tags", {"system": "TOI-1130", "tags": MADE_UP, "overwrite": True, "wait_seconds": 120}
        )
    assert not result.is_error and f"only the first {MAX_OWNER_LOOKUPS} were looked up" in text_of(result)
    assert sum(replica.count(page) for _, page in SUMMARY_PAGES) <= len(SUMMARY_PAGES) * MAX_OWNER_LOOKUPS


async def test_an_archive_that_inflates_is_refused_early(warm_settings: Settings, replica: Replica) -> None:
    # 64 MiB of zeros in a gzip body of about 64 KB: far under the archive limit, but 1000 times its size
    replica.configure(inflating_pages=("download_tag_files_zip.php",), inflate_bytes=64 << 20)
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [18493]})
    result = report["results"][0]
    assert result["status"] == "failed", result
    assert "decompression bomb" in result["message"] and "EXOFOP_MCP_MAX_DECODED_RATIO" in result["message"]
    kept = [p for p in warm_settings.data_dir.rglob("*") if p.is_file()]
    assert all(p.stat().st_size < (1 << 20) for p in kept), kept


async def test_a_page_that_inflates_is_refused_before_its_limit(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(inflating_pages=("download_tseries.php",), inflate_bytes=48 << 20)
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("list_observations", {"system": "TOI-1130", "kind": "time_series"})
    message = text_of(result)
    assert result.is_error and "[response_too_large]" in message, message
    assert "download_tseries.php" in message and "decompression bomb" in message

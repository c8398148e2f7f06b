"""Download reports of a large system page: both halves stay small, paging meets every tag once, attention first."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from mcp import Client

from exofop_mcp.downloads.jobs import RESULTS_PAGE, attention_rank
from exofop_mcp.mcp_server.server import build_server
from tests.helpers.tool_client import text_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LIMIT = 20_000
KiB = 1024
BUSY = "TOI-736"  # the replica's largest system: 350 time-series rows, 307 distinct tags


def check_halves(result: Any) -> dict[str, Any]:
    """Both halves under 20 kB; the text alone names each shown tag's status; the page is bounded."""
    assert not result.is_error, text_of(result)
    report = dict(result.structured_content)
    text = text_of(result)
    assert len(text.encode()) < LIMIT and len(json.dumps(report).encode()) < LIMIT
    assert len(report["results"]) <= RESULTS_PAGE
    assert report["results_total"] == report["tags_total"]
    assert sum(report["totals"].values()) == report["tags_total"]
    lines = text.splitlines()
    for r in report["results"]:
        line = next(line for line in lines if re.match(rf"\s*tag {r['tag']}\b", line))
        assert f": {r['status']}" in line, (line, r["status"])
    links = [c for c in result.content if c.type == "resource_link"]
    assert len(links) <= 10 and all(str(link.uri).startswith(f"exofop://{report['system']}/") for link in links)
    return report


async def all_pages(client: Client, job_id: str) -> list[dict[str, Any]]:
    """Every page of the job's report, from the first, as they come."""
    pages: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        args = {"job_id": job_id, "wait_seconds": 0, "results_offset": offset}
        result = await client.call_tool("download_status", args)
        page = check_halves(result)
        assert page["results_offset"] == offset
        pages.append(page)
        offset = page.get("next_results_offset")
        if offset is not None:
            assert offset == page["results_offset"] + len(page["results"]) and page["results"]
            assert f"results_offset={offset}" in text_of(result)
    return pages


def ranks(results: list[dict[str, Any]]) -> list[int]:
    return [attention_rank(r["status"]) for r in results]


async def test_a_large_download_reports_in_pages_while_running_and_finished(warm_settings, replica):
    async with Client(build_server(warm_settings)) as client:
        listing = await client.call_tool("list_observations", {"system": BUSY, "limit": 1})
        tags = listing.structured_content["tags"]
        assert len(tags) > 6 * RESULTS_PAGE // 2
        failing, corrupt = tags[-1], tags[len(tags) // 2]
        replica.configure(tag_size=4 * KiB, archive_header_delay=0.02, tag_faults={failing: "5xx", corrupt: "corrupt"})
        result = await client.call_tool("download_tags", {"system": BUSY, "kind": "time_series", "wait_seconds": 1})
        report = check_halves(result)
        running_checked = 0
        while report["state"] == "running":
            if report["results_total"]:
                assert ranks(report["results"]) == sorted(ranks(report["results"]))  # a first page: fresh order
                queued, moving = report["totals"].get("pending", 0), report["totals"].get("downloading", 0)
                assert f"{moving} downloading" in text_of(result) or f"{queued} queued" in text_of(result)
                pages = await all_pages(client, report["job_id"])
                seen = [r["tag"] for page in pages for r in page["results"]]
                assert sorted(seen) == sorted(tags), "paging a running job met some tag twice or not at all"
                running_checked += 1
            result = await client.call_tool("download_status", {"job_id": report["job_id"], "wait_seconds": 2})
            report = check_halves(result)
        assert running_checked, "the download finished before a running report could be paged"
        assert report["state"] == "completed"
        pages = await all_pages(client, report["job_id"])
    results = [r for page in pages for r in page["results"]]
    assert sorted(r["tag"] for r in results) == sorted(tags)
    assert len(pages) > 1 and all(page["totals"] == pages[0]["totals"] for page in pages)
    assert ranks(results) == sorted(ranks(results))
    assert [(r["tag"], r["status"]) for r in results[:2]] == [(failing, "failed"), (corrupt, "corrupt")]
    assert pages[0]["totals"] == {"downloaded": len(tags) - 2, "failed": 1, "corrupt": 1}
    assert pages[-1].get("next_results_offset") is None

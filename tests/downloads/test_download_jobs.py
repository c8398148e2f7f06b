"""Download jobs: background work past the call, polling, progress, cancellation, overlaps and kills."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import anyio
import pytest
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.atomic_files import is_temp_name
from exofop_mcp.downloads.manifest import is_complete, load_manifest
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.mcp_server.server import build_server
from tests.helpers.environment import server_env
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio

ARCHIVE_PAGE = "download_tag_files_zip.php"
TAGS = [18493, 18598, 19121, 19188]


def temp_files(root):
    return [p for p in root.rglob("*") if is_temp_name(p.name)]


async def test_short_wait_returns_running_then_status_completes(warm_settings, replica):
    replica.configure(tag_size=256 * 1024, bandwidth=256 * 1024)
    async with Client(build_server(warm_settings)) as client:
        first = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": TAGS, "wait_seconds": 0})
        report = first.structured_content
        assert not first.is_error and report["state"] == "running"
        assert "download_status" in report["message"] and report["job_id"] in report["message"]
        assert {r["status"] for r in report["results"]} <= {"pending", "downloading", "downloaded"}
        while report["state"] == "running":
            result = await client.call_tool("download_status", {"job_id": report["job_id"], "wait_seconds": 10})
            assert not result.is_error, text_of(result)
            report = result.structured_content
    assert report["state"] == "completed" and report["totals"] == {"downloaded": 4}
    assert report["bytes_downloaded"] >= 4 * 200 * 1024
    assert replica.count(ARCHIVE_PAGE) == 4


async def test_progress_notifications(warm_settings, replica):
    replica.configure(tag_size=128 * 1024, bandwidth=512 * 1024)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool(
            "download_tags", {"system": "TOI-1130", "tags": TAGS}, progress_callback=on_progress
        )
    assert result.structured_content["state"] == "completed"
    assert seen, "no progress notification arrived"
    assert [p for p, _, _ in seen] == sorted(p for p, _, _ in seen)
    assert seen[-1][0] == 4 and seen[-1][1] == 4
    assert all(message and "tags" in message for _, _, message in seen)


async def test_unknown_job_id_is_a_clear_error(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("download_status", {"job_id": "abcdef123456"})
        assert result.is_error and "download_tags again" in text_of(result)
        bad = await client.call_tool("cancel_download", {"job_id": "../../x"})
        assert bad.is_error


async def test_cancel_stops_transfers_and_leaves_nothing_partial(warm_settings, replica):
    replica.configure(tag_size=4 * 2**20, bandwidth=256 * 1024)
    async with Client(build_server(warm_settings)) as client:
        started = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": TAGS, "wait_seconds": 0.5})
        job = started.structured_content["job_id"]
        cancelled = await client.call_tool("cancel_download", {"job_id": job})
        report = cancelled.structured_content
        assert report["state"] == "cancelled"
        assert {r["status"] for r in report["results"]} == {"cancelled"}
        again = await client.call_tool("download_status", {"job_id": job, "wait_seconds": 0})
        assert again.structured_content["state"] == "cancelled"
    system_dir = warm_settings.data_dir / "TOI-1130"
    assert temp_files(warm_settings.data_dir) == []
    assert not (system_dir / "time_series").exists()
    assert not any((system_dir / "archives").glob("*"))


async def test_client_giving_up_does_not_stop_the_job(warm_settings, replica):
    replica.configure(tag_size=256 * 1024, bandwidth=512 * 1024)
    async with Client(build_server(warm_settings)) as client:
        with anyio.move_on_after(0.2):
            await client.call_tool("download_tags", {"system": "TOI-1130", "tags": TAGS, "wait_seconds": 30})
        result = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": TAGS, "wait_seconds": 30})
        report = result.structured_content
    assert report["state"] == "completed"
    assert set(report["totals"]) <= {"downloaded", "already_present"}
    assert replica.count(ARCHIVE_PAGE) == 4  # each tag fetched once, whichever call got it


async def test_overlapping_calls_fetch_each_tag_once(warm_settings, replica):
    replica.configure(tag_size=256 * 1024, bandwidth=1024 * 1024)
    async with Exofop(warm_settings) as a, Exofop(warm_settings) as b:
        first, second = await asyncio.gather(
            a.download_tags("TOI-1130", tags=TAGS), b.download_tags("TIC 254113311", tags=TAGS[::-1])
        )
    for report in (first, second):
        assert report.state == "completed"
        assert set(report.totals) <= {"downloaded", "already_present"}
    assert replica.count(ARCHIVE_PAGE) == 4
    directory = SystemDirectory(warm_settings.data_dir, "TOI-1130")
    manifest = load_manifest(directory)
    assert manifest is not None and all(is_complete(directory, manifest.entry(t)) for t in TAGS)  # type: ignore[arg-type]


KILLABLE = textwrap.dedent(
    """
    import asyncio
    from exofop_mcp import Exofop

    async def main():
        async with Exofop() as exofop:
            await exofop.download_tags("TOI-1130", tags=[18493, 18598, 19121, 19188])

    asyncio.run(main())
    """
)


@pytest.mark.slow
async def test_killed_download_leaves_nothing_that_looks_complete(warm_settings, replica):
    replica.configure(tag_sizes={18493: 64 * 1024}, tag_size=3 * 2**20, bandwidth=512 * 1024)
    child = subprocess.Popen([sys.executable, "-c", KILLABLE], env=server_env(warm_settings))
    try:
        system_dir = warm_settings.data_dir / "TOI-1130"
        deadline = time.monotonic() + 60
        # wait until the small tag is committed and the big ones are mid-transfer
        while time.monotonic() < deadline:
            manifest = load_manifest(SystemDirectory(warm_settings.data_dir, "TOI-1130"))
            if manifest and manifest.entry(18493) and temp_files(system_dir):
                break
            await anyio.sleep(0.05)
        else:
            pytest.fail("the child never got going")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    directory = SystemDirectory(warm_settings.data_dir, "TOI-1130")
    manifest = load_manifest(directory)
    assert manifest is not None
    assert set(manifest.tags) == {"18493"}  # only what finished is recorded
    replica.configure(bandwidth=None)
    rerun_started = time.time()
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=TAGS)
    statuses = {r.tag: r.status for r in report.results}
    assert statuses == {18493: "already_present", 18598: "downloaded", 19121: "downloaded", 19188: "downloaded"}
    rerun = [r for r in replica.requests if r.path.endswith(ARCHIVE_PAGE) and r.received >= rerun_started]
    assert sorted(int(r.query["tag"]) for r in rerun) == [18598, 19121, 19188]
    # the killed run's temporary files are recognisable, never taken for data, and do not grow the tag dirs
    for leftover in temp_files(warm_settings.data_dir):
        assert not leftover.name.endswith(".zip")


@pytest.mark.slow
async def test_two_processes_overlapping_fetch_each_tag_once(warm_settings, replica):
    replica.configure(tag_size=512 * 1024, bandwidth=1024 * 1024)
    children = [subprocess.Popen([sys.executable, "-c", KILLABLE], env=server_env(warm_settings)) for _ in range(2)]
    for child in children:
        assert child.wait(timeout=120) == 0
    assert replica.count(ARCHIVE_PAGE) == 4
    directory = SystemDirectory(warm_settings.data_dir, "TOI-1130")
    manifest = load_manifest(directory)
    assert manifest is not None and sorted(manifest.tags) == sorted(str(t) for t in TAGS)
    assert all(is_complete(directory, e) for e in manifest.tags.values())
    assert temp_files(warm_settings.data_dir) == []


async def test_never_more_transfers_in_flight_than_the_concurrency(warm_settings, replica):
    from dataclasses import replace

    replica.configure(tag_size=256 * 1024, bandwidth=512 * 1024)
    polite = replace(warm_settings, concurrency=2)
    async with Exofop(polite) as exofop:
        tags = (await exofop.list_observations("TOI-1130", limit=1)).tags[:6]
        report = await exofop.download_tags("TOI-1130", tags=tags)
    assert report.totals == {"downloaded": 6}
    transfers = [r for r in replica.requests if r.path.endswith(ARCHIVE_PAGE)]
    events = sorted([(r.start, 1) for r in transfers] + [(r.end, -1) for r in transfers])
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak == 2


def most_at_once(records) -> int:
    """The most requests the replica was serving at one moment (from receiving each to its last byte)."""
    events = sorted([(r.received, 1) for r in records] + [(r.end, -1) for r in records])
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    return peak


@pytest.mark.parametrize("by_kind", [False, True], ids=["explicit-tags", "by-kind"])
async def test_one_process_never_has_more_than_concurrency_plus_one_requests_in_flight(settings, replica, by_kind):
    from dataclasses import replace

    # Cold catalog: the resolve, its background catalog refresh, the three observation tables and the
    # archives all go out during the one call.
    replica.configure(tag_size=128 * 1024, bandwidth=512 * 1024, latency=0.05)
    polite = replace(settings, concurrency=2)
    async with Exofop(polite) as exofop:
        if by_kind:
            report = await exofop.download_tags("TOI-1130", kind="time_series", telescope="LCO", filter="zs")
        else:
            report = await exofop.download_tags("TOI-1130", tags=TAGS)
        assert report.state == "completed" and report.totals == {"downloaded": report.tags_total}
    requests = replica.requests
    transfers = [r for r in requests if r.path.endswith(ARCHIVE_PAGE)]
    assert len(transfers) == report.tags_total and len(requests) > len(transfers) + 3
    assert most_at_once(transfers) <= 2
    assert most_at_once(requests) <= 3

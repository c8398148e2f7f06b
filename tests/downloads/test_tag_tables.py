"""TablesOnTheWay: a tag's kind as soon as the tables that decide it have come, in kind order; and the tables
of a download saved while its archives transfer."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.request_models import DownloadTagsRequest
from exofop_mcp.downloads.tag_tables import TablesOnTheWay

pytestmark = pytest.mark.anyio


class HeldTables:
    """Stands in for the observation lister: each kind's table comes when the test lets it."""

    def __init__(self, tags: dict[str, list[int]]) -> None:
        self.tags = tags
        self.release = {kind: asyncio.Event() for kind in tags}
        self.failure: dict[str, Exception] = {}

    async def table(self, kind: str, tic: int) -> list[Any]:
        await self.release[kind].wait()
        if kind in self.failure:
            raise self.failure[kind]
        return [SimpleNamespace(tag=t) for t in self.tags[kind]]


TAGS = {"time_series": [1, 2], "spectroscopy": [3], "imaging": [4, 1]}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_time_series_tag_is_known_before_the_other_tables_come():
    lister = HeldTables(TAGS)
    arriving = TablesOnTheWay(lister, 1)  # type: ignore[arg-type]
    lister.release["time_series"].set()
    assert await asyncio.wait_for(arriving.listed_kind(2), 5) == "time_series"
    assert not arriving.everything.done()
    arriving.cancel()


async def test_a_later_kind_waits_for_the_earlier_tables_which_may_claim_the_tag():
    lister = HeldTables(TAGS)
    arriving = TablesOnTheWay(lister, 1)  # type: ignore[arg-type]
    lister.release["imaging"].set()
    imaging_tag = asyncio.create_task(arriving.listed_kind(4))
    listed_twice = asyncio.create_task(arriving.listed_kind(1))
    await settle()
    assert not imaging_tag.done() and not listed_twice.done()  # time series and spectroscopy not in yet
    lister.release["time_series"].set()
    assert await asyncio.wait_for(listed_twice, 5) == "time_series"  # as tag_kinds: the first kind wins
    await settle()
    assert not imaging_tag.done()
    lister.release["spectroscopy"].set()
    assert await asyncio.wait_for(imaging_tag, 5) == "imaging"
    assert await asyncio.wait_for(arriving.listed_kind(99), 5) is None  # in no table
    assert set(await arriving.everything) == {"time_series", "spectroscopy", "imaging"}


async def test_a_failed_earlier_table_leaves_the_answer_to_the_full_wait():
    lister = HeldTables(TAGS)
    lister.failure["time_series"] = RuntimeError("no table")
    arriving = TablesOnTheWay(lister, 1)  # type: ignore[arg-type]
    for event in lister.release.values():
        event.set()
    assert await asyncio.wait_for(arriving.listed_kind(3), 5) is None
    with pytest.raises(RuntimeError):
        await arriving.everything


async def test_the_tables_of_explicit_tags_are_saved_while_the_archives_still_transfer(warm_settings, replica):
    # Every archive keeps its headers back for a second: the tables (no delay) come long before.
    replica.configure(archive_header_delay=1.0)
    async with Exofop(warm_settings) as exofop:
        job = await exofop.start_download(DownloadTagsRequest(system="TOI-1130", tags=[18493]))
        table = warm_settings.data_dir / "TOI-1130" / "tables" / "time_series.csv"
        while not table.exists() and job.state == "running":
            await asyncio.sleep(0.02)
        saved_while = job.state
        while job.state == "running":
            await exofop.jobs.wait(job, 10.0)
    assert saved_while == "running"  # not left for after the last byte
    assert job.report().totals == {"downloaded": 1}
    assert "18493" in table.read_text()

"""Asking again for tags that are complete: nothing fetched, nothing written, every file still checked."""

from __future__ import annotations

import os
import shutil

import pytest

from exofop_mcp.api import Exofop
from tests.helpers.sandbox_checks import tree_snapshot

pytestmark = pytest.mark.anyio

ARCHIVE_PAGE = "download_tag_files_zip.php"
LCO_ZS = {"kind": "time_series", "telescope": "LCO", "filter": "zs"}


async def test_a_repeat_of_a_complete_system_fetches_nothing_and_rewrites_no_file(warm_settings, replica):
    system_dir = warm_settings.data_dir / "TOI-1130"
    async with Exofop(warm_settings) as exofop:
        first = await exofop.download_tags("TOI-1130", **LCO_ZS)
        assert first.totals == {"downloaded": first.tags_total} and first.tags_total > 1
        before = tree_snapshot(system_dir)
        replica.reset_requests()
        again = await exofop.download_tags("TOI-1130", **LCO_ZS)
        tags = [r.tag for r in first.results]
        explicit = await exofop.download_tags("TOI-1130", tags=tags)
    assert replica.count(ARCHIVE_PAGE) == 0
    listed = [(r.tag, r.files, r.sha256) for r in first.results]
    for report in (again, explicit):
        assert report.totals == {"already_present": first.tags_total}
        assert [(r.tag, r.files, r.sha256) for r in report.results] == listed
    assert tree_snapshot(system_dir) == before  # the manifest, the tables, every tag's files: untouched


async def test_a_repeat_after_a_change_reports_the_change(warm_settings, replica):
    """A file deleted between two repeats is seen by the next call, in the same process."""
    async with Exofop(warm_settings) as exofop:
        first = await exofop.download_tags("TOI-1130", **LCO_ZS)
        await exofop.download_tags("TOI-1130", **LCO_ZS)
        victim = first.results[1]
        (warm_settings.data_dir / "TOI-1130" / victim.files[-1]).unlink()
        replica.reset_requests()
        again = await exofop.download_tags("TOI-1130", **LCO_ZS)
    statuses = {r.tag: r.status for r in again.results}
    assert statuses[victim.tag] == "downloaded"
    assert [t for t, s in statuses.items() if s != "already_present"] == [victim.tag]
    assert replica.count(ARCHIVE_PAGE) == 1


@pytest.mark.parametrize("where", ["inside", "outside"])
async def test_a_tag_folder_replaced_by_a_link_counts_only_if_it_stays_inside(where, warm_settings, replica, tmp_path):
    data = warm_settings.data_dir
    async with Exofop(warm_settings) as exofop:
        first = await exofop.download_tags("TOI-1130", **LCO_ZS)
        moved = first.results[0]
        folder = data / "TOI-1130" / moved.directory
        # inside: elsewhere in the system's own directory; outside: out of the sandbox
        target = (data / "TOI-1130" / "moved" if where == "inside" else tmp_path / "outside") / str(moved.tag)
        target.parent.mkdir(parents=True)
        shutil.copytree(folder, target, copy_function=shutil.copy2)  # the same sizes and times
        shutil.rmtree(folder)
        os.symlink(target, folder, target_is_directory=True)
        before = tree_snapshot(target)
        again = await exofop.download_tags("TOI-1130", **LCO_ZS)
    statuses = {r.tag: r.status for r in again.results}
    if where == "inside":
        assert statuses.pop(moved.tag) == "already_present", again.message
    else:  # files reached through a link out of the system directory do not count, and are not written
        assert statuses.pop(moved.tag) != "already_present", again.message
        assert tree_snapshot(target) == before
    assert set(statuses.values()) == {"already_present"}

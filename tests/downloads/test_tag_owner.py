"""A tag the system's tables do not list: ExoFOP's tag summaries say whose it is (over real sockets)."""

from __future__ import annotations

import json

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.cli.main import main
from exofop_mcp.replica import dataset
from tests.helpers.environment import server_env
from tests.helpers.tool_client import call, ok, text_of

pytestmark = pytest.mark.anyio

SUMMARY_PAGES = ("download_tag_tseries.php", "download_tag_spect.php", "download_tag_imaging.php")
ARCHIVE_PAGE = "download_tag_files_zip.php"


async def first_tag(settings, system: str, kind: str = "time_series") -> tuple[int, int]:
    """(the star's TIC, its first tag of ``kind``)."""
    async with Exofop(settings) as exofop:
        resolved = await exofop.resolve_system(system)
        page = await exofop.list_observations(system, kind=kind, limit=1)
    return resolved.tic_id, page.tags[0]


async def test_a_tag_of_another_star_is_refused_naming_that_star(warm_settings, replica):
    other_tic, other_tag = await first_tag(warm_settings, "TOI-270")
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [18493, other_tag]})
    by_tag = {r["tag"]: r for r in report["results"]}
    assert by_tag[18493]["status"] == "downloaded"  # the system's own tag is unaffected
    refused = by_tag[other_tag]
    assert refused["status"] == "other_star", refused
    message = refused["message"]
    assert f"TIC {other_tic}" in message and "TOI-270" in message
    assert f"download_tags(system='TOI-270', tags=[{other_tag}])" in message
    assert not refused.get("files") and refused.get("directory") is None
    system_dir = warm_settings.data_dir / "TOI-1130"
    assert not any(system_dir.rglob(str(other_tag))), "another star's data is never filed under this system"
    assert not (system_dir / "archives" / f"{other_tag}.zip").exists()
    manifest = json.loads((system_dir / "manifest.json").read_text())
    assert manifest["tags"][str(other_tag)]["status"] == "other_star"
    # the tool's text half says it too
    result = await call(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [other_tag]})
    line = next(x for x in text_of(result).splitlines() if x.strip().startswith(f"tag {other_tag}"))
    assert "other_star" in line and f"TIC {other_tic}" in line
    # asked once on the summary pages (the time-series one names it), through the small lane
    assert replica.count("download_tag_tseries.php") == 2  # once per call
    assert replica.count("download_tag_spect.php") == 0


async def test_with_a_kind_the_other_stars_tag_is_refused_before_any_transfer(warm_settings, replica):
    other_tic, other_tag = await first_tag(warm_settings, "TOI-270", "spectroscopy")
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[other_tag], kind="time_series")
    result = report.results[0]
    assert result.status == "other_star", result.message
    assert "spectroscopy observation" in (result.message or "") and f"TIC {other_tic}" in (result.message or "")
    assert replica.count(ARCHIVE_PAGE) == 0, "nothing of the other star was fetched"


async def test_own_tags_and_unknown_tags_ask_no_summary(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493, 18598])
    assert report.totals == {"downloaded": 2}
    assert all(replica.count(page) == 0 for page in SUMMARY_PAGES)


async def test_a_tag_no_summary_lists_is_called_unknown(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags(f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}", tags=[dataset.UNKNOWN_TAG])
    result = report.results[0]
    assert result.status == "not_found" and result.kind == "other"
    assert "unknown to ExoFOP's tables" in (result.message or "")
    assert all(replica.count(page) == 1 for page in SUMMARY_PAGES)


async def test_a_served_tag_no_table_lists_is_kept_with_a_note(warm_settings, replica):
    tag = 18493
    replica.configure(unlisted_tags=(tag,))
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[tag])
    result = report.results[0]
    assert result.status == "downloaded" and result.kind == "other" and result.directory == f"other/{tag}"
    assert "in none of TOI-1130's observation tables" in (result.message or "")
    assert "unknown to ExoFOP's tables" in (result.message or "")


async def test_a_tag_the_summaries_file_under_this_star_keeps_its_kind(warm_settings, replica):
    """Listed by its summary under this star, though the star's table (as read) lacks it."""
    replica.configure(odd_tags=("abc",) * 400)  # every time-series row's tag unreadable: a tag the table lacks
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493])
    result = report.results[0]
    assert result.status == "downloaded" and result.kind == "time_series", result
    assert result.directory == "time_series/18493" and result.message is None


def test_the_cli_refuses_another_stars_tag_with_exit_1(warm_settings, replica, monkeypatch, capsys, tmp_path):
    import asyncio

    other_tic, other_tag = asyncio.run(first_tag(warm_settings, "TOI-270"))
    for name, value in server_env(warm_settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code = main(["download", "TOI-1130", str(other_tag), "-q"])
    captured = capsys.readouterr()
    assert code == 1
    assert "other_star" in captured.err and f"TIC {other_tic}" in captured.err
    assert f"`exofop-mcp download TOI-270 {other_tag}`" in captured.err and "download_tags" not in captured.err

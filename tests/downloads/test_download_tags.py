"""download_tags: statuses, layout, manifest, re-runs, refusals, over real sockets to the replica."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.atomic_files import is_temp_name
from exofop_mcp.replica import dataset
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio

ARCHIVE_PAGE = "download_tag_files_zip.php"
LCO_ZS = {"kind": "time_series", "telescope": "LCO", "filter": "zs"}


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def assert_no_temp_files(root: Path) -> None:
    leftovers = [p for p in root.rglob("*") if is_temp_name(p.name)]
    assert leftovers == []


async def tags_of(exofop: Exofop, system: str, kind: str = "time_series", **filters) -> list[int]:
    page = await exofop.list_observations(system, kind=kind, limit=1, **filters)
    return page.tags


async def test_download_by_kind_builds_the_layout(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        expected = await tags_of(exofop, "TOI-1130", telescope="LCO", filter="zs")
        report = await exofop.download_tags("toi_1130.02", **LCO_ZS)
    assert report.state == "completed" and report.system == "TOI-1130"
    assert sorted(r.tag for r in report.results) == sorted(expected)
    assert report.totals == {"downloaded": len(expected)}
    root = warm_settings.data_dir.resolve()
    system_dir = root / "TOI-1130"
    assert report.directory == str(system_dir) and report.directory_relative == "TOI-1130"
    assert replica.count(ARCHIVE_PAGE) == len(expected)
    for r in report.results:
        assert r.kind == "time_series" and r.directory == f"time_series/{r.tag}"
        assert r.file_count >= 3 and r.files and r.attempts == 1 and r.message is None
        assert all((system_dir / f).is_file() for f in r.files)
        assert len(r.sha256 or "") == 64 and r.bytes > 0
    # the single top-level folder of each archive is flattened away
    files = [p.name for p in (system_dir / "time_series" / str(expected[0])).iterdir()]
    assert any(name.endswith("_measurements.tbl") for name in files)
    # archives are removed by default; the table and the manifest are written
    assert not any((system_dir / "archives").glob("*"))
    table = (system_dir / "tables" / "time_series.csv").read_text().splitlines()
    assert table[0].startswith("tic_id,toi,telescope") and len(table) == 80
    manifest = json.loads((system_dir / "manifest.json").read_text())
    assert manifest["system"] == "TOI-1130" and manifest["tic_id"] == 254113311
    entry = manifest["tags"][str(expected[0])]
    assert entry["status"] == "downloaded" and entry["kind"] == "time_series"
    assert entry["source_url"].endswith(f"/tess/{ARCHIVE_PAGE}?tag={expected[0]}")
    assert entry["sha256"] and entry["size"] > 0 and entry["files"] and entry["time"]
    # nothing outside the system directory, nothing temporary
    assert all(p.resolve().is_relative_to(system_dir) for p in all_files(root))
    assert_no_temp_files(root)


async def test_repeat_makes_zero_archive_requests_and_overwrite_refetches(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        first = await exofop.download_tags("TOI-1130", **LCO_ZS)
        replica.reset_requests()
        again = await exofop.download_tags("TIC 254113311", **LCO_ZS)
        assert replica.count(ARCHIVE_PAGE) == 0
        assert again.totals == {"already_present": first.tags_total}
        assert [r.sha256 for r in again.results] == [r.sha256 for r in first.results]
        forced = await exofop.download_tags("TOI-1130", tags=[first.results[0].tag], overwrite=True)
    assert forced.results[0].status == "downloaded"
    assert replica.count(ARCHIVE_PAGE) == 1


async def test_a_deleted_file_makes_the_tag_incomplete(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18598])
        victim = warm_settings.data_dir / "TOI-1130" / report.results[0].files[0]
        victim.unlink()
        again = await exofop.download_tags("TOI-1130", tags=[18598])
    assert again.results[0].status == "downloaded"
    assert victim.exists()


async def test_keep_zip_and_no_unzip(warm_settings):
    async with Exofop(warm_settings) as exofop:
        kept = await exofop.download_tags("TOI-1130", tags=[18493], keep_zip=True)
        raw = await exofop.download_tags("TOI-1130", tags=[18598], unzip=False)
    system_dir = warm_settings.data_dir / "TOI-1130"
    archive = system_dir / "archives" / "18493.zip"
    assert archive.exists() and (system_dir / "time_series" / "18493").is_dir()
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == kept.results[0].sha256
    only = raw.results[0]
    assert only.status == "downloaded" and only.files == ["archives/18598.zip"]
    assert zipfile.is_zipfile(system_dir / "archives" / "18598.zip")
    assert not (system_dir / "time_series" / "18598").exists()


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("no_files", "not_found", "no files"),
        ("missing_404", "not_found", "404"),
        ("zip_slip", "unsafe_archive", ".."),
        ("absolute_path", "unsafe_archive", "absolute"),
        ("symlink", "unsafe_archive", "link"),
        ("zip_bomb", "unsafe_archive", "ratio"),
        ("too_many_entries", "unsafe_archive", "entries"),
        ("corrupt", "corrupt", "ask again later"),
    ],
)
async def test_awkward_tags_get_an_honest_status(warm_settings, name, status, words):
    tag = dataset.SPECIAL_TAGS[name]
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags(f"TIC {dataset.HOSTILE_SYSTEM_TIC}", tags=[tag])
    result = report.results[0]
    assert result.status == status, result.message
    assert words.lower() in (result.message or "").lower()
    system_dir = warm_settings.data_dir / "TOI-209"
    assert str(system_dir / "archives") not in (result.message or "")  # the deleted archive is not named
    assert not any(system_dir.rglob(f"{tag}/*")), "nothing may be extracted"
    assert not any((system_dir / "archives").glob("*"))
    assert_no_temp_files(warm_settings.data_dir)
    manifest = json.loads((system_dir / "manifest.json").read_text())
    assert manifest["tags"][str(tag)]["status"] == status


async def test_unusual_but_safe_archives_are_extracted(warm_settings):
    tags = [dataset.SPECIAL_TAGS["no_top_folder"], dataset.SPECIAL_TAGS["flat"]]
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags(f"TIC {dataset.HOSTILE_SYSTEM_TIC}", tags=tags)
    assert report.totals == {"downloaded": 2}


async def test_unknown_and_proprietary_tags(warm_settings):
    tags = [*dataset.PROPRIETARY_TAGS, dataset.UNKNOWN_TAG]
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags(f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}", tags=tags)
    by_tag = {r.tag: r for r in report.results}
    for tag in dataset.PROPRIETARY_TAGS:
        assert by_tag[tag].status == "login_required"
        assert "exofop-mcp login" in (by_tag[tag].message or "")
    assert by_tag[dataset.UNKNOWN_TAG].status == "not_found"
    assert by_tag[dataset.UNKNOWN_TAG].kind == "other"
    assert by_tag[dataset.PROPRIETARY_TAGS[2]].kind == "spectroscopy"


@pytest.mark.parametrize(
    ("fault", "status", "attempts"),
    [
        ("truncate:1", "downloaded", 2),
        ("reset:2", "downloaded", 3),
        ("5xx:1", "downloaded", 2),
        ("429:1", "downloaded", 2),
        ("corrupt:1", "downloaded", 2),
        ("5xx", "failed", 4),
        ("truncate", "failed", 4),
    ],
)
async def test_transient_faults_are_retried(warm_settings, replica, fault, status, attempts):
    replica.configure(tag_faults={18493: fault}, retry_after=0)
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493, 18598])
    by_tag = {r.tag: r for r in report.results}
    assert by_tag[18598].status == "downloaded"  # one bad tag never fails the others
    assert by_tag[18493].status == status, by_tag[18493].message
    assert by_tag[18493].attempts == attempts
    if status != "downloaded":
        assert "again" in (by_tag[18493].message or "")
    assert_no_temp_files(warm_settings.data_dir)


@pytest.mark.slow  # waits for the stall window
async def test_stalled_transfer_times_out_without_stalling_others(warm_settings, replica):
    from dataclasses import replace

    replica.configure(tag_faults={18493: "stall"}, stall_seconds=30, stall_rate=20)
    quick = replace(warm_settings, stall_seconds=0.5, max_retries=1)
    async with Exofop(quick) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493, 18598, 19121])
    by_tag = {r.tag: r for r in report.results}
    assert by_tag[18493].status == "timed_out" and "stalled" in (by_tag[18493].message or "")
    assert by_tag[18598].status == by_tag[19121].status == "downloaded"
    assert report.elapsed_seconds < 20


async def test_chunked_responses_work(warm_settings, replica):
    replica.configure(chunked=True)
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493])
    assert report.results[0].status == "downloaded"


async def test_duplicates_fetched_once_and_kind_checked(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        spect = await tags_of(exofop, "TOI-1130", kind="spectroscopy")
        report = await exofop.download_tags("TOI-1130", tags=[18493, 18493, spect[0]], kind="time_series")
    assert [r.tag for r in report.results] == [18493, spect[0]]
    assert report.results[0].status == "downloaded"
    wrong = report.results[1]
    assert wrong.status == "not_found" and "spectroscopy" in (wrong.message or "")
    assert replica.count(ARCHIVE_PAGE) == 1


async def test_kind_spectroscopy_fetches_spectra_only(warm_settings):
    async with Exofop(warm_settings) as exofop:
        spect = await tags_of(exofop, "TOI-1130", kind="spectroscopy")
        report = await exofop.download_tags("TOI-1130", kind="spectroscopy")
    assert sorted(r.tag for r in report.results) == sorted(spect)
    assert {r.kind for r in report.results} == {"spectroscopy"}
    assert all(r.directory and r.directory.startswith("spectroscopy/") for r in report.results)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"system": "TOI-1130"}, "say what to download"),
        ({"system": "TOI-1130", "tags": []}, "empty"),
        ({"system": "TOI-1130", "tags": ["../x"]}, "tags"),
        ({"system": "TOI-1130", "tags": [-5]}, "tags"),
        ({"system": "TOI-1130", "tags": [0]}, "tags"),
        ({"system": "TOI-1130", "tags": [10**12]}, "tags"),
        ({"system": "TOI-1130", "tags": ["abc"]}, "tags"),
        ({"system": "TOI-1130", "tags": list(range(1, 502))}, "at most 500"),
        ({"system": "TOI-1130", "kind": "files"}, "kind"),
        ({"system": "TOI-1130", "tags": [1], "telescope": "LCO"}, "filters apply only"),
        ({"system": "../../etc", "tags": [1]}, "TOI"),
        ({"system": "TOI-1130", "tags": [1], "wait_seconds": -1}, "wait_seconds"),
    ],
)
async def test_bad_arguments_are_clear_tool_errors(warm_settings, args, expected):
    message = await error(warm_settings, "download_tags", args)
    assert expected in message
    assert not (warm_settings.data_dir / "TOI-1130").exists() or args["system"] == "TOI-1130"
    assert not Path("/etc/x").exists()


async def test_tool_reports_and_list_downloads(warm_settings):
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [18493, 18598]})
    assert report["state"] == "completed" and report["totals"] == {"downloaded": 2}
    assert report["tags_done"] == report["tags_total"] == 2
    inventory = await ok(warm_settings, "list_downloads", {})
    assert [s["system"] for s in inventory["systems"]] == ["TOI-1130"]
    system = inventory["systems"][0]
    assert system["tags_complete"] == 2 and system["by_kind"] == {"time_series": 2}
    one = await ok(warm_settings, "list_downloads", {"system": "tic 254113311"})
    assert one["systems"][0]["system"] == "TOI-1130"
    none = await ok(warm_settings, "list_downloads", {"system": "WASP-46"})
    assert none["systems"] == [] and "Nothing has been downloaded for TOI-101" in none["message"]


async def test_archive_url_is_exactly_the_documented_page(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        await exofop.download_tags("TOI-1130", tags=[18493])
    hits = [r for r in replica.requests if r.path.endswith(ARCHIVE_PAGE)]
    assert len(hits) == 1 and hits[0].query == {"tag": "18493"}
    assert httpx.URL(warm_settings.base_url).host == "127.0.0.1"


@pytest.mark.slow  # waits for the deadline
async def test_overall_deadline_times_out_a_slow_but_steady_transfer(warm_settings, replica):
    from dataclasses import replace

    replica.configure(tag_sizes={18493: 2 * 2**20}, bandwidth=256 * 1024)
    strict = replace(warm_settings, tag_deadline_seconds=1.0)
    async with Exofop(strict) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493])
    result = report.results[0]
    assert result.status == "timed_out" and "did not finish within 1 s" in (result.message or "")
    assert_no_temp_files(warm_settings.data_dir)


async def test_an_archive_unpacked_and_removed_is_not_synced_a_kept_one_and_the_files_are(warm_settings, monkeypatch):
    # What is synced is what stays: the unpacked files and a kept archive.  An archive unpacked and
    # removed at once is recorded nowhere, so a crash that loses it only means it is fetched again.
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    async with Exofop(warm_settings) as exofop:
        unpacked = await exofop.download_tags("TOI-1130", tags=[18493])
        transient, synced[:] = list(synced), []
        kept = await exofop.download_tags("TOI-1130", tags=[18598], keep_zip=True)
    assert unpacked.results[0].status == kept.results[0].status == "downloaded"
    assert not [path for path in transient if "/archives/" in path and "18493" in path]
    assert [path for path in transient if "/time_series/" in path or ".partdir" in path]
    assert [path for path in synced if "/archives/" in path and "18598" in path]

"""Hostile local state and hostile answers: nothing escapes the sandbox, nothing freezes, nothing lies.

Each test prepares the sandbox, the cache or the config directory by hand (links, damaged files,
loose permissions, a lock held by another process), or switches the replica to answer oddly (odd
table rows, odd name-service answers, an empty archive), then goes through the MCP tools.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.auth.session_store import StoredSession, store_login, utc_now
from exofop_mcp.downloads.request_models import DownloadTagsRequest
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import dataset
from tests.helpers.sandbox_checks import tree_snapshot
from tests.helpers.tool_client import error, ok, text_of

pytestmark = pytest.mark.anyio

ARCHIVE_PAGE = "download_tag_files_zip.php"
TAG = 18493  # a public TOI-1130 time-series tag


# -- links in the sandbox ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "args"),
    [
        ("TOI-1130", {}),
        ("TOI-1130/time_series", {}),
        ("TOI-1130/archives", {"keep_zip": True}),
        ("TOI-1130/tables", {}),
        ("TOI-1130/.lock", {}),
    ],
)
async def test_a_link_leading_outside_the_sandbox_is_refused(link, args, warm_settings, replica, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    data = warm_settings.data_dir
    (data / "TOI-1130").mkdir(parents=True)
    if link == "TOI-1130":
        (data / "TOI-1130").rmdir()
    target = outside / "x" if link.endswith(".lock") else outside
    (data / link).symlink_to(target)
    before = tree_snapshot(outside)
    call = {"system": "TOI-1130", "tags": [TAG], "kind": "time_series", **args}
    message = await error(warm_settings, "download_tags", call)
    assert str(data / link) in message and "outside the download sandbox" in message
    assert tree_snapshot(outside) == before  # nothing written through the link
    assert not (outside / "x").exists()


async def test_a_link_that_stays_inside_the_sandbox_is_followed(warm_settings, replica):
    data = warm_settings.data_dir
    (data / "store" / "TOI-1130").mkdir(parents=True)
    (data / "TOI-1130").symlink_to(data / "store" / "TOI-1130")
    call = {"system": "TOI-1130", "tags": [TAG]}
    first = await ok(warm_settings, "download_tags", call)
    assert first["totals"] == {"downloaded": 1}, first
    assert (data / "store" / "TOI-1130" / "manifest.json").is_file()
    again = await ok(warm_settings, "download_tags", call)
    assert again["totals"] == {"already_present": 1}, again  # the completeness check follows the link too
    assert replica.count(ARCHIVE_PAGE) == 1


# -- odd table rows ----------------------------------------------------------------------------------


@pytest.mark.slow
async def test_odd_tags_in_a_table_are_skipped_with_a_note_and_fail_nothing(warm_settings, replica):
    odd = ("0", "-5", "abc", "1" * 40)
    replica.configure(odd_tags=odd)
    page = await ok(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "time_series", "limit": 200})
    assert all(t >= 1 for t in page["tags"])
    assert any("4 rows" in note and "not a tag number" in note for note in page["notes"]), page["notes"]
    report = await ok(
        warm_settings,
        "download_tags",
        {"system": "TOI-1130", "kind": "time_series", "wait_seconds": 300},
    )
    assert report["tags_total"] == len(page["tags"])
    assert report["state"] == "completed", report["message"]
    assert set(report["totals"]) == {"downloaded"}, report["totals"]
    assert all(r["tag"] >= 1 for r in report["results"])
    assert "not a tag number" in report["message"]


# -- damaged manifests --------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["not_utf8", "folder"])
async def test_an_unreadable_manifest_is_set_aside_and_the_tag_fetched_again(damage, warm_settings, replica):
    call = {"system": "TOI-1130", "tags": [TAG]}
    assert (await ok(warm_settings, "download_tags", call))["totals"] == {"downloaded": 1}
    manifest = warm_settings.data_dir / "TOI-1130" / "manifest.json"
    if damage == "not_utf8":
        manifest.write_bytes(b'{"version": 1, "system": "TOI-1130\xff\xfe"}')
    else:
        manifest.unlink()
        manifest.mkdir()
    listing = await ok(warm_settings, "list_downloads", {})
    assert listing["unreadable"] == ["TOI-1130"] and "cannot be read" in listing["message"], listing
    again = await ok(warm_settings, "download_tags", call)
    assert again["totals"] == {"downloaded": 1}, again
    aside = list(manifest.parent.glob("manifest.json.damaged-*"))
    assert len(aside) == 1 and aside[0].is_dir() == (damage == "folder")  # kept for inspection
    assert manifest.is_file()
    assert (await ok(warm_settings, "download_tags", call))["totals"] == {"already_present": 1}
    listing = await ok(warm_settings, "list_downloads", {})
    assert listing["systems"][0]["tags_complete"] == 1 and listing.get("unreadable", []) == []


# -- empty archives and hand-edited entries -----------------------------------------------------------


async def test_an_archive_with_no_files_is_empty_and_keeps_nothing(warm_settings, replica):
    replica.configure(empty_archive_tags=(TAG,))
    call = {"system": "TOI-1130", "tags": [TAG], "keep_zip": True}
    report = await ok(warm_settings, "download_tags", call)
    result = report["results"][0]
    assert result["status"] == "empty", result
    assert "no files" in result["message"] and "exofop-mcp login" in result["message"]
    system_dir = warm_settings.data_dir / "TOI-1130"
    assert not (system_dir / "archives" / f"{TAG}.zip").exists()
    assert not (system_dir / "time_series" / str(TAG)).exists()
    assert (await ok(warm_settings, "download_tags", call))["results"][0]["status"] == "empty"  # never "present"


async def test_a_hand_edited_entry_with_no_files_is_not_present(warm_settings, replica):
    call = {"system": "TOI-1130", "tags": [TAG], "keep_zip": True}
    assert (await ok(warm_settings, "download_tags", call))["totals"] == {"downloaded": 1}
    manifest = warm_settings.data_dir / "TOI-1130" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["tags"][str(TAG)]["files"] = []
    manifest.write_text(json.dumps(data))
    (warm_settings.data_dir / "TOI-1130" / "archives" / f"{TAG}.zip").unlink()
    again = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [TAG]})
    assert again["totals"] == {"downloaded": 1}, again
    assert replica.count(ARCHIVE_PAGE) == 2


# -- names and arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["TIC -254113311", "TOI -1130", "tic  -254113311", "TOI \u22121130", "TOI--1130", "TIC--254113311", "TOI_-1130"],
)
async def test_a_negative_number_is_not_a_target(query, warm_settings, replica):
    message = await error(warm_settings, "resolve_system", {"query": query})
    assert "negative" in message and "internal error" not in message


@pytest.mark.parametrize("answer", ["\u00b2", "1" * 23, "-5", "\u0661\u0662\u0663"])
async def test_an_odd_name_service_answer_is_a_clear_error(answer, warm_settings, replica):
    replica.configure(name_service_tic=answer)
    message = await error(warm_settings, "resolve_system", {"query": f"TIC {dataset.KEPLER_633_TIC}"})
    assert "internal error" not in message and "not a TIC id" in message, message
    by_name = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})  # the catalog's names still answer
    assert by_name["matched_by"] == "catalog_name"


@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        ("download_tags", {"system": "TOI-1130", "tags": ["18493"]}, "tags.0"),
        ("download_tags", {"system": "TOI-1130", "tags": [" 18493 "]}, "tags.0"),
        ("download_tags", {"system": "TOI-1130", "tags": [1e9]}, "tags.0"),
        ("download_tags", {"system": "TOI-1130", "tags": [18493], "overwrite": "yes"}, "overwrite"),
        ("download_tags", {"system": "TOI-1130", "tags": [18493], "verify": 1}, "verify"),
        ("download_tags", {"system": "TOI-1130", "tags": [18493], "wait_seconds": "5"}, "wait_seconds"),
        ("list_observations", {"system": "TOI-1130", "offset": 1e40}, "offset"),
        ("list_observations", {"system": "TOI-1130", "offset": 10**40}, "offset"),
        ("list_observations", {"system": "TOI-1130", "limit": "5"}, "limit"),
        ("download_status", {"job_id": "abcdef123456", "wait_seconds": "1"}, "wait_seconds"),
    ],
)
async def test_arguments_are_validated_strictly(tool, args, field, warm_settings, replica):
    message = await error(warm_settings, tool, args)
    assert f"{field}:" in message and "Invalid arguments" in message, message
    assert "0" * 30 not in message  # no 40-digit row range
    assert replica.count(ARCHIVE_PAGE) == 0


# -- files changed after download ---------------------------------------------------------------------


def _garble_keeping_size(path: Path, *, keep_time: bool) -> None:
    st = path.stat()
    path.write_bytes(b"\x00" * st.st_size)  # same size, garbage content
    if keep_time:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


async def test_a_file_changed_after_download_is_checked_and_fetched_again(warm_settings, replica):
    call = {"system": "TOI-1130", "tags": [TAG]}
    report = await ok(warm_settings, "download_tags", call)
    system_dir = warm_settings.data_dir / "TOI-1130"
    victim = system_dir / report["results"][0]["files"][0]
    manifest = json.loads((system_dir / "manifest.json").read_text())
    recorded = next(f for f in manifest["tags"][str(TAG)]["files"] if f["path"] == report["results"][0]["files"][0])
    assert len(recorded["sha256"]) == 64 and recorded["mtime_ns"] == victim.stat().st_mtime_ns
    original = victim.read_bytes()

    os.utime(victim)  # touched but unchanged: the checksum agrees, the file is trusted
    assert (await ok(warm_settings, "download_tags", call))["totals"] == {"already_present": 1}

    _garble_keeping_size(victim, keep_time=False)  # a new time: the checksum is checked and differs
    assert (await ok(warm_settings, "download_tags", call))["totals"] == {"downloaded": 1}
    assert victim.read_bytes() == original

    _garble_keeping_size(victim, keep_time=True)  # the old time put back: only `verify` catches it
    assert (await ok(warm_settings, "download_tags", call))["totals"] == {"already_present": 1}
    assert (await ok(warm_settings, "download_tags", {**call, "verify": True}))["totals"] == {"downloaded": 1}
    assert victim.read_bytes() == original
    assert replica.count(ARCHIVE_PAGE) == 3


# -- damaged caches -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE tois SET record = 'not json' WHERE host = 1130",
        'UPDATE tois SET record = \'{"tic_id": "many"}\' WHERE host = 1130',
        "UPDATE meta SET value = 'soon' WHERE key = 'fetched_at'",
        "UPDATE tois SET ra_deg = 'north' WHERE host = 1130",
    ],
)
@pytest.mark.parametrize("query", ["TOI-1130", "TIC 254113311"])
async def test_a_damaged_catalog_cache_is_rebuilt(damage, query, warm_settings, replica):
    path = warm_settings.cache_dir / "toi_catalog.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(damage)
    system = await ok(warm_settings, "resolve_system", {"query": query})
    assert system["canonical_name"] == "TOI-1130" and system["tic_id"] == 254113311
    again = await ok(warm_settings, "resolve_system", {"query": query})  # a cache that works again
    assert again["canonical_name"] == "TOI-1130"


async def test_a_damaged_name_cache_entry_is_asked_again(warm_settings, replica):
    first = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})
    path = warm_settings.cache_dir / "names.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        assert conn.execute("UPDATE names SET tics = '[\"x\"' ").rowcount == 1
    again = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})
    assert again["tic_id"] == first["tic_id"]


# -- the login store ------------------------------------------------------------------------------------


def _store_a_login(config_dir: Path, origin: str | None = None) -> Path:
    now = utc_now()
    session = StoredSession("PHPSESSID", "secret-cookie", now, now + timedelta(days=7), origin=origin)
    store_login(config_dir, "alice", [session])
    return config_dir / "sessions.json"


async def test_a_sessions_file_others_can_read_is_tightened(warm_settings, replica):
    path = _store_a_login(warm_settings.config_dir, warm_settings.origin)
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o755)
    status = await ok(warm_settings, "login_status", {})
    assert status["logged_in"] is True and status["username"] == "alice"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_a_link_to_a_sessions_file_others_can_read_is_refused_with_the_chmod(warm_settings, replica, tmp_path):
    real = _store_a_login(tmp_path / "elsewhere", warm_settings.origin)
    os.chmod(real, 0o644)
    link = warm_settings.config_dir / "sessions.json"
    warm_settings.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    link.symlink_to(real)
    status = await ok(warm_settings, "login_status", {})
    assert status["logged_in"] is False
    assert f"chmod 600 {real}" in status["message"] and "secret-cookie" not in status["message"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o644  # not changed behind the user's back
    os.chmod(real, 0o600)
    assert (await ok(warm_settings, "login_status", {}))["logged_in"] is True


# -- leftovers and locks of other processes ----------------------------------------------------------

HOLD_A_LOCK = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.lockf(fd, fcntl.LOCK_EX, 1, int(sys.argv[2]), os.SEEK_SET)\n"
    "print('held', flush=True)\n"
    "time.sleep(600)\n"
)


@contextlib.contextmanager
def lock_held_elsewhere(lock_file: Path, index: int):
    """Another process holding lock ``index`` of ``lock_file`` (as a download in it would)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_LOCK, str(lock_file), str(index)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield child
    finally:
        child.kill()
        child.wait()


async def test_leftovers_no_live_process_holds_are_removed_at_start(warm_settings, replica):
    system_dir = warm_settings.data_dir / "TOI-1130"
    (system_dir / "archives").mkdir(parents=True)
    (system_dir / "time_series").mkdir()
    abandoned = [
        system_dir / "archives" / ".18493.zip.0123abcd.part",
        system_dir / ".manifest.json.0123abcd.part",
    ]
    for path in abandoned:
        path.write_bytes(b"x" * 300_000)
    unpacking = system_dir / "time_series" / ".18598.0123abcd.partdir"
    (unpacking / "sub").mkdir(parents=True)
    (unpacking / "sub" / "a.fits").write_bytes(b"x" * 1000)
    being_written = system_dir / "archives" / ".19121.zip.89abcdef.part"  # its tag is locked by a live process
    being_written.write_bytes(b"x" * 1000)
    with lock_held_elsewhere(system_dir / ".lock", 19121):
        await ok(warm_settings, "login_status", {})  # the server starts and stops
        assert not any(p.exists() for p in [*abandoned, unpacking])
        assert being_written.exists()
    await ok(warm_settings, "login_status", {})
    assert not being_written.exists()


@pytest.mark.slow
async def test_a_tag_locked_by_a_stopped_process_gives_up_naming_it(warm_settings, replica):
    settings = dataclasses.replace(warm_settings, lock_wait_seconds=1.0)
    system_dir = settings.data_dir / "TOI-1130"
    with lock_held_elsewhere(system_dir / ".lock", TAG) as holder:
        os.kill(holder.pid, signal.SIGSTOP)
        report = await ok(settings, "download_tags", {"system": "TOI-1130", "tags": [TAG, 18598], "wait_seconds": 60})
    assert report["state"] == "completed"
    results = {r["tag"]: r for r in report["results"]}
    assert results[18598]["status"] == "downloaded"
    locked = results[TAG]
    assert locked["status"] == "locked", locked
    assert f"process {holder.pid} (stopped)" in locked["message"] and f"kill {holder.pid}" in locked["message"]
    assert replica.count(ARCHIVE_PAGE) == 1


async def test_a_write_that_fails_is_reported_as_a_write(warm_settings, replica):
    system_dir = warm_settings.data_dir / "TOI-1130"
    system_dir.mkdir(parents=True)
    (system_dir / "tables").write_text("a file where the tables folder goes")
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [TAG]})
    # The tag's kind is in the time-series table that came: the tag is filed, and the report says what
    # could not be written (the tables' folder), not that anything could not be read.
    assert report["totals"] == {"downloaded": 1}, report
    message = report["message"]
    assert "could not be written" in message and str(system_dir / "tables") in message, message
    assert "could not be read" not in message


async def test_a_tag_the_tables_that_came_do_not_list_fails_when_the_others_cannot_be_read(warm_settings, replica):
    # The spectroscopy table fails: a time-series tag is filed all the same; a tag listed in no table
    # that came cannot be filed and fails, saying the tables could not be read.
    replica.configure(error_rate=1.0, fault_kinds=("5xx",), fault_paths=("download_spect.php",))
    unlisted = 999_999_991
    report = await ok(warm_settings, "download_tags", {"system": "TOI-1130", "tags": [TAG, unlisted]})
    results = {r["tag"]: r for r in report["results"]}
    assert results[TAG]["status"] == "downloaded", results
    assert results[unlisted]["status"] == "failed" and "could not be read" in results[unlisted]["message"]
    assert "could not all be read" in report["message"]
    assert not (warm_settings.data_dir / "TOI-1130" / "tables").exists()


# -- wait_seconds bounds the whole call ----------------------------------------------------------------


@pytest.mark.slow
async def test_wait_seconds_bounds_the_whole_call_even_while_tables_are_read(warm_settings, replica):
    replica.configure(latency=6.0)  # every page, the observation tables included, takes 6 s to start
    async with Client(build_server(warm_settings)) as client:
        started = time.monotonic()
        result = await client.call_tool(
            "download_tags",
            {"system": "TOI-1130", "kind": "time_series", "telescope": "LCO", "filter": "zs", "wait_seconds": 1},
        )
        elapsed = time.monotonic() - started
        assert not result.is_error, text_of(result)
        report = result.structured_content
        assert elapsed < 5.0, elapsed  # well before the tables could have arrived
        assert report["state"] == "running" and "choosing the tags" in report["message"], report
        replica.configure(latency=0.0)
        while report["state"] == "running":
            status = await client.call_tool("download_status", {"job_id": report["job_id"], "wait_seconds": 30})
            report = status.structured_content
    assert report["state"] == "completed" and report["tags_total"] > 0
    assert set(report["totals"]) == {"downloaded"}, report["totals"]


async def test_a_time_series_tag_is_filed_while_the_other_tables_are_still_coming(warm_settings, replica):
    # The imaging table trickles: the time-series tag, listed in the table that came first, is unpacked
    # and recorded without waiting for it; the job waits for it only to save the tables.
    replica.configure(error_rate=1.0, fault_kinds=("stall",), fault_paths=("download_imaging.php",), stall_seconds=60)
    async with Exofop(warm_settings) as exofop:
        job = await exofop.start_download(DownloadTagsRequest(system="TOI-1130", tags=[TAG]))
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            report = await exofop.download_status(job.id, wait_seconds=0.2)
            status = report.results[0].status if report.results else None
            if status == "downloaded":
                break
        assert status == "downloaded"
        assert job.state == "running"  # still waiting for the imaging table, to save the tables
        assert replica.count("download_imaging.php") == 0  # none answered yet
        manifest = json.loads((warm_settings.data_dir / "TOI-1130" / "manifest.json").read_text())
        assert str(TAG) in json.dumps(manifest)
        await exofop.cancel_download(job.id)

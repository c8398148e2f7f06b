"""Faults in the middle of a download: the site goes away, the server is killed, the disk fills up.

Each test interrupts real transfers over real sockets, then checks what a user would rely on:
every tag ends with an honest status, the manifest lists only complete tags, nothing that looks
complete is partial, and asking again fetches exactly what is missing (counted in the replica's
request log), never what is already complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from exofop_mcp.api import Exofop
from exofop_mcp.atomic_files import is_temp_name
from exofop_mcp.downloads.file_roles import first_wanted
from exofop_mcp.downloads.manifest import load_manifest
from exofop_mcp.downloads.request_models import DownloadTagsRequest
from exofop_mcp.downloads.sandbox import SystemDirectory
from tests.helpers.environment import server_env
from tests.helpers.sandbox_checks import (
    archive_requests,
    assert_result_matches_entry,
    assert_sandbox_consistent,
    sha256_of,
    temp_leftovers,
)
from tests.helpers.tool_client import text_of

# killed processes, outages and full disks: CI runs these, the fast loop (-m "not slow") does not
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KiB = 1024
MiB = 1024 * KiB
TAGS = [18493, 18598, 19121, 19188]
SMALL = 18493


def exofop_mcp_command() -> str:
    found = shutil.which("exofop-mcp") or str(Path(sys.executable).parent / "exofop-mcp")
    assert Path(found).exists(), "the exofop-mcp command is not installed"
    return found


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        await anyio.sleep(0.02)


def assert_rerun_fetched_only_the_missing(replica, since: float, missing: list[int]) -> None:
    fetched = archive_requests(replica.requests, since)
    assert sorted(fetched) == sorted(missing), "the rerun fetched a complete tag, or missed one"
    assert all(len(requests) == 1 for requests in fetched.values())


# -- the site goes away mid-transfer ---------------------------------------------------------------


@pytest.mark.parametrize("outage", ["longer_than_the_retries", "shorter_than_the_retries"])
async def test_replica_stopped_mid_transfer_and_restarted(warm_settings, replica, outage):
    long_outage = outage == "longer_than_the_retries"
    # Long outage: retries 10-20 ms apart give up while the site is down. Short outage: the first
    # retry waits ~1-2 s, by which time the site is back.
    delay = 0.01 if long_outage else 2.0
    settings = replace(warm_settings, max_retries=2, retry_base_delay=delay)
    replica.configure(tag_sizes={SMALL: 32 * KiB}, tag_size=2 * MiB, bandwidth=512 * KiB)
    async with Exofop(settings) as exofop:
        job = await exofop.start_download(DownloadTagsRequest(system="TOI-1130", tags=TAGS))

        def mid_transfer() -> bool:
            others = [job.results[t] for t in TAGS if t != SMALL]
            return job.results[SMALL].status == "downloaded" and all(r.status == "downloading" for r in others)

        await wait_for(mid_transfer, 30, "the small tag is done and the others are transferring")
        await wait_for(lambda: job.bytes > 32 * KiB + 3 * 64 * KiB, 30, "bytes of the big tags arrive")
        stopped = time.time()
        await asyncio.to_thread(replica.stop)
        if long_outage:
            report = await exofop.jobs.wait(job, 60)
            await asyncio.to_thread(replica.start)
        else:
            await anyio.sleep(0.3)
            await asyncio.to_thread(replica.start)
            report = await exofop.jobs.wait(job, 60)
        assert report.state == "completed"
        by_tag = {r.tag: r for r in report.results}
        assert by_tag[SMALL].status == "downloaded" and by_tag[SMALL].attempts == 1
        cut = [by_tag[t] for t in TAGS if t != SMALL]
        if long_outage:
            for result in cut:
                assert result.status == "failed" and result.attempts == 3, result
                assert "again" in (result.message or "") and "Traceback" not in (result.message or "")
                assert "connection was cut" in (result.message or "") or "request failed" in (result.message or "")
        else:
            for result in cut:  # the retry after the outage finished the job
                assert result.status == "downloaded" and result.attempts == 2, result
        manifests = assert_sandbox_consistent(settings.data_dir)
        manifest = manifests["TOI-1130"]
        for result in report.results:
            entry = manifest.tags[str(result.tag)]
            assert entry.status == result.status
            if result.status == "downloaded":
                assert_result_matches_entry(result.model_dump(), entry)
        # every byte counted while the site was up and cut off is taken back: the total is the kept bytes
        assert report.bytes_downloaded == sum(r.bytes for r in report.results if r.status == "downloaded")
        # the transfers in flight when the site stopped were really cut off mid-body
        in_flight = [r for r in archive_requests(replica.requests).items() if r[0] != SMALL]
        assert sorted(tag for tag, _ in in_flight) == sorted(TAGS[1:])
        for _, requests in in_flight:
            first_try = requests[0]
            assert first_try.received < stopped and not first_try.completed and first_try.bytes_sent > 0

        replica.configure(bandwidth=None)
        rerun_started = time.time()
        again = await exofop.download_tags("TOI-1130", tags=TAGS)
    statuses = {r.tag: r.status for r in again.results}
    missing = [r.tag for r in cut if r.status != "downloaded"]
    assert statuses == {t: "downloaded" if t in missing else "already_present" for t in TAGS}
    assert_rerun_fetched_only_the_missing(replica, rerun_started, missing)
    assert_sandbox_consistent(settings.data_dir)


# -- the MCP server process is killed (SIGKILL) mid-transfer ---------------------------------------


async def test_mcp_server_killed_mid_download_then_restarted(warm_settings, replica, tmp_path):
    replica.configure(tag_sizes={SMALL: 32 * KiB}, tag_size=3 * MiB, bandwidth=512 * KiB)
    pidfile = tmp_path / "server.pid"
    # The server is exec'ed by a shell that first writes its pid: the client talks to the real process.
    wrapped = StdioServerParameters(
        command="/bin/sh",
        args=["-c", 'echo $$ > "$0"; exec "$1"', str(pidfile), exofop_mcp_command()],
        env=server_env(warm_settings),
    )
    directory = SystemDirectory(warm_settings.data_dir, "TOI-1130")
    session = contextlib.AsyncExitStack()
    client = await session.enter_async_context(Client(wrapped))
    try:
        first = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": TAGS, "wait_seconds": 0})
        assert not first.is_error, text_of(first)
        job_id = first.structured_content["job_id"]

        def small_done_big_partial() -> bool:
            manifest = load_manifest(directory)
            return bool(manifest and manifest.entry(SMALL)) and len(temp_leftovers(directory.path)) >= 3

        await wait_for(small_done_big_partial, 60, "the small tag is committed and the big ones are partial")
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        await anyio.sleep(0.2)
    finally:
        with contextlib.suppress(Exception):  # the session ends abruptly when its server dies
            await session.aclose()
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)

    # What the killed server left: only the finished tag is recorded; partial data has temporary names.
    manifest = load_manifest(directory)
    assert manifest is not None and set(manifest.tags) == {str(SMALL)}
    leftovers = temp_leftovers(directory.path)
    assert leftovers and all(is_temp_name(p.name) for p in leftovers)
    assert not (directory.path / "archives").exists() or all(
        is_temp_name(p.name) for p in (directory.path / "archives").iterdir()
    )
    for tag in TAGS[1:]:
        assert not (directory.path / "time_series" / str(tag)).exists()

    replica.configure(bandwidth=None)
    rerun_started = time.time()
    async with Client(StdioServerParameters(command=exofop_mcp_command(), env=server_env(warm_settings))) as client:
        gone = await client.call_tool("download_status", {"job_id": job_id, "wait_seconds": 0})
        assert gone.is_error and "download_tags again" in text_of(gone)
        result = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": TAGS, "wait_seconds": 120})
        assert not result.is_error, text_of(result)
        report = result.structured_content
        inventory = (await client.call_tool("list_downloads", {"system": "TOI-1130"})).structured_content
    assert report["state"] == "completed"
    statuses = {r["tag"]: r["status"] for r in report["results"]}
    assert statuses == {SMALL: "already_present", **{t: "downloaded" for t in TAGS[1:]}}
    assert_rerun_fetched_only_the_missing(replica, rerun_started, TAGS[1:])
    manifest = load_manifest(directory)
    assert manifest is not None and sorted(manifest.tags) == sorted(str(t) for t in TAGS)
    for r in report["results"]:
        assert_result_matches_entry(r, manifest.tags[str(r["tag"])])
    assert inventory["systems"][0]["tags_complete"] == len(TAGS)
    # The killed run's partial files were swept when the server started again (no live process held them);
    # whatever temporary file is left was among them, and the sandbox is exactly what the manifest says.
    for leftover in temp_leftovers(warm_settings.data_dir):
        assert leftover in leftovers and not leftover.name.endswith(".zip")
    for leftover in leftovers:
        leftover.unlink(missing_ok=True) if leftover.is_file() else shutil.rmtree(leftover, ignore_errors=True)
    assert_sandbox_consistent(warm_settings.data_dir)


# -- the disk fills up -----------------------------------------------------------------------------

DISK_BYTES = 2 * MiB
#: Per-file limit of the last-resort fallback (writes beyond it fail with EFBIG, not ENOSPC).
FILE_SIZE_LIMIT = 1 * MiB

DISK_FULL_SCENARIO = textwrap.dedent(
    """
    import asyncio, errno, json, os, shutil, sys
    from pathlib import Path
    from exofop_mcp import Exofop

    root = Path(os.environ["EXOFOP_MCP_DATA_DIR"])
    filler = root / "filler.bin"

    def fill():
        with open(filler, "wb") as out:
            try:
                while True:
                    out.write(b"\\0" * 65536)
                    out.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc

    async def main(steps):
        results = []
        async with Exofop() as exofop:
            for step in steps:
                if step == "fill":
                    fill()
                elif step == "unfill":
                    filler.unlink()
                else:
                    try:
                        report = await exofop.download_tags("TOI-1130", **step)
                        results.append(report.model_dump(mode="json"))
                    except Exception as exc:
                        results.append({"error": f"{type(exc).__name__}: {exc}"})
        return results

    results = asyncio.run(main(json.loads(sys.argv[1])))
    if len(sys.argv) > 2:  # the disk lives only in this process's mount namespace: copy it out
        shutil.copytree(root, sys.argv[2], symlinks=True)
    print(json.dumps(results))
    """
)


def _mount_tmpfs(path: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0755", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _user_namespace_tmpfs(probe: Path) -> list[str] | None:
    """A command prefix that runs a program with a small tmpfs mounted on its first argument, if possible."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "-rm", "sh", "-c", f'mount -t tmpfs -o size={DISK_BYTES} tmpfs "$0" && exec "$@"']
    probe.mkdir(exist_ok=True)
    done = subprocess.run([*prefix, str(probe), "true"], capture_output=True)
    return prefix if done.returncode == 0 else None


def _limit_file_size() -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


@pytest.fixture
def small_disk(warm_settings, tmp_path):
    """Runs the disk-full scenario with the data directory on a 2 MiB file system.

    Yields ``(mode, run)``: ``mode`` says how ('tmpfs' mounted here as root, 'userns-tmpfs' mounted in
    the child's own user and mount namespace, or 'fsize' when neither can be had: RLIMIT_FSIZE makes
    writes past 1 MiB per file fail with EFBIG); ``run(steps)`` returns the reports, stderr and the
    directory holding the data as the child left it.
    """
    data = warm_settings.data_dir
    data.mkdir(parents=True)
    forced = os.environ.get("EXOFOP_TEST_DISK_FULL_MODE")
    mounted = forced in (None, "tmpfs") and _mount_tmpfs(data)
    prefix = None if mounted or forced == "fsize" else _user_namespace_tmpfs(tmp_path / "probe")
    mode = "tmpfs" if mounted else "userns-tmpfs" if prefix else "fsize"

    def run(steps: list[Any]) -> tuple[list[dict[str, Any]], str, Path]:
        command = [sys.executable, "-c", DISK_FULL_SCENARIO, json.dumps(steps)]
        inspect = data
        if mode == "userns-tmpfs":
            assert prefix is not None
            inspect = tmp_path / "copied-out"
            command = [*prefix, str(data), *command, str(inspect)]
        done = subprocess.run(
            command,
            env=server_env(warm_settings),
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_limit_file_size if mode == "fsize" else None,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout), done.stderr, inspect

    try:
        yield mode, run
    finally:
        if mounted:
            _unmount(data)


async def test_disk_full_fails_tags_clearly_and_keeps_earlier_ones(small_disk, replica):
    mode, run = small_disk
    # 19188 (4 MiB) cannot even be downloaded; 19442's 1.2 MiB archive fits but not its unpacked copy too.
    replica.configure(tag_sizes={19188: 4 * MiB, 19442: 1200 * KiB})
    steps: list[Any] = [{"tags": [18493, 18598, 19121]}, {"tags": [19188, 19442]}]
    if mode != "fsize":  # a disk that is completely full: nothing at all can be written
        steps += ["fill", {"tags": [18493], "overwrite": True}, {"tags": [19188]}, "unfill"]
        steps += [{"tags": [19442], "unzip": False}]
    reports, stderr, data = await asyncio.to_thread(run, steps)
    print(f"disk-full simulation: {mode}")
    no_space = "File too large" if mode == "fsize" else "No space left on device"

    first = reports[0]
    assert first["totals"] == {"downloaded": 3}
    for report in reports[1:]:
        assert "error" not in report, report  # a full disk is a tag's status, never an exception
        assert "Traceback" not in report["message"]
        # The tags end with their statuses; or, when not even the observation table could be saved
        # before they started, the job stops saying why.
        assert report["state"] == "completed" or no_space in report["message"], (report["message"], stderr[-3000:])
    failures = [r for report in reports[1:] for r in report["results"] if r["status"] != "downloaded"]
    assert {r["tag"] for r in failures} >= {19188, 19442}
    for result in failures:
        message = result["message"]
        assert result["status"] == "failed" and no_space in message, result
        assert "Traceback" not in message
        if mode != "fsize":
            assert "Free some disk space" in message
    assert "Traceback" not in stderr

    # Nothing half-written: no temporary files, a valid manifest listing exactly the complete tags.
    manifest = assert_sandbox_consistent(data)["TOI-1130"]
    complete = {int(t) for t, e in manifest.tags.items() if e.status == "downloaded"}
    expected = {18493, 18598, 19121} | ({19442} if mode != "fsize" else set())
    assert complete == expected
    system_dir = data / "TOI-1130"
    # The earlier tags are intact: the same bytes as when they were first downloaded.
    for result in first["results"]:
        entry = manifest.tags[str(result["tag"])]
        assert entry.sha256 == result["sha256"]
        assert first_wanted([f.path for f in entry.files], str, entry.kind)[:20] == result["files"]
    if mode != "fsize":
        overwrite = reports[2]["results"][0]
        assert overwrite["status"] == "failed" and no_space in overwrite["message"]
        kept = reports[-1]["results"][0]
        assert kept["status"] == "downloaded" and kept["files"] == ["archives/19442.zip"]
        assert sha256_of(system_dir / "archives" / "19442.zip") == kept["sha256"]
    assert not (system_dir / "time_series" / "19188").exists()
    assert not (system_dir / "time_series" / "19442").exists()


async def test_manifest_that_cannot_be_written_fails_only_that_tag(warm_settings, replica, monkeypatch):
    """The moment a full disk is hardest to meet: a tag is unpacked, then its manifest update fails."""
    import errno

    from exofop_mcp.downloads import manifest as manifest_module
    from exofop_mcp.errors import AtomicWriteError

    real_save = manifest_module.write_manifest

    def save_unless_19121(directory, manifest):
        entry = manifest.entry(19121)
        if entry is not None and entry.status == "downloaded":
            error = AtomicWriteError(
                f"Could not write {directory.manifest_path}: No space left on device.",
                hint="Free some disk space or choose another download directory.",
            )
            error.errno = errno.ENOSPC
            raise error
        real_save(directory, manifest)

    monkeypatch.setattr(manifest_module, "write_manifest", save_unless_19121)
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493, 19121, 18598])
        by_tag = {r.tag: r for r in report.results}
        assert report.state == "completed"
        assert by_tag[18493].status == by_tag[18598].status == "downloaded"
        failed = by_tag[19121]
        assert failed.status == "failed" and failed.files == [] and failed.directory is None
        assert "No space left on device" in (failed.message or "") and "Free some disk space" in (failed.message or "")
        system_dir = warm_settings.data_dir / "TOI-1130"
        assert not (system_dir / "time_series" / "19121").exists(), "unrecorded files must not look downloaded"
        assert_sandbox_consistent(warm_settings.data_dir)

        monkeypatch.setattr(manifest_module, "write_manifest", real_save)
        rerun_started = time.time()
        again = await exofop.download_tags("TOI-1130", tags=[18493, 19121, 18598])
    assert {r.tag: r.status for r in again.results} == {
        18493: "already_present",
        19121: "downloaded",
        18598: "already_present",
    }
    assert_rerun_fetched_only_the_missing(replica, rerun_started, [19121])
    assert_sandbox_consistent(warm_settings.data_dir)

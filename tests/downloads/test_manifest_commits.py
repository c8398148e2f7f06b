"""Group commit of the manifest: tags finishing together share one atomic write, and none is lost."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
from collections.abc import AsyncIterator

import pytest

from exofop_mcp.downloads.manifest import ManifestCommits, ManifestFile, ManifestTag, load_manifest, now
from exofop_mcp.downloads.sandbox import SystemDirectory

pytestmark = pytest.mark.anyio

TIC = 254113311


def entry(tag: int, status: str = "downloaded", files: list[ManifestFile] | None = None) -> ManifestTag:
    return ManifestTag(
        tag=tag,
        kind="time_series",
        status=status,
        source_url=f"https://example.org/tag={tag}",
        files=files or [],
        message=None if status == "downloaded" else "it failed",
        time=now(),
    )


def on_disk(directory: SystemDirectory) -> dict[str, dict]:
    """The manifest as the file holds it (no in-memory copy involved)."""
    return json.loads(directory.manifest_path.read_text())["tags"]


class CountingLock:
    """The system lock stand-in: counts the writes (each takes the lock once) and can fail them."""

    def __init__(self) -> None:
        self.taken = 0
        self.fail: OSError | None = None

    @contextlib.asynccontextmanager
    async def __call__(self, directory: SystemDirectory) -> AsyncIterator[None]:
        self.taken += 1
        if self.fail is not None:
            raise self.fail
        yield


@pytest.fixture
def directory(tmp_path) -> SystemDirectory:
    system = SystemDirectory(tmp_path, "TOI-1130")
    system.path.mkdir(parents=True)
    return system


async def test_tags_finishing_together_share_one_write_and_each_is_on_disk_when_recorded(directory):
    lock = CountingLock()
    commits = ManifestCommits(lock)

    async def record(tag: int) -> tuple[bool, bool]:
        recorded = await commits.record(directory, entry(tag), tic_id=TIC, keep_complete=False)
        return recorded, str(tag) in on_disk(directory)  # durable the moment record returns

    outcomes = await asyncio.gather(*(record(tag) for tag in range(1, 41)))
    assert outcomes == [(True, True)] * 40
    assert 1 <= lock.taken < 40  # grouped: far fewer writes than tags
    assert sorted(map(int, on_disk(directory))) == list(range(1, 41))
    manifest = load_manifest(directory)
    assert manifest is not None and manifest.tic_id == TIC and len(manifest.tags) == 40

    # Later records add to what is there, one write each when they come one at a time.
    taken = lock.taken
    for tag in (41, 42):
        assert await commits.record(directory, entry(tag), tic_id=TIC, keep_complete=False)
    assert lock.taken == taken + 2
    assert len(on_disk(directory)) == 42


async def test_writes_that_fail_fail_their_tags_and_keep_the_manifest(directory):
    lock = CountingLock()
    commits = ManifestCommits(lock)
    assert await commits.record(directory, entry(1), tic_id=TIC, keep_complete=False)
    before = directory.manifest_path.read_bytes()
    lock.fail = OSError(errno.ENOSPC, "No space left on device")
    outcomes = await asyncio.gather(
        *(commits.record(directory, entry(tag), tic_id=TIC, keep_complete=False) for tag in (2, 3, 4)),
        return_exceptions=True,
    )
    assert all(isinstance(o, OSError) and o.errno == errno.ENOSPC for o in outcomes), outcomes
    assert directory.manifest_path.read_bytes() == before
    manifest = load_manifest(directory)
    assert manifest is not None and set(manifest.tags) == {"1"}  # the readers' copy did not change either
    lock.fail = None
    assert await commits.record(directory, entry(5), tic_id=TIC, keep_complete=False)
    assert set(on_disk(directory)) == {"1", "5"}


async def test_a_failed_refetch_keeps_the_complete_download(directory):
    commits = ManifestCommits(CountingLock())
    folder = directory.path / "time_series" / "7"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("x\n")
    st = (folder / "a.csv").stat()
    good = entry(7, files=[ManifestFile(path="time_series/7/a.csv", size=st.st_size, mtime_ns=st.st_mtime_ns)])
    assert await commits.record(directory, good, tic_id=TIC, keep_complete=False)
    kept = await commits.record(directory, entry(7, status="failed"), tic_id=TIC, keep_complete=True)
    assert kept is False
    assert on_disk(directory)["7"]["status"] == "downloaded"
    # Without a complete download to keep, the failure is recorded.
    (folder / "a.csv").unlink()
    assert await commits.record(directory, entry(7, status="failed"), tic_id=TIC, keep_complete=True)
    assert on_disk(directory)["7"]["status"] == "failed"

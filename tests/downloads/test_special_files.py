"""A FIFO where a downloaded file should be is never waited on: the completeness check calls it changed."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from exofop_mcp.downloads.manifest import ManifestFile, ManifestTag, is_complete
from exofop_mcp.downloads.sandbox import SystemDirectory


def test_a_fifo_swapped_in_for_an_empty_downloaded_file_is_not_waited_on(tmp_path: Path) -> None:
    directory = SystemDirectory(tmp_path / "data", "TOI-1130")
    folder = directory.tag_dir("time_series", 18598)
    folder.mkdir(parents=True)
    os.mkfifo(folder / "empty.txt")  # recorded as an empty file, now a FIFO (size 0, another time)
    entry = ManifestTag(
        tag=18598,
        kind="time_series",
        status="downloaded",
        source_url="https://example.invalid/",
        time=datetime.now(UTC),
        files=[
            ManifestFile(
                path="time_series/18598/empty.txt",
                size=0,
                sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                mtime_ns=1,
            )
        ],
    )
    answer: list[bool] = []
    checker = threading.Thread(target=lambda: answer.append(is_complete(directory, entry)), daemon=True)
    checker.start()
    checker.join(10)
    if checker.is_alive():  # the check blocked on the FIFO: give it an end of file before failing
        os.close(os.open(folder / "empty.txt", os.O_WRONLY | os.O_NONBLOCK))
        checker.join(5)
    assert answer == [False]

"""Hostile local state for the sandbox tests: files swapped for links in a loop, read-only mounts, memory caps."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exofop_mcp.downloads.sandbox import SystemDirectory

_SWAPPER = """
import os, sys, time
path, outside, link, keep, folder = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
content = b"" if folder else open(path, "rb").read()
count = 0
while True:
    try:
        if folder:
            os.rename(path, keep)
            os.symlink(outside, path)  # a link out
            os.unlink(path)
            os.rename(keep, path)  # the real folder again
        else:
            os.symlink(outside, link)
            os.replace(link, path)  # a link out
            with open(keep, "wb") as f:
                f.write(content)
            os.replace(keep, path)  # the real file again
    except OSError:
        pass
    time.sleep(0.0002)  # the real one stays a moment, so that readers also get through
    count += 1
    if count == 100:
        print("swapping", flush=True)
"""


@contextlib.contextmanager
def swapping(path: Path, outside: Path) -> Iterator[None]:
    """While the block runs, another process swaps ``path`` (a file or a folder) again and again, by
    atomic renames, between what it is now and a symbolic link to ``outside``, as another local user could."""
    link = path.with_name(f".link-{path.name}")
    keep = path.with_name(f".keep-{path.name}")
    folder = path.is_dir()
    content = b"" if folder else path.read_bytes()
    args = [str(path), str(outside), str(link), str(keep), "1" if folder else "0"]
    swapper = subprocess.Popen([sys.executable, "-c", _SWAPPER, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert swapper.stdout is not None and swapper.stdout.readline().strip() == "swapping"
        yield
    finally:
        swapper.kill()
        swapper.wait()
        if swapper.stdout is not None:
            swapper.stdout.close()
        if folder:
            if path.is_symlink():
                path.unlink()
            if keep.is_dir():
                os.rename(keep, path)
        else:
            if not path.is_file() or path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                path.write_bytes(content)
            for leftover in (link, keep):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` mounted read-only over itself (a bind mount) for the block; skips when the system
    does not allow it (unprivileged, and then a folder without write permission does the same)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")] if p.is_dir() and not p.is_symlink()}
        for p in modes:
            p.chmod(0o555)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    bound = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount a read-only sandbox here: {bound.stderr.decode().strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True)
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {ro.stderr.decode().strip()}")
        yield
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)  # a descriptor still open on it


def record_size(directory: SystemDirectory, relative: str, size: int) -> None:
    """Change the size the manifest recorded for one downloaded file (as after a hand edit)."""
    path = directory.manifest_path
    data = json.loads(path.read_text())
    for entry in data["tags"].values():
        for f in entry.get("files", []):
            if f["path"] == relative:
                f["size"] = size
    path.write_text(json.dumps(data))


def run_with_memory_cap(code: str, cap_bytes: int, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in a fresh interpreter whose address space is capped at ``cap_bytes``."""
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({cap_bytes}, {cap_bytes}))\n"
    return subprocess.run(
        [sys.executable, "-c", limit + code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
    )


def sparse_file(path: Path, head: bytes, size: int) -> None:
    """A file of ``size`` bytes starting with ``head``, the rest a hole (one endless line of NULs)."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)

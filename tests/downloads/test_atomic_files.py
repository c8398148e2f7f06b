from __future__ import annotations

import errno
import gc
import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exofop_mcp.atomic_files import (
    TEMP_DIR_SUFFIX,
    TEMP_SUFFIX,
    AtomicStreamWriter,
    atomic_write_text,
    is_temp_name,
    make_temp_dir,
    remove_stale_temp_files,
    temp_path_for,
)
from exofop_mcp.errors import AtomicWriteError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if is_temp_name(p.name))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# --------------------------------------------------------------------------------------------------
# Temporary names
# --------------------------------------------------------------------------------------------------


def test_temp_names_are_recognised() -> None:
    file_temp = temp_path_for(Path("/data/tag.zip"))
    dir_temp = temp_path_for(Path("/data/tag"), directory=True)
    assert file_temp.parent == Path("/data")
    assert file_temp.name.startswith(".tag.zip.") and file_temp.name.endswith(TEMP_SUFFIX)
    assert dir_temp.name.startswith(".tag.") and dir_temp.name.endswith(TEMP_DIR_SUFFIX)
    assert is_temp_name(file_temp.name) and is_temp_name(dir_temp.name)
    assert temp_path_for(Path("a")) != temp_path_for(Path("a"))


@pytest.mark.parametrize(
    "name",
    [
        "tag.zip",
        ".bashrc",
        ".tag.zip.part",
        "tag.zip.0123abcd.part",
        ".tag.zip.0123ABCD.part",
        ".tag.zip.0123abc.part",
        ".tag.zip.0123abcd.partial",
        ".tag.zip.0123abcd.part.bak",
    ],
)
def test_other_names_are_not_temp_names(name: str) -> None:
    assert not is_temp_name(name)


NAMES = st.text(alphabet=st.characters(exclude_characters="/\x00", exclude_categories=["Cs"]), min_size=1)


@given(NAMES)
def test_any_name_gives_a_recognisable_sibling(name: str) -> None:
    if name in (".", ".."):
        return
    base = Path("/some/dir") / name
    for directory in (False, True):
        temp = temp_path_for(base, directory=directory)
        assert temp.parent == base.parent
        assert is_temp_name(temp.name)
        assert len(temp.name.encode("utf-8", "surrogateescape")) <= 255


def test_make_temp_dir_creates_sibling(tmp_path: Path) -> None:
    temp = make_temp_dir(tmp_path / "dest")
    assert temp.is_dir() and temp.parent == tmp_path and temp.name.endswith(TEMP_DIR_SUFFIX)


# --------------------------------------------------------------------------------------------------
# Whole-file writers
# --------------------------------------------------------------------------------------------------


def test_write_bytes_and_text(tmp_path: Path) -> None:
    with AtomicStreamWriter(tmp_path / "a.bin") as out:
        out.write(b"\x00\x01")
    atomic_write_text(tmp_path / "a.txt", "héllo\r\n")
    atomic_write_text(tmp_path / "l.txt", "é", encoding="latin-1")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "a.txt").read_bytes() == "héllo\r\n".encode()
    assert (tmp_path / "l.txt").read_bytes() == b"\xe9"
    assert leftovers(tmp_path) == []


def test_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    atomic_write_text(target, "new")
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_writer_yields_file_on_temp_sibling(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    with AtomicStreamWriter(target) as out:
        temp = out.temp_path
        assert temp is not None and temp.parent == tmp_path and is_temp_name(temp.name)
        out.write(b"line\n")
        assert not target.exists()
    assert target.read_text() == "line\n"
    assert not temp.exists()


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt()])
def test_exception_leaves_no_file_and_no_temp(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "f"
    with pytest.raises(type(error)), AtomicStreamWriter(target) as out:
        out.write(b"partial")
        raise error
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_exception_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="unrelated"), AtomicStreamWriter(target) as out:
        out.write(b"new")
        raise FileNotFoundError("unrelated")  # errors of the caller are not rewrapped
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_encoding_error_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(tmp_path / "x.txt", "é", encoding="ascii")
    assert list(tmp_path.iterdir()) == []


def test_committing_inside_block_still_commits(tmp_path: Path) -> None:
    target = tmp_path / "f"
    with AtomicStreamWriter(target) as out:
        out.write(b"data")
        out.commit()
    assert target.read_bytes() == b"data"


def test_permissions_600_from_the_start(tmp_path: Path, umask_000: None) -> None:
    target = tmp_path / "secret.json"
    with AtomicStreamWriter(target, permissions=0o600) as out:
        # Even with an empty umask, the temporary file is private before anything is written.
        assert out.temp_path is not None and mode_of(out.temp_path) == 0o600
        out.write(b"{}")
    assert mode_of(target) == 0o600
    atomic_write_text(target, '{"token": "x"}', permissions=0o600)
    assert mode_of(target) == 0o600


def test_permissions_replace_a_more_permissive_file(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"old")
    os.chmod(target, 0o666)
    atomic_write_text(target, "new", permissions=0o600)
    assert mode_of(target) == 0o600


def test_default_permissions_follow_umask(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "f"
    atomic_write_text(target, "x")
    assert mode_of(target) == 0o644


def test_missing_directory_raises_helpful_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "f"
    with pytest.raises(AtomicWriteError, match="does not exist") as info:
        atomic_write_text(target, "x")
    assert isinstance(info.value, OSError)
    assert info.value.errno == errno.ENOENT
    assert str(target) in str(info.value)


def test_target_is_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir()
    (target / "keep").write_bytes(b"k")
    with pytest.raises(AtomicWriteError, match="move the new file into place"):
        atomic_write_text(target, "x")
    assert (target / "keep").read_bytes() == b"k"
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(IS_ROOT, reason="root ignores directory permissions")
def test_read_only_directory(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(AtomicWriteError, match="permissions"):
            atomic_write_text(folder / "f", "x")
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("use_stream", [False, True])
def test_disk_full_on_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_stream: bool) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(AtomicWriteError, match="Free some disk space") as info:
        if use_stream:
            with AtomicStreamWriter(target) as out:
                out.write(b"new")
        else:
            atomic_write_text(target, "new")
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_non_durable_mode(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "f", "x", durable=False)
    assert (tmp_path / "f").read_bytes() == b"x"


# --------------------------------------------------------------------------------------------------
# Streaming writer
# --------------------------------------------------------------------------------------------------


def test_stream_commit_hash_and_head(tmp_path: Path) -> None:
    target = tmp_path / "tag.zip"
    chunks: list[bytes | bytearray | memoryview] = [
        b"PK\x03\x04",
        b"a" * 10_000,
        bytearray(b"b" * 5),
        memoryview(b"end"),
    ]
    with AtomicStreamWriter(target, head_size=16) as out:
        assert out.temp_path is not None and out.temp_path.parent == tmp_path
        for chunk in chunks:
            out.write(chunk)
        assert not target.exists()
    data = b"".join(bytes(c) for c in chunks)
    assert target.read_bytes() == data
    assert out.committed and out.temp_path is None
    assert out.bytes_written == len(data)
    assert out.sha256_hex() == hashlib.sha256(data).hexdigest()
    assert out.head == data[:16]
    assert leftovers(tmp_path) == []


def test_stream_exception_discards(tmp_path: Path) -> None:
    target = tmp_path / "tag.zip"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="network"), AtomicStreamWriter(target) as out:
        out.write(b"new")
        raise RuntimeError("network dropped")
    assert out.discarded
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_stream_explicit_discard_inside_block(tmp_path: Path) -> None:
    target = tmp_path / "tag.zip"
    with AtomicStreamWriter(target) as out:
        out.write(b"<html>login</html>")
        out.discard()
        out.discard()  # idempotent
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="not open"):
        out.write(b"x")


def test_stream_manual_use_and_misuse(tmp_path: Path) -> None:
    writer = AtomicStreamWriter(tmp_path / "f")
    with pytest.raises(RuntimeError):
        writer.write(b"x")
    writer.open()
    with pytest.raises(RuntimeError):
        writer.open()
    writer.write(b"abc")
    assert writer.commit() == tmp_path / "f"
    with pytest.raises(RuntimeError):
        writer.commit()
    writer.discard()  # no-op after commit
    assert (tmp_path / "f").read_bytes() == b"abc"


def test_stream_permissions(tmp_path: Path, umask_000: None) -> None:
    with AtomicStreamWriter(tmp_path / "f", permissions=0o600) as out:
        assert out.temp_path is not None
        assert mode_of(out.temp_path) == 0o600
        out.write(b"x")
    assert mode_of(tmp_path / "f") == 0o600


def test_abandoned_stream_writer_removes_temp(tmp_path: Path) -> None:
    writer = AtomicStreamWriter(tmp_path / "f").open()
    writer.write(b"x")
    assert leftovers(tmp_path)
    del writer
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_stream_async_context(tmp_path: Path) -> None:
    async def main() -> None:
        async with AtomicStreamWriter(tmp_path / "a") as out:
            out.write(b"async")
        with pytest.raises(ValueError):
            async with AtomicStreamWriter(tmp_path / "b") as out:
                out.write(b"x")
                raise ValueError

    anyio.run(main)
    assert (tmp_path / "a").read_bytes() == b"async"
    assert not (tmp_path / "b").exists()
    assert leftovers(tmp_path) == []


def test_stream_memory_stays_flat(tmp_path: Path) -> None:
    chunk = b"\xab" * (1 << 20)
    tracemalloc.start()
    try:
        with AtomicStreamWriter(tmp_path / "big", durable=False) as out:
            for _ in range(48):
                out.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.bytes_written == 48 << 20
    assert (tmp_path / "big").stat().st_size == 48 << 20
    assert peak < 4 << 20, f"peak traced memory {peak} bytes"


# --------------------------------------------------------------------------------------------------
# Stale temporary files
# --------------------------------------------------------------------------------------------------


def test_remove_stale_temp_files(tmp_path: Path) -> None:
    keep = [tmp_path / "tag.zip", tmp_path / ".hidden", tmp_path / "sub" / "x.part"]
    for path in keep:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"k")
    stale_file = temp_path_for(tmp_path / "tag.zip")
    stale_file.write_bytes(b"half")
    nested_file = temp_path_for(tmp_path / "sub" / "y.json")
    nested_file.write_bytes(b"half")
    stale_dir = make_temp_dir(tmp_path / "tag")
    (stale_dir / "inner").mkdir()
    (stale_dir / "inner" / "f").write_bytes(b"half")
    # A directory named like a temp *file* (and vice versa) is not ours: left alone.
    odd_dir = temp_path_for(tmp_path / "odd")
    odd_dir.mkdir()
    odd_file = temp_path_for(tmp_path / "odd2", directory=True)
    odd_file.write_bytes(b"?")
    # Symbolic links are never followed or removed.
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "victim").write_bytes(b"v")
    link = temp_path_for(tmp_path / "link", directory=True)
    link.symlink_to(outside, target_is_directory=True)

    removed = remove_stale_temp_files(tmp_path)
    assert removed == sorted([stale_file, nested_file, stale_dir])
    assert all(p.exists() for p in keep)
    assert not stale_file.exists() and not nested_file.exists() and not stale_dir.exists()
    assert odd_dir.exists() and odd_file.exists() and link.is_symlink()
    assert (outside / "victim").read_bytes() == b"v"


def test_remove_stale_non_recursive_and_missing(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    nested = temp_path_for(tmp_path / "sub" / "f")
    nested.write_bytes(b"x")
    top = temp_path_for(tmp_path / "f")
    top.write_bytes(b"x")
    assert remove_stale_temp_files(tmp_path, recursive=False) == [top]
    assert nested.exists()
    assert remove_stale_temp_files(tmp_path / "nope") == []


def test_remove_stale_respects_min_age(tmp_path: Path) -> None:
    fresh = temp_path_for(tmp_path / "a")
    fresh.write_bytes(b"x")
    old = temp_path_for(tmp_path / "b")
    old.write_bytes(b"x")
    long_ago = time.time() - 7200
    os.utime(old, (long_ago, long_ago))
    old_dir = make_temp_dir(tmp_path / "c")
    (old_dir / "recent").write_bytes(b"x")  # recently touched content keeps the directory
    os.utime(old_dir, (long_ago, long_ago))
    assert remove_stale_temp_files(tmp_path, min_age_seconds=3600) == [old]
    assert fresh.exists() and old_dir.exists()


# --------------------------------------------------------------------------------------------------
# Crash simulation
# --------------------------------------------------------------------------------------------------

CHILD = r"""
import sys, time
from pathlib import Path
import os
from exofop_mcp.atomic_files import AtomicStreamWriter, atomic_write_text

target = Path(sys.argv[1])
if sys.argv[2] == "writer":
    def stuck(*args):  # the whole file is written; the process dies before it is moved into place
        print("writing", flush=True)
        time.sleep(60)
    os.replace = stuck
    atomic_write_text(target, "x" * 8192)
with AtomicStreamWriter(target) as out:
    out.write(b"x" * 4096)
    if hasattr(out, "flush"):
        out.flush()
    print("writing", flush=True)
    while True:
        out.write(b"y" * 1024)
        time.sleep(0.005)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("kind", ["writer", "stream"])
@pytest.mark.parametrize("existing", [False, True])
def test_sigkill_mid_write_leaves_old_state(tmp_path: Path, kind: str, existing: bool) -> None:
    target = tmp_path / "tag.zip"
    if existing:
        target.write_bytes(b"old complete file")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), kind], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"writing\n"
        time.sleep(0.05)
        temps = leftovers(tmp_path)
        assert len(temps) == 1 and temps[0].endswith(TEMP_SUFFIX)
        assert (tmp_path / temps[0]).stat().st_size >= 4096
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    if existing:
        assert target.read_bytes() == b"old complete file"
    else:
        assert not target.exists()
    assert remove_stale_temp_files(tmp_path) == [tmp_path / temps[0]]
    assert leftovers(tmp_path) == []
    assert target.exists() == existing

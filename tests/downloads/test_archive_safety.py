from __future__ import annotations

import errno
import io
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exofop_mcp.atomic_files import is_temp_name, remove_stale_temp_files
from exofop_mcp.downloads import archive_extraction, zip_reader
from exofop_mcp.downloads.archive_extraction import extract_zip, inspect_zip
from exofop_mcp.downloads.archive_limits import ExtractionLimits
from exofop_mcp.errors import (
    ArchiveError,
    CorruptArchive,
    ExofopMcpError,
    ExtractionIOError,
    UnsafeArchive,
    UnsupportedArchive,
)
from exofop_mcp.site.responses import sniff_body

Entry = tuple["str | zipfile.ZipInfo", bytes]


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def zip_bytes(entries: list[Entry], method: int = zipfile.ZIP_DEFLATED) -> bytearray:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(buffer, "w", method) as zf:
            for name, data in entries:
                if isinstance(name, zipfile.ZipInfo):
                    if name.compress_type == zipfile.ZIP_STORED:
                        name.compress_type = method
                    with zf.open(name, "w") as out:
                        out.write(data)
                else:
                    zf.writestr(name, data)
    return bytearray(buffer.getvalue())


def info(name: str, mode: int | None = None) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=(2021, 3, 4, 5, 6, 8))
    if mode is not None:
        zi.external_attr = mode << 16
    return zi


def central_records(buf: bytes | bytearray) -> list[int]:
    offsets = []
    pos = buf.find(b"PK\x01\x02")
    while pos >= 0:
        offsets.append(pos)
        pos = buf.find(b"PK\x01\x02", pos + 4)
    return offsets


def local_header(buf: bytes | bytearray, cd: int) -> int:
    return int(struct.unpack_from("<L", buf, cd + 42)[0])


def patch_member(buf: bytearray, index: int, **fields: int) -> bytearray:
    """Patch fields of member ``index`` in both its central record and its local header."""
    central = {
        "flags": (8, "H"),
        "method": (10, "H"),
        "crc": (16, "L"),
        "csize": (20, "L"),
        "usize": (24, "L"),
    }
    local = {"flags": (6, "H"), "method": (8, "H"), "crc": (14, "L"), "csize": (18, "L"), "usize": (22, "L")}
    cd = central_records(buf)[index]
    lh = local_header(buf, cd)
    for field, value in fields.items():
        offset, fmt = central[field]
        struct.pack_into("<" + fmt, buf, cd + offset, value)
        offset, fmt = local[field]
        struct.pack_into("<" + fmt, buf, lh + offset, value)
    return buf


def tree(root: Path) -> dict[str, object]:
    """Everything under ``root``: file contents, folders and links, to prove nothing changed."""
    result: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                result[rel] = ("link", os.readlink(full))
            elif full.is_dir():
                result[rel] = "dir"
            else:
                result[rel] = full.read_bytes()
    return result


def temp_leftovers(root: Path) -> list[str]:
    return [p for p in tree(root) if any(is_temp_name(part) for part in p.split("/"))]


SMALL = ExtractionLimits(max_entries=10, max_total_uncompressed=10_000, max_entry_ratio=50, ratio_min_size=1000)


class Workspace:
    """``tmp/archive.zip`` and a destination three levels down, pre-filled with an old tag."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.archive = root / "archive.zip"
        self.dest = root / "data" / "tags" / "dest"
        self.dest.mkdir(parents=True)
        (self.dest / "old.txt").write_bytes(b"old tag")
        (root / "data" / "sibling.txt").write_bytes(b"unrelated")

    def write(self, data: bytes | bytearray) -> Path:
        self.archive.write_bytes(bytes(data))
        return self.archive

    def expect_failure(
        self,
        data: bytes | bytearray,
        error: type[ArchiveError],
        match: str,
        limits: ExtractionLimits | None = None,
    ) -> ArchiveError:
        self.write(data)
        before = tree(self.root)
        with pytest.raises(error, match=match) as excinfo:
            extract_zip(self.archive, self.dest, limits)
        assert tree(self.root) == before, "a failed extraction changed files"
        assert temp_leftovers(self.root) == []
        assert (self.dest / "old.txt").read_bytes() == b"old tag"
        return excinfo.value


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# --------------------------------------------------------------------------------------------------
# Hostile names and types
# --------------------------------------------------------------------------------------------------


def _nul_name() -> bytearray:
    buf = zip_bytes([("aXb", b"x")])
    return bytearray(bytes(buf).replace(b"aXb", b"a\x00b"))


HOSTILE: dict[str, tuple[Callable[[], bytearray], str]] = {
    "parent": (lambda: zip_bytes([("ok.txt", b"x"), ("../../evil.txt", b"evil")]), r"'\.\.'"),
    "parent-inside": (lambda: zip_bytes([("a/../../b", b"evil")]), r"'\.\.'"),
    "parent-deep": (lambda: zip_bytes([("a/b/../../../evil", b"evil")]), r"'\.\.'"),
    "absolute": (lambda: zip_bytes([("/etc/passwd", b"root::0:0")]), "absolute"),
    "unc-slashes": (lambda: zip_bytes([("//server/share/x", b"x")]), "absolute"),
    "drive-backslash": (lambda: zip_bytes([("C:\\x", b"x")]), "backslash"),
    "drive-slash": (lambda: zip_bytes([("C:/x", b"x")]), "drive letter"),
    "drive-relative": (lambda: zip_bytes([("c:x", b"x")]), "drive letter"),
    "unc-backslash": (lambda: zip_bytes([("\\\\server\\share\\x", b"x")]), "backslash"),
    "backslash-parent": (lambda: zip_bytes([("a\\..\\..\\evil", b"x")]), "backslash"),
    "symlink": (lambda: zip_bytes([(info("link", 0o120777), b"/etc/passwd")]), "symbolic link"),
    "symlink-then-write": (
        lambda: zip_bytes([(info("link/", 0o120777), b"../../.."), ("link/evil.txt", b"x")]),
        "symbolic link",
    ),
    "char-device": (lambda: zip_bytes([(info("dev", stat.S_IFCHR | 0o666), b"")]), "character device"),
    "block-device": (lambda: zip_bytes([(info("blk", stat.S_IFBLK | 0o666), b"")]), "block device"),
    "fifo": (lambda: zip_bytes([(info("fifo", stat.S_IFIFO | 0o644), b"")]), "FIFO"),
    "socket": (lambda: zip_bytes([(info("sock", stat.S_IFSOCK | 0o644), b"")]), "socket"),
    "nul": (_nul_name, "NUL"),
    "empty-name": (lambda: zip_bytes([(zipfile.ZipInfo(""), b"x")]), "empty name"),
    "control-char": (lambda: zip_bytes([("a\nb.txt", b"x")]), "control character"),
    "long-component": (lambda: zip_bytes([("a" * 256, b"x")]), "longer than 255"),
    "only-dots-file": (lambda: zip_bytes([("./.", b"x")]), "no usable file name"),
    "duplicate": (lambda: zip_bytes([("a.txt", b"1"), ("a.txt", b"2")]), "same file"),
    "duplicate-normalised": (lambda: zip_bytes([("x/a.txt", b"1"), ("x/./a.txt", b"2")]), "same file"),
    "duplicate-slashes": (lambda: zip_bytes([("x/a.txt", b"1"), ("x//a.txt", b"2")]), "same file"),
    "duplicate-case": (lambda: zip_bytes([("A.txt", b"1"), ("a.txt", b"2")]), "same file"),
    "duplicate-unicode": (lambda: zip_bytes([("\u00e9.txt", b"1"), ("e\u0301.txt", b"2")]), "same file"),
    "file-and-folder": (lambda: zip_bytes([("a", b"1"), ("a/b", b"2")]), "both a file and a folder"),
    "file-and-dir-entry": (lambda: zip_bytes([("a/", b""), ("a", b"2")]), "both a file and a folder"),
    "dir-with-content": (lambda: zip_bytes([(info("d", stat.S_IFDIR | 0o755), b"data")]), "has content"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused(ws: Workspace, case: str) -> None:
    build, match = HOSTILE[case]
    data = build()
    error = ws.expect_failure(data, UnsafeArchive, match)
    assert isinstance(error, ExofopMcpError) and error.code == "unsafe_archive"
    assert "Nothing was extracted" in str(error)
    # inspect_zip reaches the same verdict without writing anything
    before = tree(ws.root)
    with pytest.raises(UnsafeArchive):
        inspect_zip(ws.archive)
    assert tree(ws.root) == before


def test_error_names_archive_and_member(ws: Workspace) -> None:
    error = ws.expect_failure(zip_bytes([("../../evil.txt", b"x")]), UnsafeArchive, "evil")
    assert error.member == "../../evil.txt"
    assert error.archive == ws.archive
    assert str(ws.archive) in str(error)
    assert error.reason in str(error)


# --------------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """100 MiB of zeros deflated to about 100 KiB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.fits", "w") as out:
        block = bytes(1 << 20)
        for _ in range(100):
            out.write(block)
    data = path.read_bytes()
    assert len(data) < 200 * 1024
    return data


def test_zip_bomb_is_refused(ws: Workspace, bomb: bytes) -> None:
    error = ws.expect_failure(bomb, UnsafeArchive, "zip bomb")
    assert "max_entry_ratio" in str(error)
    # Even with a generous ratio, a small total limit stops it.
    ws.expect_failure(
        bomb,
        UnsafeArchive,
        "more than the limit",
        ExtractionLimits(max_entry_ratio=10_000, max_total_uncompressed=50 << 20),
    )


def test_many_small_compressible_entries_hit_the_total_ratio(ws: Workspace) -> None:
    entries: list[Entry] = [(f"part{i}.dat", bytes(512 * 1024)) for i in range(8)]
    ws.expect_failure(zip_bytes(entries), UnsafeArchive, "ratio")


def test_too_many_entries_with_small_limit(ws: Workspace) -> None:
    entries: list[Entry] = [(f"f{i}.txt", b"x") for i in range(11)]
    ws.expect_failure(zip_bytes(entries), UnsafeArchive, "more than the limit of 10", SMALL)
    ws.write(zip_bytes(entries[:10]))
    assert len(inspect_zip(ws.archive, SMALL).members) == 10


def test_default_entry_limit(ws: Workspace) -> None:
    limit = ExtractionLimits().max_entries
    entries: list[Entry] = [(f"f{i}", b"") for i in range(limit + 1)]
    ws.expect_failure(zip_bytes(entries, zipfile.ZIP_STORED), UnsafeArchive, f"{limit:,}")


def test_entry_count_checked_after_parsing_too(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    # If the end record understates the count, the parsed directory is still counted.
    monkeypatch.setattr(zip_reader, "_declared_directory", lambda fh, size: None)
    entries: list[Entry] = [(f"f{i}.txt", b"x") for i in range(11)]
    ws.expect_failure(zip_bytes(entries), UnsafeArchive, "lists 11 entries", SMALL)


def test_total_size_limit(ws: Workspace) -> None:
    entries: list[Entry] = [("a.bin", os.urandom(6000)), ("b.bin", os.urandom(6000))]
    ws.expect_failure(zip_bytes(entries), UnsafeArchive, "max_total_uncompressed", SMALL)


def test_small_entries_are_exempt_from_ratio(ws: Workspace) -> None:
    ws.write(zip_bytes([("blank.txt", b" " * 900)]))  # ratio ~100:1 but under ratio_min_size
    assert extract_zip(ws.archive, ws.dest, SMALL) == ["blank.txt"]


def test_realistic_compression_passes_default_limits(ws: Workspace) -> None:
    # Text tables compress ~5-20x: must pass.
    table = "".join(f"{2459000.5 + i / 1000:.6f} {1 + (i % 7) / 1000:.6f} 0.0012\n" for i in range(60_000))
    ws.write(zip_bytes([("tag/lc.txt", table.encode()), ("tag/img.fits", os.urandom(200_000))]))
    assert extract_zip(ws.archive, ws.dest) == ["img.fits", "lc.txt"]


def test_overlapping_entries_are_refused(ws: Workspace) -> None:
    buf = zip_bytes([("a.bin", os.urandom(5000)), ("b.bin", os.urandom(5000))])
    second = central_records(buf)[1]
    struct.pack_into("<L", buf, second + 42, 0)  # b.bin now points at a.bin's data
    ws.expect_failure(buf, UnsafeArchive, "overlap")


@pytest.mark.parametrize(
    "kwargs",
    [{"max_entries": 0}, {"max_total_uncompressed": -1}, {"max_entry_ratio": 0.5}, {"ratio_min_size": -1}],
)
def test_invalid_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="ExtractionLimits"):
        ExtractionLimits(**kwargs)  # type: ignore[arg-type]


def test_default_limits() -> None:
    limits = ExtractionLimits()
    assert limits.max_entries == 20_000
    assert limits.max_total_uncompressed == 4 * 2**30
    assert limits.max_entry_ratio == 200.0
    assert limits.ratio_min_size == 2**20


# --------------------------------------------------------------------------------------------------
# Damaged archives
# --------------------------------------------------------------------------------------------------


def test_not_a_zip(ws: Workspace) -> None:
    page = b"<!DOCTYPE html><html><head><title>ExoFOP Login</title></head><body><form>"
    page += b'<input type="password" name="pw"></form></body></html>'
    error = ws.expect_failure(page, CorruptArchive, "not a ZIP archive")
    assert isinstance(error, CorruptArchive) and error.kind == "html_login"
    assert "log in" in str(error)
    assert "ExoFOP Login" in str(error)
    ws.expect_failure(os.urandom(300), CorruptArchive, "binary data")
    error = ws.expect_failure(b"", CorruptArchive, "not a ZIP")
    assert isinstance(error, CorruptArchive) and error.kind == "empty"


def test_missing_archive(ws: Workspace) -> None:
    with pytest.raises(ArchiveError, match="does not exist"):
        extract_zip(ws.root / "nope.zip", ws.dest)


def test_truncated_file(ws: Workspace) -> None:
    buf = zip_bytes([("a.bin", os.urandom(20_000)), ("b.bin", os.urandom(20_000))])
    for cut in (len(buf) // 2, len(buf) - 10, 10):
        ws.expect_failure(buf[:cut], CorruptArchive, "ZIP directory cannot be read|past the end|truncated")


def test_truncated_data_with_intact_directory(ws: Workspace) -> None:
    buf = zip_bytes([("a.bin", os.urandom(20_000))])
    patch_member(buf, 0, csize=10_000)  # the deflate stream now ends half way
    ws.expect_failure(buf, CorruptArchive, "truncated")


def test_bad_crc(ws: Workspace) -> None:
    buf = zip_bytes([("first.txt", b"fine"), ("second.txt", b"hello world" * 100)])
    patch_member(buf, 1, crc=0xDEADBEEF)
    inspect_zip(ws.write(buf))  # directory-level checks cannot see it
    ws.expect_failure(buf, CorruptArchive, "CRC")


def test_bad_crc_stored(ws: Workspace) -> None:
    buf = zip_bytes([("a.txt", b"hello")], zipfile.ZIP_STORED)
    patch_member(buf, 0, crc=0)
    ws.expect_failure(buf, CorruptArchive, "CRC")


def test_damaged_deflate_stream(ws: Workspace) -> None:
    buf = zip_bytes([("a.txt", b"hello world " * 1000)])
    start = 30 + len("a.txt")
    buf[start : start + 8] = b"\xff" * 8
    ws.expect_failure(buf, CorruptArchive, "damaged|CRC|truncated")


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
@pytest.mark.parametrize("fix_crc", [False, True])
def test_header_understates_size(ws: Workspace, method: int, fix_crc: bool) -> None:
    data = os.urandom(1000) + bytes(5000)
    buf = zip_bytes([("a.bin", data)], method)
    patch_member(buf, 0, usize=100)
    if fix_crc:  # the crc of the first 100 bytes: zipfile alone would silently truncate
        patch_member(buf, 0, crc=zlib.crc32(data[:100]))
    error = ws.expect_failure(buf, CorruptArchive, "more data than the 100 bytes")
    assert error.member == "a.bin"


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_header_overstates_size(ws: Workspace, method: int) -> None:
    buf = zip_bytes([("a.bin", os.urandom(1000))], method)
    patch_member(buf, 0, usize=5000)
    ws.expect_failure(buf, CorruptArchive, "holds 1,000 bytes but its header declares 5,000")


def test_local_header_name_mismatch(ws: Workspace) -> None:
    buf = zip_bytes([("a.txt", b"x")])
    buf[30:35] = b"b.txt"
    ws.expect_failure(buf, CorruptArchive, "different name")


def test_encrypted_member(ws: Workspace) -> None:
    buf = patch_member(zip_bytes([("a.txt", b"x")]), 0, flags=0x1)
    error = ws.expect_failure(buf, UnsupportedArchive, "encrypted")
    assert error.code == "unsupported_archive"


def test_unknown_compression(ws: Workspace) -> None:
    buf = patch_member(zip_bytes([("a.txt", b"x")]), 0, method=99)
    ws.expect_failure(buf, UnsupportedArchive, "compression method 99")


# --------------------------------------------------------------------------------------------------
# Normal archives
# --------------------------------------------------------------------------------------------------


def test_single_top_folder_is_flattened(ws: Workspace) -> None:
    ws.write(
        zip_bytes(
            [
                ("12345/", b""),
                ("12345/lc.txt", b"time flux"),
                ("12345/images/", b""),
                ("12345/images/a.fits", b"SIMPLE  = T"),
                ("12345/empty/", b""),
            ]
        )
    )
    plan = inspect_zip(ws.archive)
    assert plan.stripped_prefix == "12345"
    assert plan.files == ["images/a.fits", "lc.txt"]
    assert extract_zip(ws.archive, ws.dest) == ["images/a.fits", "lc.txt"]
    assert (ws.dest / "lc.txt").read_bytes() == b"time flux"
    assert (ws.dest / "images" / "a.fits").read_bytes() == b"SIMPLE  = T"
    assert (ws.dest / "empty").is_dir()
    assert not (ws.dest / "old.txt").exists()  # replaced, not merged
    assert not (ws.dest / "12345").exists()
    assert temp_leftovers(ws.root) == []


def test_single_top_folder_without_directory_entry(ws: Workspace) -> None:
    ws.write(zip_bytes([("tag/a.txt", b"a"), ("tag/sub/b.txt", b"b")]))
    assert extract_zip(ws.archive, ws.dest) == ["a.txt", "sub/b.txt"]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([("a/x.txt", b"1"), ("b/y.txt", b"2")], ["a/x.txt", "b/y.txt"]),
        ([("tag/x.txt", b"1"), ("readme.txt", b"2")], ["readme.txt", "tag/x.txt"]),
        ([("only.txt", b"1")], ["only.txt"]),
    ],
)
def test_no_single_top_folder_is_kept(ws: Workspace, entries: list[Entry], expected: list[str]) -> None:
    ws.write(zip_bytes(entries))
    assert inspect_zip(ws.archive).stripped_prefix is None
    assert extract_zip(ws.archive, ws.dest) == expected


def test_flatten_can_be_disabled(ws: Workspace) -> None:
    ws.write(zip_bytes([("tag/a.txt", b"a")]))
    assert extract_zip(ws.archive, ws.dest, flatten_single_top_folder=False) == ["tag/a.txt"]


def test_harmless_name_forms_are_normalised(ws: Workspace) -> None:
    ws.write(zip_bytes([("./", b""), ("./a.txt", b"a"), ("b//c.txt", b"c"), ("d/./e.txt", b"e")]))
    assert extract_zip(ws.archive, ws.dest) == ["a.txt", "b/c.txt", "d/e.txt"]


def test_unicode_and_spaces(ws: Workspace) -> None:
    ws.write(zip_bytes([("TOI 1234.01/Ω photometry 2021-01-01T00:00:00.txt", b"x")]))
    assert extract_zip(ws.archive, ws.dest) == ["Ω photometry 2021-01-01T00:00:00.txt"]


def test_empty_archive(ws: Workspace) -> None:
    ws.write(zip_bytes([]))
    assert sniff_body(ws.archive.read_bytes()) == "zip"
    assert extract_zip(ws.archive, ws.dest) == []
    assert ws.dest.is_dir() and list(ws.dest.iterdir()) == []


def test_new_destination_and_parents_created(ws: Workspace) -> None:
    ws.write(zip_bytes([("a.txt", b"a")]))
    target = ws.root / "new" / "deeper" / "tag"
    assert extract_zip(ws.archive, target) == ["a.txt"]
    assert (target / "a.txt").read_bytes() == b"a"


@pytest.mark.parametrize("exchange", [True, False])
def test_reextract_replaces_existing(ws: Workspace, monkeypatch: pytest.MonkeyPatch, exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(archive_extraction, "_exchange", lambda a, b: False)
    (ws.dest / "sub").mkdir()
    (ws.dest / "sub" / "stale.txt").write_bytes(b"stale")
    ws.write(zip_bytes([("t/new.txt", b"new")]))
    assert extract_zip(ws.archive, ws.dest) == ["new.txt"]
    assert tree(ws.dest) == {"new.txt": b"new"}
    ws.write(zip_bytes([("t/newer.txt", b"newer")]))
    assert extract_zip(ws.archive, ws.dest) == ["newer.txt"]
    assert tree(ws.dest) == {"newer.txt": b"newer"}
    assert temp_leftovers(ws.root) == []
    assert (ws.root / "data" / "sibling.txt").read_bytes() == b"unrelated"


def test_failed_swap_restores_old(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_extraction, "_exchange", lambda a, b: False)
    real_rename = os.rename
    calls = {"n": 0}

    def flaky_rename(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # moving the new tree into place
            raise OSError(errno.EIO, "Input/output error")
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", flaky_rename)
    ws.expect_failure(zip_bytes([("a.txt", b"a")]), ExtractionIOError, "cannot move the extracted files")


def test_disk_full_during_extraction(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    error = ws.expect_failure(zip_bytes([("a.txt", b"a")]), ExtractionIOError, "No space left")
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert "Free some disk space" in str(error)


def test_destination_that_is_not_a_directory(ws: Workspace) -> None:
    ws.write(zip_bytes([("a.txt", b"a")]))
    a_file = ws.root / "file"
    a_file.write_bytes(b"keep")
    with pytest.raises(ExtractionIOError, match="not a directory"):
        extract_zip(ws.archive, a_file)
    assert a_file.read_bytes() == b"keep"
    link = ws.root / "link"
    link.symlink_to(ws.dest, target_is_directory=True)
    with pytest.raises(ExtractionIOError, match="not a directory"):
        extract_zip(ws.archive, link)
    assert (ws.dest / "old.txt").read_bytes() == b"old tag"
    assert temp_leftovers(ws.root) == []


def test_modes_from_archive_are_ignored(ws: Workspace, umask_022: None) -> None:
    ws.write(
        zip_bytes(
            [
                (info("suid", 0o104777), b"#!/bin/sh\n"),
                (info("dir/", stat.S_IFDIR | 0o777), b""),
                (info("dir/exec", 0o100755), b"x"),
            ]
        )
    )
    extract_zip(ws.archive, ws.dest)
    assert stat.S_IMODE(os.stat(ws.dest / "suid").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(ws.dest / "dir" / "exec").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(ws.dest / "dir").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(ws.dest).st_mode) == 0o755


def test_modification_times_are_restored(ws: Workspace) -> None:
    ws.write(zip_bytes([(info("a.txt"), b"a")]))
    extract_zip(ws.archive, ws.dest)
    expected = time.mktime((2021, 3, 4, 5, 6, 8, 0, 0, -1))
    assert abs(os.stat(ws.dest / "a.txt").st_mtime - expected) < 2


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compression_methods(ws: Workspace, method: int) -> None:
    data = b"flux " * 5000 + os.urandom(3000)
    ws.write(zip_bytes([("a.txt", data), ("b/c.txt", b"")], method))
    assert extract_zip(ws.archive, ws.dest, durable=False) == ["a.txt", "b/c.txt"]
    assert (ws.dest / "a.txt").read_bytes() == data
    assert (ws.dest / "b" / "c.txt").read_bytes() == b""


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bad_crc_other_methods(ws: Workspace, method: int) -> None:
    buf = patch_member(zip_bytes([("a.txt", b"hello" * 100)], method), 0, crc=1)
    ws.expect_failure(buf, CorruptArchive, "CRC|cannot be read")


def test_inspect_writes_nothing(ws: Workspace) -> None:
    ws.write(zip_bytes([("t/a.txt", b"abc"), ("t/b/", b"")]))
    before = tree(ws.root)
    plan = inspect_zip(ws.archive)
    assert tree(ws.root) == before
    assert plan.member_names == ["t/a.txt", "t/b/"]
    assert plan.directories == ["b"]
    assert plan.total_uncompressed == 3
    assert plan.archive_size == ws.archive.stat().st_size


def test_large_member_streams_with_flat_memory(ws: Workspace) -> None:
    size = 32 << 20
    with zipfile.ZipFile(ws.archive, "w", zipfile.ZIP_STORED) as zf, zf.open("t/big.fits", "w") as out:
        block = b"\x01" * (1 << 20)
        for _ in range(size >> 20):
            out.write(block)
    tracemalloc.start()
    try:
        extract_zip(ws.archive, ws.dest, durable=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (ws.dest / "big.fits").stat().st_size == size
    assert peak < 8 << 20, f"peak traced memory {peak} bytes"


# --------------------------------------------------------------------------------------------------
# Property: whatever the names, nothing lands outside the destination
# --------------------------------------------------------------------------------------------------

PARTS = st.sampled_from(["a", "b", "..", ".", "", "C:", "c:x", "\\", "..\\", "/", "é", "A", "e\u0301", " "])
NAMES = st.lists(st.lists(PARTS, min_size=1, max_size=5).map("/".join), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=NAMES)
def test_random_names_never_escape(tmp_path: Path, names: list[str]) -> None:
    root = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    dest = root / "inner" / "dest"
    dest.parent.mkdir(parents=True)
    archive = root / "a.zip"
    entries: list[Entry] = []
    for name in names:
        entries.append((zipfile.ZipInfo(name) if name else zipfile.ZipInfo(""), b"x"))
    try:
        archive.write_bytes(bytes(zip_bytes(entries)))
    except (ValueError, IndexError):
        return  # zipfile refuses to write some of these names itself
    try:
        files = extract_zip(archive, dest, durable=False)
    except ArchiveError:
        assert not dest.exists()
        assert set(tree(root)) == {"a.zip", "inner"}
        return
    assert set(tree(root)) - {"a.zip", "inner"} == {f"inner/dest/{p}" for p in tree(dest)} | {"inner/dest"}
    for rel in files:
        assert (dest / rel).resolve().is_relative_to(dest.resolve())
        assert ".." not in rel.split("/") and "\\" not in rel


# --------------------------------------------------------------------------------------------------
# Crash during extraction
# --------------------------------------------------------------------------------------------------

CHILD = r"""
import sys, time
from pathlib import Path
from exofop_mcp.downloads import archive_extraction

real = archive_extraction._extract_member
done = []

def slow(*args, **kwargs):
    written = real(*args, **kwargs)
    done.append(written)
    if len(done) == 1:
        print("extracting", flush=True)
        time.sleep(60)
    return written

archive_extraction._extract_member = slow
archive_extraction.extract_zip(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_extraction_leaves_old_destination(ws: Workspace) -> None:
    ws.write(zip_bytes([("t/a.txt", b"a"), ("t/b.txt", b"b")]))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ws.archive), str(ws.dest)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"extracting\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert tree(ws.dest) == {"old.txt": b"old tag"}
    leftovers = [p for p in ws.dest.parent.iterdir() if is_temp_name(p.name)]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".partdir")
    assert (leftovers[0] / "a.txt").read_bytes() == b"a"
    assert remove_stale_temp_files(ws.root) == leftovers
    assert temp_leftovers(ws.root) == []
    assert tree(ws.dest) == {"old.txt": b"old tag"}

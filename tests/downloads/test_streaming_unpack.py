"""Unpacking while the archive downloads: used only when it matches the complete archive, else the
usual extraction runs and gives exactly what it gives without streaming."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import logging
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.atomic_files import is_temp_name
from exofop_mcp.downloads import manifest as manifest_module
from exofop_mcp.downloads import written_hashes
from exofop_mcp.downloads.archive_extraction import extract_zip
from exofop_mcp.downloads.archive_limits import ExtractionLimits
from exofop_mcp.downloads.sandbox import DOWNLOAD_KINDS
from exofop_mcp.downloads.streaming_unpack import StreamingUnpacker
from exofop_mcp.errors import ArchiveError
from exofop_mcp.replica import dataset

pytestmark = pytest.mark.anyio

USED = "unpacked while it downloaded"
LCO_ZS = {"kind": "time_series", "telescope": "LCO", "filter": "zs"}


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int] | str]:
    """Every file's content, mode and modification time (s), every folder, by relative path."""
    shot: dict[str, tuple[bytes, int, int] | str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            shot[rel] = "folder"
        else:
            st = path.stat()
            shot[rel] = (path.read_bytes(), st.st_mode, int(st.st_mtime))
    return shot


def temp_dirs(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_temp_name(p.name)]


# -- through download_tags, against the replica ---------------------------------------------------


async def download_twice(settings, tags: list[int]) -> tuple[dict, dict, list[dict]]:
    async with Exofop(settings) as exofop:
        first = await exofop.download_tags("TOI-1130", tags=tags[:1])
        second = await exofop.download_tags("TOI-1130", tags=tags[1:])
    assert first.totals == {"downloaded": 1} and second.totals == {"downloaded": len(tags) - 1}
    system_dir = settings.data_dir / "TOI-1130"
    manifest = json.loads((system_dir / "manifest.json").read_text())
    entries = [manifest["tags"][str(t)] for t in tags]
    for entry in entries:
        entry.pop("time")
        for record in entry["files"]:
            record.pop("mtime_ns")  # the times of writing; the files' own times are compared in the snapshot
    return snapshot(system_dir / "time_series"), {r.tag: r.model_dump() for r in second.results}, entries


async def test_streamed_download_gives_what_the_usual_extraction_gives(warm_settings, caplog):
    caplog.set_level(logging.DEBUG, logger="exofop_mcp.downloads.archive_extraction")
    async with Exofop(warm_settings) as exofop:
        page = await exofop.list_observations("TOI-1130", kind="time_series", limit=3, telescope="LCO", filter="zs")
    tags = page.tags[:3]
    assert len(tags) == 3
    streamed = await download_twice(warm_settings, tags)
    # the first tag made the folder; the others were unpacked beside it while they downloaded
    assert sum(USED in r.getMessage() for r in caplog.records) == 2
    caplog.clear()
    plain_settings = dataclasses.replace(
        warm_settings, data_dir=warm_settings.data_dir.parent / "plain", stream_unpack=False
    )
    plain = await download_twice(plain_settings, tags)
    assert not any(USED in r.getMessage() for r in caplog.records)
    assert streamed[0] == plain[0]
    assert streamed[1] == plain[1]  # the results, file_count included
    assert streamed[2] == plain[2]  # the manifest entries
    assert temp_dirs(warm_settings.data_dir) == [] and temp_dirs(plain_settings.data_dir) == []


def test_the_switch_is_read_from_the_environment():
    from exofop_mcp.settings import Settings

    assert Settings.from_env({"EXOFOP_MCP_STREAM_UNPACK": "0"}).stream_unpack is False
    assert Settings.from_env({}).stream_unpack is True


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("zip_slip", "unsafe_archive"),
        ("absolute_path", "unsafe_archive"),
        ("symlink", "unsafe_archive"),
        ("zip_bomb", "unsafe_archive"),
        ("too_many_entries", "unsafe_archive"),
        ("corrupt", "corrupt"),
    ],
)
async def test_hostile_tags_keep_their_status_and_leave_nothing(warm_settings, caplog, name, status):
    caplog.set_level(logging.DEBUG, logger="exofop_mcp.downloads.archive_extraction")
    system_dir = warm_settings.data_dir / "TOI-209"
    for kind in DOWNLOAD_KINDS:  # folders present, so that the tag is unpacked while it downloads
        (system_dir / kind).mkdir(parents=True, exist_ok=True)
    tag = dataset.SPECIAL_TAGS[name]
    async with Exofop(warm_settings) as exofop:
        report = await exofop.download_tags(f"TIC {dataset.HOSTILE_SYSTEM_TIC}", tags=[tag])
    assert report.results[0].status == status, report.results[0].message
    assert not any(USED in r.getMessage() for r in caplog.records)
    assert not any(system_dir.rglob(f"{tag}/*"))
    assert not any((system_dir / "archives").glob("*"))
    assert temp_dirs(warm_settings.data_dir) == []


async def test_a_cancelled_download_leaves_no_streamed_folder(warm_settings, replica):
    replica.configure(tag_size=4 * 2**20, bandwidth=256 * 1024)
    async with Exofop(warm_settings) as exofop:
        page = await exofop.list_observations("TOI-1130", kind="time_series", limit=2, **{"telescope": "LCO"})
        kind_dir = warm_settings.data_dir / "TOI-1130" / "time_series"
        kind_dir.mkdir(parents=True)
        task = asyncio.create_task(exofop.download_tags("TOI-1130", tags=page.tags[:2]))
        for _ in range(3000):  # until the first member is being written beside the tag's folder
            if any(p.is_file() for d in temp_dirs(kind_dir) for p in d.rglob("*")):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("nothing was unpacked while the archive downloaded")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        exofop.remove_abandoned_files()
    assert temp_dirs(warm_settings.data_dir) == []
    assert list(kind_dir.iterdir()) == []


# -- hand-made archives -------------------------------------------------------------------------


def stream(archive: Path, target: Path, *, chunk: int = 7) -> StreamingUnpacker:
    """An unpacker fed ``archive`` in small pieces, as a download would."""
    unpacker = StreamingUnpacker(target, ExtractionLimits())
    data = archive.read_bytes()
    for start in range(0, len(data), chunk):
        unpacker.feed(data[start : start + chunk])
    unpacker.end()
    return unpacker


def outcome(archive: Path, destination: Path, streamed: StreamingUnpacker | None) -> object:
    try:
        extract_zip(archive, destination, streamed=streamed)
    except ArchiveError as exc:
        return (type(exc).__name__, exc.reason)
    return snapshot(destination)


def gives_up(tmp_path: Path, archive: Path, caplog, reason: str) -> object:
    """The stream gives up naming ``reason``, and extracting without it gives what extract_zip gives."""
    unpacker = stream(archive, tmp_path / "tag")
    assert unpacker.result() is None and reason in (unpacker.reason or "")
    unpacker.close()
    return compare(tmp_path, archive, caplog, used=False)


def compare(tmp_path: Path, archive: Path, caplog, *, used: bool) -> object:
    """Extract with and without streaming; both give the same; return it."""
    caplog.set_level(logging.DEBUG, logger="exofop_mcp.downloads.archive_extraction")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    unpacker = stream(archive, tmp_path / "a" / "tag")
    with_streaming = outcome(archive, tmp_path / "a" / "tag", unpacker)
    assert any(USED in r.getMessage() for r in caplog.records) is used
    without = outcome(archive, tmp_path / "b" / "tag", None)
    assert with_streaming == without
    assert temp_dirs(tmp_path) == []
    return with_streaming


def make_zip(path: Path, members: list[tuple[str, bytes, int]], *, top: str | None = "top") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method in members:
            zf.writestr(f"{top}/{name}" if top else name, data, compress_type=method)
    return path


def local_header_offsets(data: bytes) -> list[int]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [info.header_offset for info in zf.infolist()]


def test_a_plain_archive_is_used_as_streamed(tmp_path, caplog):
    archive = make_zip(
        tmp_path / "t.zip",
        [("a.txt", b"alpha\n" * 1000, zipfile.ZIP_DEFLATED), ("sub/b.bin", os.urandom(5000), zipfile.ZIP_STORED)],
    )
    result = compare(tmp_path, archive, caplog, used=True)
    assert isinstance(result, dict) and set(result) == {"a.txt", "sub", "sub/b.bin"}


def test_a_data_descriptor_falls_back(tmp_path, caplog):
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
            self.data += b
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("top/a.txt", b"described afterwards" * 100)
    archive = tmp_path / "t.zip"
    archive.write_bytes(bytes(sink.data))
    assert struct.unpack_from("<H", sink.data, 6)[0] & 0x8
    gives_up(tmp_path, archive, caplog, "descriptor")


def test_a_local_name_differing_from_the_central_name_is_not_used(tmp_path, caplog):
    archive = make_zip(tmp_path / "t.zip", [("a.txt", b"one", zipfile.ZIP_STORED)], top=None)
    data = bytearray(archive.read_bytes())
    assert data[30:35] == b"a.txt"
    data[30:35] = b"b.txt"  # the local header only
    archive.write_bytes(bytes(data))
    compare(tmp_path, archive, caplog, used=False)


def test_two_local_entries_of_one_name_fall_back(tmp_path, caplog):
    with pytest.warns(UserWarning, match="Duplicate name"):
        make_zip(tmp_path / "t.zip", [("a.txt", b"one", zipfile.ZIP_STORED), ("a.txt", b"two", zipfile.ZIP_STORED)])
    result = compare(tmp_path, tmp_path / "t.zip", caplog, used=False)
    assert result[0] == "UnsafeArchive"  # type: ignore[index]


def test_a_central_directory_pointing_at_the_second_of_two_local_headers(tmp_path, caplog):
    archive = tmp_path / "t.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("top/a.txt", b"the first")
        zf.writestr("top/a.txt", b"the second")
        zf.filelist = [zf.filelist[1]]  # the central directory lists only the second
    assert len(local_header_offsets(archive.read_bytes())) == 1
    result = compare(tmp_path, archive, caplog, used=False)
    assert isinstance(result, dict) and result["a.txt"][0] == b"the second"  # type: ignore[index]


def test_a_deflate_member_inflating_past_its_declared_size_falls_back(tmp_path, caplog):
    content = b"z" * 50_000
    archive = make_zip(tmp_path / "t.zip", [("a.txt", content, zipfile.ZIP_DEFLATED)])
    data = bytearray(archive.read_bytes())
    # declare 1,000 bytes in the local header and the central directory, with the CRC of those
    crc = zlib.crc32(content[:1000])
    struct.pack_into("<L", data, 14, crc)
    struct.pack_into("<L", data, 22, 1000)
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 16, crc)
    struct.pack_into("<L", data, central + 24, 1000)
    archive.write_bytes(bytes(data))
    result = gives_up(tmp_path, archive, caplog, "declared size")
    assert result[0] == "CorruptArchive"  # type: ignore[index]


def test_a_crc_mismatch_in_the_local_data_falls_back(tmp_path, caplog):
    archive = make_zip(tmp_path / "t.zip", [("a.txt", b"0123456789" * 10, zipfile.ZIP_STORED)])
    data = bytearray(archive.read_bytes())
    start = 30 + len("top/a.txt")
    data[start + 5] ^= 0xFF
    archive.write_bytes(bytes(data))
    result = gives_up(tmp_path, archive, caplog, "CRC")
    assert result[0] == "CorruptArchive"  # type: ignore[index]


def test_a_central_size_differing_from_the_streamed_one_is_not_used(tmp_path, caplog):
    archive = make_zip(tmp_path / "t.zip", [("a.txt", b"abc" * 100, zipfile.ZIP_STORED)])
    data = bytearray(archive.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 24, 299)  # the central directory says one byte less
    archive.write_bytes(bytes(data))
    compare(tmp_path, archive, caplog, used=False)


async def test_streamed_files_are_recorded_with_the_digests_taken_as_they_were_written(warm_settings, monkeypatch):
    async with Exofop(warm_settings) as exofop:
        page = await exofop.list_observations("TOI-1130", kind="time_series", limit=3, telescope="LCO", filter="zs")
        tags = page.tags[:3]
        await exofop.download_tags("TOI-1130", tags=tags[:1])  # makes the kind's folder: the others stream
        read_again: list[Path] = []
        real = manifest_module.file_sha256

        def counted(path: Path) -> str:
            read_again.append(path)
            return real(path)

        monkeypatch.setattr(manifest_module, "file_sha256", counted)
        report = await exofop.download_tags("TOI-1130", tags=tags[1:])
    assert report.totals == {"downloaded": 2}
    assert read_again == []  # the record took each digest from the unpacking, not from the disk
    system_dir = warm_settings.data_dir / "TOI-1130"
    entries = json.loads((system_dir / "manifest.json").read_text())["tags"]
    for tag in tags[1:]:
        for record in entries[str(tag)]["files"]:
            assert record["sha256"] == hashlib.sha256((system_dir / record["path"]).read_bytes()).hexdigest()


def test_a_remembered_digest_is_given_once_and_never_for_a_changed_file(tmp_path):
    path = tmp_path / "a.tbl"
    path.write_bytes(b"flux\n1.0\n")
    written_hashes.remember(path, "ab" * 32)
    assert written_hashes.recall(path.stat()) == "ab" * 32
    assert written_hashes.recall(path.stat()) is None  # taken
    written_hashes.remember(path, "cd" * 32)
    os.utime(path, ns=(1, 1))  # any change since (here its times) makes it read again
    assert written_hashes.recall(path.stat()) is None

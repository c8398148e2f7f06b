"""Previews and resources under attack by another local user: swapped links, FIFOs, hard links,
growing files, and tables too large to hold, through the Python API and through an MCP client."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError, FileLimitError, UnsafeFileError
from exofop_mcp.previews import preview_file
from tests.helpers.hostile_sandbox import run_with_memory_cap, sparse_file, swapping
from tests.helpers.preview_files import write_sample_files
from tests.helpers.tool_client import call, text_of

SECRET = "SECRET-OUTSIDE-THE-SANDBOX"
pytestmark = pytest.mark.anyio


@pytest.fixture
def system(tmp_path: Path) -> SystemDirectory:
    return write_sample_files(tmp_path / "data")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "long_notes.txt").write_text(f"{SECRET}\n" * 50)
    (folder / "table.tbl").write_text("BJD_TDB\trel_flux_T1\n" + f"2459000.5\t{SECRET}\n" * 20)
    return folder


def _leaks(system: SystemDirectory, path: str, tries: int) -> tuple[int, int]:
    """Preview ``path`` ``tries`` times; return (previews served, previews showing the outside secret)."""
    served = leaked = 0
    for _ in range(tries):
        try:
            result = preview_file(system, path)
        except ExofopMcpError:
            continue
        served += 1
        leaked += SECRET in result.model_dump_json()
    return served, leaked


@pytest.mark.parametrize("swapped", ["file", "folder"])
def test_a_file_or_folder_swapped_for_a_link_in_a_tight_loop_never_serves_outside_content(
    system: SystemDirectory, outside: Path, swapped: str
) -> None:
    folder = system.path / "imaging" / "900001"
    target = folder / "long_notes.txt" if swapped == "file" else folder
    link_to = outside / "long_notes.txt" if swapped == "file" else outside
    with swapping(target, link_to):
        served, leaked = _leaks(system, "imaging/900001/long_notes.txt", 400)
    assert served > 0, "no preview was served at all"
    assert leaked == 0, f"{leaked} of {served} previews showed a file outside the sandbox"


async def test_a_swapped_file_never_serves_outside_content_through_mcp(
    warm_settings, tmp_path: Path, outside: Path
) -> None:
    from mcp import Client

    from exofop_mcp.mcp_server.server import build_server

    directory = write_sample_files(warm_settings.data_dir)
    target = directory.path / "imaging" / "900001" / "long_notes.txt"
    args = {"system": "TOI-1130", "path": "imaging/900001/long_notes.txt"}
    async with Client(build_server(warm_settings)) as client:
        with swapping(target, outside / "long_notes.txt"):
            for _ in range(100):
                result = await client.call_tool("preview_file", args)
                assert SECRET not in text_of(result) and SECRET not in str(result.structured_content)


def test_a_fifo_or_a_hard_link_is_refused_with_its_code(system: SystemDirectory, outside: Path) -> None:
    folder = system.path / "imaging" / "900001"
    os.mkfifo(folder / "pipe.tbl")
    os.link(outside / "long_notes.txt", folder / "hard.txt")
    started = time.monotonic()
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        preview_file(system, "imaging/900001/pipe.tbl")
    with pytest.raises(UnsafeFileError, match="hard link"):
        preview_file(system, "imaging/900001/hard.txt")
    assert time.monotonic() - started < 5


async def test_fifos_and_hard_links_are_tool_errors_with_a_documented_code(warm_settings, outside: Path) -> None:
    directory = write_sample_files(warm_settings.data_dir)
    folder = directory.path / "imaging" / "900001"
    os.mkfifo(folder / "pipe.tbl")
    os.link(outside / "long_notes.txt", folder / "hard.txt")
    for name in ("pipe.tbl", "hard.txt"):
        result = await call(warm_settings, "preview_file", {"system": "TOI-1130", "path": f"imaging/900001/{name}"})
        assert result.is_error and "[unsafe_file]" in text_of(result), text_of(result)
        assert SECRET not in text_of(result)


def test_a_growing_table_is_read_to_the_size_it_had(system: SystemDirectory) -> None:
    table = system.path / "imaging" / "900001" / "growing.tbl"
    rows = "".join(f"{2459000.5 + i / 1e4:.5f}\t1.0\n" for i in range(2000))
    table.write_text("BJD_TDB\trel_flux_T1\n" + rows)
    stop = threading.Event()
    chunk = ("2459001.00000\t1.0\n" * 10_000).encode()  # 180 kB, about 20 MB/s: faster than a reader parses

    def grow() -> None:
        with table.open("ab") as f:
            deadline = time.monotonic() + 12
            while not stop.is_set() and time.monotonic() < deadline:
                f.write(chunk)
                f.flush()
                time.sleep(0.01)

    writer = threading.Thread(target=grow, daemon=True)
    writer.start()
    try:
        time.sleep(0.2)  # the writer is appending
        result = preview_file(system, "imaging/900001/growing.tbl")
    finally:
        stop.set()
        writer.join()
    assert result.table is not None
    # rows past the size the file had when opened (size_bytes) were not read, though the writer went on
    assert result.table.rows * len("2459001.00000\t1.0\n") <= result.size_bytes
    assert table.stat().st_size > result.size_bytes


_PREVIEW_UNDER_CAP = """
import json, sys
from pathlib import Path
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.previews import preview_file
system = SystemDirectory(Path(sys.argv[1]), "TOI-1130")
out = {}
for name in sys.argv[2:]:
    try:
        preview_file(system, "imaging/900001/" + name)
        out[name] = "served"
    except ExofopMcpError as exc:
        out[name] = f"[{exc.code}] {exc}"
    except MemoryError:
        out[name] = "MemoryError"
print(json.dumps(out))
"""


def test_a_two_gigabyte_line_or_two_million_columns_are_refused_under_a_memory_cap(system: SystemDirectory) -> None:
    folder = system.path / "imaging" / "900001"
    sparse_file(folder / "one_line.tbl", b"BJD_TDB\trel_flux_T1\n2459000.5\t", 2 << 30)
    (folder / "wide.csv").write_bytes(b",".join(b"c%d" % i for i in range(2_000_000)) + b"\n1,2\n")
    sparse_file(folder / "huge.ecsv", b"# %ECSV 1.0\n", 2 << 30)
    names = ["one_line.tbl", "wide.csv", "huge.ecsv"]
    run = run_with_memory_cap(
        _PREVIEW_UNDER_CAP.replace("sys.argv[1]", repr(str(system.root))).replace("sys.argv[2:]", repr(names)),
        1 << 30,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    answers = json.loads(run.stdout.strip().splitlines()[-1])
    assert answers["one_line.tbl"].startswith("[over_limit]") and "longer than" in answers["one_line.tbl"]
    assert answers["wide.csv"].startswith("[over_limit]")
    assert answers["huge.ecsv"].startswith("[over_limit]")


def test_a_table_too_wide_is_refused_naming_the_cap(system: SystemDirectory) -> None:
    folder = system.path / "imaging" / "900001"
    (folder / "wide.tsv").write_bytes(b"\t".join(b"c%d" % i for i in range(20_000)) + b"\n")
    with pytest.raises(FileLimitError, match="columns"):
        preview_file(system, "imaging/900001/wide.tsv")


async def test_a_resource_read_refuses_a_swapped_link_and_a_fifo(warm_settings, outside: Path) -> None:
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    from exofop_mcp.mcp_server.server import build_server

    directory = write_sample_files(warm_settings.data_dir)
    folder = directory.path / "imaging" / "900001"
    os.mkfifo(folder / "pipe.txt")
    async with Client(build_server(warm_settings)) as client:
        with pytest.raises(MCPError, match="not a regular file"):
            await client.read_resource("exofop://TOI-1130/imaging/900001/pipe.txt")
        with swapping(folder / "long_notes.txt", outside / "long_notes.txt"):
            for _ in range(40):
                try:
                    answer = await client.read_resource("exofop://TOI-1130/imaging/900001/long_notes.txt")
                except MCPError:
                    continue
                assert SECRET not in str(answer)

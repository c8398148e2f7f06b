"""Light-curve extraction under attack by another local user of the sandbox: folders linked outside
after a download, an edited manifest, FIFOs, hard links, a source swapped for a link in a loop, tables
too large to hold, and a read-only sandbox; through the Python API and through an MCP client."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.manifest import load_manifest
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.lightcurves.reports import ExtractionReport
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.hostile_sandbox import read_only, record_size, run_with_memory_cap, sparse_file, swapping
from tests.helpers.light_curves import SYSTEM, copy_sandbox, downloaded_sandbox
from tests.helpers.tool_client import call, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox(replica_session: Replica, warm_catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = downloaded_sandbox(replica_session, tmp_path_factory.mktemp("hostile"), warm_catalog_file)
    extract(settings)
    return settings


@pytest.fixture
def copied(sandbox: Settings, warm_catalog_file: Path, tmp_path: Path) -> Settings:
    return copy_sandbox(sandbox, tmp_path, warm_catalog_file)


def extract(settings: Settings, **options: object) -> ExtractionReport:
    async def run() -> ExtractionReport:
        async with Exofop(settings) as exofop:
            return await exofop.extract_light_curves(SYSTEM, **options)

    return asyncio.run(run())


def a_source(settings: Settings) -> tuple[SystemDirectory, str, int]:
    """The system directory, a measurement table that gives a light curve, and its tag."""
    directory = SystemDirectory(settings.data_dir, SYSTEM)
    manifest = load_manifest(directory)
    assert manifest is not None and manifest.products
    source = next(key for key in manifest.products if key.endswith("_data.txt"))
    return directory, source, manifest.products[source].tag


def outside_of(settings: Settings) -> Path:
    folder = settings.data_dir.parent / "outside"
    folder.mkdir(exist_ok=True)
    return folder


def everything_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


# -- writes through links ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["light_curves", "tag folder"])
def test_a_light_curve_folder_linked_outside_after_a_download_is_refused_naming_it(copied: Settings, level: str):
    directory, _, tag = a_source(copied)
    outside = outside_of(copied)
    linked = directory.light_curves_dir if level == "light_curves" else directory.light_curves_dir / str(tag)
    shutil.rmtree(linked)
    os.symlink(outside, linked, target_is_directory=True)
    report = extract(copied, overwrite=True)
    assert everything_in(outside) == [], "light curves were written outside the sandbox"
    refused = [e for e in report.results if e.tag == tag and e.reason == "write_refused"]
    assert refused, [(e.source_file, e.status, e.reason) for e in report.results if e.tag == tag]
    assert all(str(linked) in (e.message or "") for e in refused)
    assert all(e.status == "failed" for e in refused)


async def test_a_tag_folder_linked_outside_is_refused_through_mcp(copied: Settings):
    directory, _, tag = a_source(copied)
    outside = outside_of(copied)
    linked = directory.light_curves_dir / str(tag)
    shutil.rmtree(linked)
    os.symlink(outside, linked, target_is_directory=True)
    result = await call(
        copied, "extract_light_curves", {"system": SYSTEM, "tags": [tag], "overwrite": True, "wait_seconds": 60}
    )
    assert not result.is_error, text_of(result)
    assert everything_in(outside) == []
    reasons = {e["reason"] for e in result.structured_content["results"] if e.get("reason")}
    assert "write_refused" in reasons, text_of(result)


# -- paths read back from the manifest ---------------------------------------------------------------


def test_an_edited_manifest_cannot_make_extraction_remove_or_read_files_outside(copied: Settings):
    directory, source, tag = a_source(copied)
    victim = copied.data_dir.parent / "victim.txt"
    victim.write_text("not yours to delete")
    secret = copied.data_dir.parent / "secret_data.txt"
    shutil.copy(directory.path / source, secret)  # a table that would give a light curve
    data = json.loads(directory.manifest_path.read_text())
    product = dict(data["products"][source])
    product["source"] = f"time_series/{tag}/gone_data.txt"
    product["files"] = [
        {"path": "../../victim.txt", "size": victim.stat().st_size},
        {"path": "light_curves/../../../victim.txt", "size": victim.stat().st_size},
        {"path": str(victim), "size": victim.stat().st_size},
    ]
    data["products"][product["source"]] = product  # a file gone from the tag: its "light curves" would go
    data["tags"][str(tag)]["files"].append({"path": "../../secret_data.txt", "size": secret.stat().st_size})
    directory.manifest_path.write_text(json.dumps(data))
    report = extract(copied)
    assert victim.read_text() == "not yours to delete"
    assert not any("secret_data" in e.source_file and e.status == "extracted" for e in report.results)
    for ecsv in directory.light_curves_dir.rglob("*.ecsv"):
        assert "secret_data" not in ecsv.read_text()


# -- special files ---------------------------------------------------------------------------------


def _release(fifo: Path) -> None:
    """Give EOF to a reader blocked on ``fifo`` (the code before the sandbox discipline blocked there)."""
    with contextlib.suppress(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


async def test_a_fifo_instead_of_the_observation_table_does_not_block_extraction(copied: Settings):
    directory, _, tag = a_source(copied)
    table = directory.table_path("time_series")
    table.unlink()
    os.mkfifo(table)
    unblock = threading.Timer(30, _release, [table])  # a reader blocked on the FIFO would hang the test
    unblock.start()
    try:
        result = await call(
            copied, "extract_light_curves", {"system": SYSTEM, "tags": [tag], "overwrite": True, "wait_seconds": 20}
        )
    finally:
        unblock.cancel()
        _release(table)
    assert not result.is_error, text_of(result)
    assert result.structured_content["state"] == "completed", text_of(result)
    assert result.structured_content["light_curves"] >= 1


def _other_source(directory: SystemDirectory, source: str) -> str:
    """Another downloaded file (not in a zip) that gave a light curve."""
    manifest = load_manifest(directory)
    assert manifest is not None and manifest.products
    return next(
        key
        for key, product in manifest.products.items()
        if key != source and "!" not in key and any(e.get("ecsv") for e in product.entries)
    )


def test_a_fifo_or_a_hard_link_where_a_table_should_be_is_refused(copied: Settings):
    directory, source, _ = a_source(copied)
    path = directory.path / source
    os.unlink(path)
    os.mkfifo(path)
    record_size(directory, source, 0)  # the size a FIFO shows, so the tag counts as downloaded
    other = _other_source(directory, source)
    outside_copy = outside_of(copied) / "copy.txt"
    shutil.copy(directory.path / other, outside_copy)
    os.unlink(directory.path / other)
    os.link(outside_copy, directory.path / other)

    async def run() -> ExtractionReport:
        async with Exofop(copied) as exofop:
            from exofop_mcp.lightcurves.reports import ExtractLightCurvesRequest

            job = await exofop.start_extraction(ExtractLightCurvesRequest(system=SYSTEM, overwrite=True))
            await exofop.light_curves.wait(job, 15)
            return job.report()

    unblock = threading.Timer(20, _release, [path])  # a reader blocked on the FIFO would hang the test
    unblock.start()
    try:
        report = asyncio.run(run())
    finally:
        unblock.cancel()
        _release(path)
    assert report.state == "completed", report.message
    by_source = {e.source_file: e for e in report.results}
    assert (by_source[source].status, by_source[source].reason) == ("failed", "not_a_regular_file")
    assert (by_source[other].status, by_source[other].reason) == ("failed", "hard_link")
    assert "hard link" in (by_source[other].message or "")


# -- a source swapped for a link while it is read -------------------------------------------------


@pytest.mark.parametrize("swapped", ["file", "tag folder"])
def test_a_source_swapped_for_a_link_in_a_tight_loop_never_gives_outside_content(copied: Settings, swapped: str):
    directory, source, tag = a_source(copied)
    path = directory.path / source
    inside = path.read_bytes()
    outside = outside_of(copied) / str(tag) / path.name
    outside.parent.mkdir()
    outside.write_bytes(inside.replace(b"rel_flux_err", b"REL_FLUX_ERR"))  # same size, other bytes
    assert len(outside.read_bytes()) == len(inside)
    bad = hashlib.sha256(outside.read_bytes()).hexdigest()
    seen: set[str] = set()
    with swapping(path, outside) if swapped == "file" else swapping(path.parent, outside.parent):
        for _ in range(30):
            report = extract(copied, tags=[tag], overwrite=True, plots=False)
            for entry in report.results:
                if entry.source_file == source and entry.ecsv:
                    header = (directory.path / entry.ecsv).read_text().split("\n# schema", 1)[0]
                    seen.add(header)
                    assert bad not in header, "a light curve was made from a file outside the sandbox"
    if swapped == "file":  # a swapped folder often hides the whole tag; the test below reads it 800 times
        assert seen, "no extraction got through at all"


@pytest.mark.parametrize("swapped", ["file", "tag folder"])
def test_many_reads_of_a_source_swapped_for_a_link_never_give_outside_content(copied: Settings, swapped: str):
    """The same attack, 800 times at the level of one tag's extraction (no job, no plots): the code that
    checked the path and then read it made a light curve of the outside file about once in 150 reads."""
    from exofop_mcp.lightcurves.extraction import SystemContext, extract_tag
    from exofop_mcp.lightcurves.time_systems import Target

    directory, source, tag = a_source(copied)
    path = directory.path / source
    inside = path.read_bytes()
    outside = outside_of(copied) / str(tag) / path.name
    outside.parent.mkdir()
    outside.write_bytes(inside.replace(b"rel_flux_err", b"REL_FLUX_ERR"))
    bad = hashlib.sha256(outside.read_bytes()).hexdigest()
    manifest = load_manifest(directory)
    assert manifest is not None
    ctx = SystemContext(directory, 403224672, 141, Target(333.65, -50.48), plots=False)
    made = 0
    with swapping(path, outside) if swapped == "file" else swapping(path.parent, outside.parent):
        for _ in range(800):
            outcome = extract_tag(ctx, manifest, tag, overwrite=True)
            product = outcome.products.get(source)
            if product is not None:
                made += 1
                assert product.source_sha256 != bad, "a light curve was made from a file outside the sandbox"
    assert made, "no extraction got through at all"


# -- memory bounded by design ----------------------------------------------------------------------


_EXTRACT_UNDER_CAP = """
import asyncio, json
from pathlib import Path
from exofop_mcp.api import Exofop
from tests.helpers.environment import make_settings
from tests.helpers.light_curves import warm_copy

settings = make_settings(BASE_URL, Path(ROOT))
warm_copy(settings, Path(CATALOG))

async def main():
    async with Exofop(settings) as exofop:
        return await exofop.extract_light_curves("TOI-141", tags=[TAG], overwrite=True, plots=False)

try:
    report = asyncio.run(main())
    print(json.dumps({e.source_file: [e.status, e.reason, e.message] for e in report.results}))
except MemoryError:
    print(json.dumps({"MemoryError": True}))
"""


def test_a_two_gigabyte_line_or_two_million_columns_are_refused_under_a_memory_cap(
    copied: Settings, warm_catalog_file: Path
):
    directory, source, tag = a_source(copied)
    wide_source = _other_source(directory, source)
    wide_tag = load_manifest(directory).products[wide_source].tag  # type: ignore[union-attr]
    huge = directory.path / source
    huge.unlink()
    sparse_file(huge, b"BJD_TDB\trel_flux_T1\n2459000.5\t", 2 << 30)
    record_size(directory, source, 2 << 30)
    wide = directory.path / wide_source
    wide.write_bytes(b"\t".join(b"c%d" % i for i in range(2_000_000)) + b"\n")
    record_size(directory, wide_source, wide.stat().st_size)
    code = (
        _EXTRACT_UNDER_CAP.replace("BASE_URL", repr(copied.base_url))
        .replace("ROOT", repr(str(copied.data_dir.parent)))
        .replace("CATALOG", repr(str(warm_catalog_file)))
        .replace("[TAG]", str(sorted({tag, wide_tag})))
    )
    run = run_with_memory_cap(code, 3 << 29)
    assert run.returncode == 0, run.stderr[-3000:]
    answers = json.loads(run.stdout.strip().splitlines()[-1])
    assert "MemoryError" not in answers
    assert answers[source][:2] == ["failed", "over_limit"], answers[source]
    assert answers[wide_source][:2] == ["failed", "over_limit"], answers[wide_source]


# -- a read-only sandbox ---------------------------------------------------------------------------


def test_a_read_only_sandbox_is_a_named_write_failure_not_a_read_failure(copied: Settings):
    directory, _, tag = a_source(copied)
    with read_only(copied.data_dir):
        report = extract(copied, tags=[tag], overwrite=True)
    failed = [e for e in report.results if e.status == "failed"]
    assert failed and all(e.reason == "write_failed" for e in failed), [(e.reason, e.message) for e in failed]
    assert all(str(directory.light_curves_dir) in (e.message or "") for e in failed)
    assert not any("could not be read" in (e.message or "") for e in failed)
    # nothing could be recorded either: the job says which file it could not open, and why
    assert report.state == "failed" and ".lock" in report.message, report.message
    assert "Read-only file system" in report.message or "Permission denied" in report.message, report.message


async def test_an_edited_manifest_and_a_read_only_sandbox_through_mcp(copied: Settings):
    directory, source, tag = a_source(copied)
    victim = copied.data_dir.parent / "victim.txt"
    victim.write_text("not yours to delete")
    data = json.loads(directory.manifest_path.read_text())
    product = dict(data["products"][source])
    product["source"] = f"time_series/{tag}/gone_data.txt"
    product["files"] = [{"path": "../../victim.txt", "size": victim.stat().st_size}]
    data["products"][product["source"]] = product
    directory.manifest_path.write_text(json.dumps(data))
    args = {"system": SYSTEM, "tags": [tag], "wait_seconds": 60}
    result = await call(copied, "extract_light_curves", args)
    assert not result.is_error, text_of(result)
    assert victim.read_text() == "not yours to delete"
    with read_only(copied.data_dir):
        result = await call(copied, "extract_light_curves", {**args, "overwrite": True})
    text = text_of(result)
    reasons = {e.get("reason") for e in result.structured_content["results"]}
    assert "write_failed" in reasons and "read_error" not in reasons, text
    assert "Read-only file system" in text or "Permission denied" in text, text


@pytest.mark.parametrize("manifest", ["read before the move", "never read"])
async def test_a_system_folder_moved_outside_and_linked_back_is_refused_and_left_alone(copied: Settings, manifest: str):
    directory = SystemDirectory(copied.data_dir, SYSTEM)
    if manifest == "read before the move":
        a_source(copied)
    outside = outside_of(copied) / SYSTEM
    shutil.move(directory.path, outside)
    os.symlink(outside, directory.path, target_is_directory=True)
    before = {p: p.stat().st_mtime_ns for p in outside.rglob("*") if not p.is_symlink()}
    result = await call(copied, "extract_light_curves", {"system": SYSTEM, "overwrite": True, "wait_seconds": 60})
    if manifest == "read before the move":  # the manifest is known: each file is refused instead
        reasons = {e["reason"] for e in result.structured_content["results"]}
        assert reasons == {"outside_sandbox"}, text_of(result)
    else:
        assert "[outside_sandbox]" in text_of(result), text_of(result)
    after = {p: p.stat().st_mtime_ns for p in outside.rglob("*") if not p.is_symlink()}
    assert after == before, "files outside the sandbox were written, moved or removed"

"""Extraction against what the replica generated: every kind of file of TOI-141's time-series tags.

One sandbox is downloaded and extracted once for the module; tests that change it work on a copy.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.manifest import load_manifest, save_manifest
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.lightcurves.reports import ExtractionReport, LightCurveEntry
from exofop_mcp.replica import Replica
from exofop_mcp.replica.light_curve_files import KINDS, Expected
from exofop_mcp.settings import Settings
from tests.helpers.environment import server_env
from tests.helpers.light_curves import SYSTEM, copy_sandbox, downloaded_sandbox, expected_by_tag

TOLERANCE_SECONDS = 0.1


@pytest.fixture(scope="module")
def sandbox(replica_session: Replica, warm_catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return downloaded_sandbox(replica_session, tmp_path_factory.mktemp("lc"), warm_catalog_file)


def extract(settings: Settings, **options: object) -> ExtractionReport:
    async def run() -> ExtractionReport:
        async with Exofop(settings) as exofop:
            return await exofop.extract_light_curves(SYSTEM, **options)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def first_run(sandbox: Settings) -> ExtractionReport:
    return extract(sandbox)


@pytest.fixture(scope="module")
def expected(replica_session: Replica, first_run: ExtractionReport) -> dict[int, list[Expected]]:
    return expected_by_tag(replica_session)


def _entry(report: ExtractionReport, tag: int, want: Expected) -> LightCurveEntry:
    suffix = f"/{tag}/{want.member}"
    found = [e for e in report.results if e.tag == tag and e.source_file.endswith(suffix)]
    assert len(found) == 1, (suffix, [e.source_file for e in report.results if e.tag == tag])
    return found[0]


def _cases(expected: dict[int, list[Expected]]) -> Iterator[tuple[int, Expected]]:
    for tag, wants in expected.items():
        for want in wants:
            yield tag, want


def test_every_kind_of_file_is_in_the_replica(expected: dict[int, list[Expected]]) -> None:
    assert len(expected) >= len(KINDS)
    statuses = {want.reason or want.status for _, want in _cases(expected)}
    assert {"extracted", "excel_binary", "no_time_column", "empty_file", "not_a_table"} <= statuses


def test_each_file_gives_what_the_replica_generated(
    first_run: ExtractionReport, expected: dict[int, list[Expected]], sandbox: Settings
) -> None:
    directory = SystemDirectory(sandbox.data_dir, SYSTEM)
    checked = 0
    for tag, want in _cases(expected):
        entry = _entry(first_run, tag, want)
        assert entry.status == want.status, (want.member, entry)
        assert entry.reason == want.reason, (want.member, entry)
        if want.status != "extracted":
            assert entry.message and entry.ecsv is None
            continue
        assert entry.rows == want.rows, want.member
        assert entry.flux_source and entry.flux_source.startswith(want.flux_column or ""), (want.member, entry)
        assert entry.time_source and entry.time_source.startswith(want.time_column or ""), (want.member, entry)
        assert entry.filter == want.filter, want.member
        assert entry.cadence_seconds == pytest.approx(want.cadence_seconds, rel=0.01), want.member
        if want.warning:
            assert any(want.warning in w for w in entry.warnings), (want.member, entry.warnings)
        assert entry.ecsv is not None and entry.png is not None
        table = Table.read(directory.path / entry.ecsv, format="ascii.ecsv")
        times = table["bjd_tdb"]
        assert isinstance(times, Time) and times.scale == "tdb"
        truth = np.array(want.bjd_tdb)
        got = np.asarray(times.jd)
        nearest = truth[np.abs(truth[None, :] - got[:, None]).argmin(axis=1)]
        assert np.abs(got - nearest).max() * 86400 < TOLERANCE_SECONDS, want.member
        if entry.rows == truth.size:
            assert np.abs(got - truth).max() * 86400 < TOLERANCE_SECONDS, want.member
        assert len(table) == entry.rows
        assert {"bjd_tdb", "flux", "flux_err"} <= set(table.colnames)
        assert float(np.nanmedian(table["flux"])) == pytest.approx(1.0, abs=0.02)
        for key in (
            "tag",
            "tic_id",
            "toi",
            "filter",
            "observatory",
            "obs_date",
            "source_file",
            "source_sha256",
            "time_source",
            "flux_source",
        ):
            assert key in table.meta, (key, want.member)
        assert table.meta["tag"] == tag and table.meta["tic_id"] == 403224672
        assert (directory.path / entry.png).read_bytes().startswith(b"\x89PNG")
        checked += 1
    assert checked >= 14


def test_detrending_columns_and_units_survive(first_run: ExtractionReport, sandbox: Settings) -> None:
    directory = SystemDirectory(sandbox.data_dir, SYSTEM)
    aij = next(
        e for e in first_run.results if e.flux_source == "rel_flux_T1_dn" and "JD_UTC" not in (e.time_source or "")
    )
    table = Table.read(directory.path / aij.ecsv, format="ascii.ecsv")  # type: ignore[operator]
    assert {"airmass", "fwhm", "sky", "x", "y", "exptime", "jd_utc"} <= set(table.colnames)
    assert str(table["jd_utc"].unit) == "d" and str(table["exptime"].unit) == "s"
    # JD_UTC and BJD_TDB of a row differ by TDB-UTC plus the light-travel time: tens to hundreds of seconds.
    difference = (np.asarray(table["bjd_tdb"].jd) - np.asarray(table["jd_utc"])) * 86400
    assert 60 - 500 < float(np.median(difference)) < 70 + 500


def test_report_totals_and_sidecars(first_run: ExtractionReport, expected: dict[int, list[Expected]]) -> None:
    wanted = [want for _, want in _cases(expected)]
    assert first_run.state == "completed"
    assert first_run.totals.get("extracted") == sum(1 for w in wanted if w.status == "extracted")
    assert first_run.totals.get("failed") == sum(1 for w in wanted if w.status == "failed")
    assert first_run.light_curves == first_run.totals["extracted"]
    assert first_run.sidecars >= 7 * len(expected)  # plots, notes, FITS, plot configs, apertures, NEB tables
    assert sorted(first_run.tags) == sorted(expected)


def test_repeat_rewrites_nothing_and_overwrite_redoes(
    sandbox: Settings, first_run: ExtractionReport, warm_catalog_file: Path, tmp_path: Path
) -> None:
    settings = copy_sandbox(sandbox, tmp_path, warm_catalog_file)
    light_curves = settings.data_dir / SYSTEM / "light_curves"
    manifest = settings.data_dir / SYSTEM / "manifest.json"
    before = {p: p.stat().st_mtime_ns for p in [*light_curves.rglob("*"), manifest]}
    again = extract(settings)
    assert again.totals.get("already_extracted") == first_run.totals["extracted"]
    assert "extracted" not in again.totals
    assert again.totals.get("failed") == first_run.totals.get("failed")
    assert {p: p.stat().st_mtime_ns for p in [*light_curves.rglob("*"), manifest]} == before
    assert [e.ecsv for e in again.results] == [e.ecsv for e in first_run.results]
    redone = extract(settings, overwrite=True)
    assert redone.totals.get("extracted") == first_run.totals["extracted"]


REPEAT_CHILD = """
import asyncio, json, sys
from exofop_mcp.api import Exofop

async def main():
    async with Exofop() as exofop:
        report = await exofop.extract_light_curves(sys.argv[1])
    heavy = sorted(m for m in ("numpy", "erfa", "astropy", "matplotlib") if m in sys.modules)
    print(json.dumps({"totals": report.totals, "heavy": heavy}))

asyncio.run(main())
"""


def test_a_repeat_in_a_fresh_process_reads_only_the_records(
    sandbox: Settings, first_run: ExtractionReport, warm_catalog_file: Path, tmp_path: Path
) -> None:
    """Nothing changed: the answer comes from the manifest, without numpy, ERFA or matplotlib."""
    settings = copy_sandbox(sandbox, tmp_path, warm_catalog_file)
    done = subprocess.run(
        [sys.executable, "-c", REPEAT_CHILD, SYSTEM],
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["totals"].get("already_extracted") == first_run.totals["extracted"]
    assert "extracted" not in answer["totals"]
    assert answer["heavy"] == []


def test_a_changed_source_is_extracted_again(
    sandbox: Settings, first_run: ExtractionReport, warm_catalog_file: Path, tmp_path: Path
) -> None:
    settings = copy_sandbox(sandbox, tmp_path, warm_catalog_file)
    directory = SystemDirectory(settings.data_dir, SYSTEM)
    manifest = load_manifest(directory)
    assert manifest is not None and manifest.products
    source = next(key for key, product in manifest.products.items() if key.endswith("_data.txt"))
    path = directory.path / source
    path.write_bytes(path.read_bytes().replace(b"rel_flux_err", b"REL_FLUX_ERR"))  # same size, other bytes
    report = extract(settings)
    changed = [e for e in report.results if e.source_file == source]
    assert [e.status for e in changed] == ["extracted"]
    assert report.totals["extracted"] == 1
    recorded = load_manifest(directory)
    assert recorded is not None and recorded.products
    assert recorded.products[source].source_size == path.stat().st_size


def test_light_curves_of_a_file_gone_from_the_tag_are_removed(
    sandbox: Settings, first_run: ExtractionReport, warm_catalog_file: Path, tmp_path: Path
) -> None:
    settings = copy_sandbox(sandbox, tmp_path, warm_catalog_file)
    directory = SystemDirectory(settings.data_dir, SYSTEM)
    manifest = load_manifest(directory, for_update=True)
    assert manifest is not None and manifest.products
    source = next(key for key in manifest.products if key.endswith("_data.txt"))
    made = [directory.path / f.path for f in manifest.products[source].files]
    assert made and all(p.exists() for p in made)
    tag = manifest.products[source].tag
    entry = manifest.entry(tag)
    assert entry is not None
    entry.files = [f for f in entry.files if f.path != source]  # as if the tag had been downloaded without it
    save_manifest(directory, manifest)
    report = extract(settings)
    assert not any(e.source_file == source for e in report.results)
    assert not any(p.exists() for p in made)
    recorded = load_manifest(directory)
    assert recorded is not None and source not in (recorded.products or {})


def test_a_damaged_download_is_said_so(sandbox: Settings, warm_catalog_file: Path, tmp_path: Path) -> None:
    settings = copy_sandbox(sandbox, tmp_path, warm_catalog_file)
    directory = SystemDirectory(settings.data_dir, SYSTEM)
    victim = next((directory.path / "time_series").glob("*/*_data.txt"))
    victim.write_bytes(victim.read_bytes() + b"\n")
    report = extract(settings)
    tag = int(victim.parent.name)
    assert tag not in report.tags
    assert [(e.status, e.reason) for e in report.results if e.tag == tag] == [("skipped", "incomplete_download")]


def test_tags_not_downloaded_are_said_so(sandbox: Settings, first_run: ExtractionReport) -> None:
    tag = first_run.tags[0]
    report = extract(sandbox, tags=[tag, 18598])
    assert report.tags == [tag]
    missing = [e for e in report.results if e.tag == 18598]
    assert [(e.status, e.reason) for e in missing] == [("skipped", "not_downloaded")]


def test_manifest_records_every_product(sandbox: Settings, first_run: ExtractionReport) -> None:
    directory = SystemDirectory(sandbox.data_dir, SYSTEM)
    manifest = load_manifest(directory)
    assert manifest is not None and manifest.products
    recorded = {f.path for product in manifest.products.values() for f in product.files}
    produced = {e.ecsv for e in first_run.results if e.ecsv} | {e.png for e in first_run.results if e.png}
    assert recorded == produced
    for path in recorded:
        assert (directory.path / path).is_file()
    text = json.dumps([p.model_dump(mode="json") for p in manifest.products.values()])
    assert "Traceback" not in text

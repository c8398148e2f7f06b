"""Every extracted light curve carries a transit fit, checked against the transit the replica generated."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from astropy.table import Table

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.manifest import load_manifest, save_manifest
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.lightcurves.reports import ExtractionReport, LightCurveEntry
from exofop_mcp.mcp_server.summaries import extraction_summary
from exofop_mcp.replica import Replica
from exofop_mcp.replica.light_curve_files import Expected
from exofop_mcp.settings import Settings
from tests.helpers.light_curves import SYSTEM, copy_sandbox, downloaded_sandbox, expected_by_tag


@pytest.fixture(scope="module")
def sandbox(replica_session: Replica, warm_catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return downloaded_sandbox(replica_session, tmp_path_factory.mktemp("lc-fits"), warm_catalog_file)


def extract(settings: Settings) -> ExtractionReport:
    async def run() -> ExtractionReport:
        async with Exofop(settings) as exofop:
            return await exofop.extract_light_curves(SYSTEM, limit=200)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def report(sandbox: Settings) -> ExtractionReport:
    return extract(sandbox)


def _pairs(report: ExtractionReport, replica: Replica) -> list[tuple[LightCurveEntry, Expected]]:
    pairs = []
    for tag, wants in expected_by_tag(replica).items():
        for want in wants:
            if want.status == "extracted":
                suffix = f"/{tag}/{want.member}"
                pairs += [(e, want) for e in report.results if e.tag == tag and e.source_file.endswith(suffix)]
    return pairs


def test_every_light_curve_has_a_fit_or_a_reason(report: ExtractionReport) -> None:
    curves = [e for e in report.results if e.status == "extracted"]
    assert curves
    for entry in curves:
        assert entry.fit is not None, entry.source_file
        assert entry.fit.verdict
        assert entry.fit.status != "no_fit" or entry.fit.reason
    for entry in report.results:
        if entry.status in ("failed", "skipped"):
            assert entry.fit is None


def test_fitted_mid_times_find_the_generated_transits(report: ExtractionReport, replica_session: Replica) -> None:
    checked = 0
    for entry, want in _pairs(report, replica_session):
        fit, truth = entry.fit, want.transit
        assert fit is not None and truth is not None
        assert fit.predicted_mid_bjd_tdb == pytest.approx(truth.predicted_mid_bjd_tdb, abs=1e-5)
        if fit.status != "fitted":
            continue
        assert fit.mid_bjd_tdb is not None and fit.mid_uncertainty_minutes is not None
        error = abs(fit.mid_bjd_tdb - truth.mid_bjd_tdb) * 1440
        assert error < 15, (entry.source_file, error, fit.verdict)
        if fit.detection_sigma is not None and fit.detection_sigma >= 7:  # weak ones say so in their verdict
            assert error < 4 * fit.mid_uncertainty_minutes + 0.5, (entry.source_file, error, fit.verdict)
            tolerance = 4 * fit.mid_uncertainty_minutes + 0.5
            assert fit.o_minus_c_minutes == pytest.approx(truth.offset_minutes, abs=tolerance)
            checked += 1
        else:
            assert "weak detection" in fit.verdict
    assert checked >= 3


def test_the_fit_is_in_the_ecsv_the_text_and_the_summary(report: ExtractionReport, sandbox: Settings) -> None:
    directory = SystemDirectory(sandbox.data_dir, SYSTEM)
    entry = next(e for e in report.results if e.fit is not None and e.fit.status == "fitted")
    assert entry.ecsv is not None and entry.fit is not None
    table = Table.read(directory.path / entry.ecsv, format="ascii.ecsv")
    assert table.meta["transit_fit"]["verdict"] == entry.fit.verdict
    assert table.meta["transit_fit"]["mid_bjd_tdb"] == entry.fit.mid_bjd_tdb
    text = extraction_summary(report)
    assert f"transit: {entry.fit.verdict}" in text
    summary = report.fit_summary
    assert summary is not None
    fitted = [e for e in report.results if e.fit is not None and e.fit.status == "fitted"]
    assert summary.fitted == len(fitted) == summary.on_time + summary.early + summary.late
    assert summary.text in report.message
    assert {d.filter for d in summary.depth_by_filter} <= {e.filter or "unknown filter" for e in fitted}


def test_a_repeated_extraction_replays_the_fits(
    report: ExtractionReport, sandbox: Settings, warm_catalog_file: Path, tmp_path: Path
) -> None:
    settings = copy_sandbox(sandbox, tmp_path, warm_catalog_file)
    again = extract(settings)
    assert "extracted" not in again.totals
    first = {e.source_file: e.fit for e in report.results}
    assert {e.source_file: e.fit for e in again.results} == first
    assert again.fit_summary == report.fit_summary


def test_a_multi_band_file_takes_telescope_and_filter_from_one_source(report: ExtractionReport) -> None:
    """The table's rows name other telescopes and bands: a MuSCAT2 band is titled from its own file name."""
    muscat = [e for e in report.results if "MuSCAT2/" in e.source_file and e.status == "extracted"]
    assert len(muscat) == 4
    for entry in muscat:
        assert entry.observatory == "MuSCAT2"
        assert entry.filter in {"g", "r", "i", "z_s"}


def test_light_curves_recorded_without_a_fit_are_extracted_again_with_one(
    report: ExtractionReport, sandbox: Settings, warm_catalog_file: Path, tmp_path: Path
) -> None:
    settings = copy_sandbox(sandbox, tmp_path, warm_catalog_file)
    directory = SystemDirectory(settings.data_dir, SYSTEM)
    manifest = load_manifest(directory)
    assert manifest is not None and manifest.products
    for product in manifest.products.values():
        for entry in product.entries:
            entry.pop("fit", None)
    save_manifest(directory, manifest)
    again = extract(settings)
    assert again.totals.get("extracted") == report.totals.get("extracted")
    assert all(e.fit is not None for e in again.results if e.status == "extracted")

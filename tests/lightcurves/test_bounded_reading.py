"""Light-curve extraction bounds what a file can make it do: a table wider than the cap is refused with a
reason, and each source file has a time budget whose end refuses that file only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.lightcurves import extraction, jobs
from exofop_mcp.lightcurves.reports import ExtractionReport, Refusal
from exofop_mcp.lightcurves.table_reading import MAX_COLUMNS, MAX_METADATA, MAX_METADATA_CHARS, read_text_table
from exofop_mcp.replica import Replica
from tests.helpers.light_curves import SYSTEM, downloaded_sandbox


@pytest.mark.parametrize("where", ["header", "row"])
def test_a_table_wider_than_the_cap_is_refused_with_a_reason(where: str) -> None:
    wide = "\t".join(["1"] * (MAX_COLUMNS + 1))
    header = wide if where == "header" else "BJD_TDB\trel_flux_T1"
    body = "2459000.5\t1.0\n" + (wide if where == "row" else "2459000.6\t1.0")
    with pytest.raises(Refusal) as refused:
        read_text_table(f"{header}\n{body}\n".encode(), "wide.tbl")
    assert refused.value.reason == "over_limit" and f"{MAX_COLUMNS:,}" in str(refused.value)


def test_a_file_past_its_time_budget_is_refused_and_the_others_go_on(
    replica_session: Replica, warm_catalog_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = downloaded_sandbox(replica_session, tmp_path, warm_catalog_file)
    monkeypatch.setattr(extraction, "FILE_SECONDS", 0.0)

    async def run() -> ExtractionReport:
        async with Exofop(settings) as exofop:
            return await exofop.extract_light_curves(SYSTEM, plots=False)

    report = asyncio.run(run())
    assert report.state == "completed"
    refused = [e for e in report.results if e.reason == "over_limit"]
    assert refused and all("budget" in (e.message or "") for e in refused)
    assert not any(e.status == "extracted" for e in report.results)


def test_metadata_lines_are_bounded_before_they_reach_the_light_curves_header() -> None:
    lines = [f"# AIJ_key{i} {'v' * 2000}" for i in range(5000)]
    lines += ["BJD_TDB\trel_flux_T1", "2459000.5\t1.0", "2459000.6\t1.0", "2459000.7\t1.0"]
    table = read_text_table("\n".join(lines).encode(), "measurements.tbl")
    assert len(table.metadata) == MAX_METADATA
    assert max(len(v) for v in table.metadata.values()) == MAX_METADATA_CHARS


def test_a_tag_past_its_time_budget_fails_alone_and_the_job_completes(
    replica_session: Replica, warm_catalog_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = downloaded_sandbox(replica_session, tmp_path, warm_catalog_file)
    monkeypatch.setattr(jobs, "TAG_SECONDS", 0.0)

    async def run() -> ExtractionReport:
        async with Exofop(settings) as exofop:
            return await exofop.extract_light_curves(SYSTEM, plots=False)

    report = asyncio.run(run())
    assert report.state == "completed" and report.tags
    assert {(e.status, e.reason) for e in report.results if e.tag in report.tags} == {("failed", "over_limit")}

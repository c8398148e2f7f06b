"""One impossible time in a table drops that row, counted, instead of failing the whole table."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.lightcurves.reports import ExtractionReport
from exofop_mcp.lightcurves.table_reading import read_text_table
from exofop_mcp.lightcurves.time_columns import choose_times
from exofop_mcp.lightcurves.time_systems import Target
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.light_curves import SYSTEM, downloaded_sandbox

ROWS = 60


def _table(bad: str, at: int = 30) -> bytes:
    lines = ["BJD_TDB\trel_flux_T1\trel_flux_err_T1"]
    for i in range(ROWS):
        time = bad if i == at else f"{2459000.6 + i * 0.002:.6f}"
        lines.append(f"{time}\t{1 + 0.001 * np.sin(i):.6f}\t0.001")
    return "\n".join(lines).encode()


@pytest.mark.parametrize("bad", ["1e308", "-1e308", "9e15", "1.7976931348623157e308"])
def test_one_impossible_time_in_sixty_rows_drops_that_row(bad: str) -> None:
    table = read_text_table(_table(bad), "measurements.tbl")
    choice = choose_times(table, Target(10.0, -20.0), None, dt.date(2020, 5, 31))
    kept = np.isfinite(choice.bjd_tdb)
    assert int(kept.sum()) == ROWS - 1 and not kept[30]
    assert np.array_equal(choice.bjd_tdb[kept], table.number("BJD_TDB")[kept])
    assert any("1 row with a time no Julian date can be" in w for w in choice.warnings), choice.warnings


def test_a_column_of_impossible_times_is_still_refused() -> None:
    lines = ["BJD_TDB\trel_flux_T1"] + [f"{1e300 * (i + 1):g}\t1.0" for i in range(ROWS)]
    table = read_text_table("\n".join(lines).encode(), "measurements.tbl")
    with pytest.raises(Exception, match="not Julian dates"):
        choose_times(table, Target(10.0, -20.0), None, dt.date(2020, 5, 31))


def _extract(settings: Settings) -> ExtractionReport:
    async def run() -> ExtractionReport:
        async with Exofop(settings) as exofop:
            return await exofop.extract_light_curves(SYSTEM)

    return asyncio.run(run())


def test_an_impossible_time_in_a_downloaded_table_drops_and_counts_that_row(
    replica_session: Replica, warm_catalog_file: Path, tmp_path: Path
) -> None:
    settings = downloaded_sandbox(replica_session, tmp_path, warm_catalog_file)
    before = _extract(settings)
    entry = next(
        e
        for e in before.results
        if e.status == "extracted" and e.time_source == "BJD_TDB" and "!" not in e.source_file and e.rows
    )
    path = SystemDirectory(settings.data_dir, SYSTEM).path / entry.source_file
    lines = path.read_bytes().decode().split("\n")
    column = lines[0].split("\t").index("BJD_TDB")
    cells = lines[1].split("\t")
    cells[column] = "1e308".ljust(len(cells[column]))  # same size, as a hand edit would keep it
    lines[1] = "\t".join(cells)
    path.write_bytes("\n".join(lines).encode())
    after = _extract(settings)
    again = next(e for e in after.results if e.source_file == entry.source_file)
    assert again.status == "extracted", again.message
    assert again.rows == entry.rows - 1
    assert any("1 row with a time no Julian date can be (e.g. 1e+308) left out" in w for w in again.warnings)

"""The extraction through the MCP tools (a real in-process client) and the command line (main(argv))."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from exofop_mcp.cli.main import main
from exofop_mcp.downloads.manifest import describe_file, load_manifest, save_manifest
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.light_curves import SYSTEM, copy_sandbox, downloaded_sandbox
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox(replica_session: Replica, warm_catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return downloaded_sandbox(replica_session, tmp_path_factory.mktemp("lc-if"), warm_catalog_file)


@pytest.fixture
def settings(sandbox: Settings, warm_catalog_file: Path, tmp_path: Path) -> Settings:
    return copy_sandbox(sandbox, tmp_path, warm_catalog_file)


async def test_tool_extracts_pages_and_repeats(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        first = await client.call_tool("extract_light_curves", {"system": "toi 141", "limit": 5, "wait_seconds": 50})
        assert not first.is_error, text_of(first)
        report = first.structured_content
        assert report is not None
        if report["state"] == "running":  # a slow machine: poll as an assistant would
            while report["state"] == "running":
                status = await client.call_tool("extraction_status", {"job_id": report["job_id"], "limit": 5})
                report = status.structured_content
        assert report["state"] == "completed"
        assert report["returned"] == 5 and report["next_offset"] == 5
        assert report["entries_total"] > 5 and report["light_curves"] >= 14
        assert "light curves" in text_of(first) or report["state"] == "completed"
        assert len(json.dumps(report)) < 20_000
        page = await client.call_tool("extraction_status", {"job_id": report["job_id"], "offset": 5, "limit": 200})
        rest = page.structured_content
        assert rest is not None and rest["offset"] == 5
        assert rest["returned"] == rest["entries_total"] - 5 or rest["next_offset"] is not None
        assert len(json.dumps(rest)) < 20_000
        again = await client.call_tool("extract_light_curves", {"system": SYSTEM})
        totals = again.structured_content["totals"]  # type: ignore[index]
        assert totals["already_extracted"] == report["light_curves"] and "extracted" not in totals
        assert "already extracted" in text_of(again)


async def test_tool_errors_are_short(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        bad = await client.call_tool("extract_light_curves", {"system": SYSTEM, "tags": ["x"]})
        assert bad.is_error and "tags" in text_of(bad) and "Traceback" not in text_of(bad)
        unknown = await client.call_tool("extraction_status", {"job_id": "abcdef"})
        assert unknown.is_error and "extract_light_curves" in text_of(unknown)
        nothing = await client.call_tool("extract_light_curves", {"system": "TOI-1130"})
        assert not nothing.is_error
        assert "download_tags" in nothing.structured_content["message"]  # type: ignore[index]


def _cli(settings: Settings, *args: str) -> list[str]:
    return [
        *args,
        "--base-url",
        settings.base_url,
        "--data-dir",
        str(settings.data_dir),
        "--cache-dir",
        str(settings.cache_dir),
        "--config-dir",
        str(settings.config_dir),
    ]


def test_cli_extract_text_and_json(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_cli(settings, "extract", SYSTEM))
    out = capsys.readouterr().out
    # The replica's refused files were never light curves (a comparison-star list, an empty extra.csv, an
    # Excel twin of a table that was read): they are listed with their reason, and the run succeeds.
    assert code == 0, out
    assert "excel_binary" in out and "no_time_column" in out and "empty_file" in out and "light curves from" in out
    excel = next(line for line in out.splitlines() if "excel_binary" in line)
    assert "save it as" not in excel and "not needed" in excel and ".tbl" in excel
    code = main(_cli(settings, "extract", SYSTEM, "--json"))
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["totals"]["already_extracted"] == report["light_curves"]
    assert report["entries_total"] == len(report["results"])


def test_cli_extract_exits_1_when_a_light_curve_cannot_be_read(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    table = min((settings.data_dir / SYSTEM / "time_series").rglob("*_measurements.tbl"))
    rows = "".join(f"{2458700.5 + i / 1000:.6f}\t{1.2 + i / 1000:.4f}\n" for i in range(50))
    table.write_text("BJD_TDB\tAIRMASS\n" + rows)  # times, but no flux: a light curve that cannot be read
    directory = SystemDirectory(settings.data_dir, SYSTEM)  # as ExoFOP sent it: the download stays complete
    manifest = load_manifest(directory, for_update=True)
    assert manifest is not None
    for entry in manifest.tags.values():
        entry.files = [describe_file(directory, table) if directory.path / f.path == table else f for f in entry.files]
    save_manifest(directory, manifest)
    code = main(_cli(settings, "extract", SYSTEM))
    out = capsys.readouterr().out
    assert code == 1 and "no_flux_column" in out, out


def test_cli_named_tags_and_bad_arguments(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from exofop_mcp.replica.light_curve_files import LIGHT_CURVE_TEST_TIC  # noqa: F401 - the system's star

    manifest = json.loads((settings.data_dir / SYSTEM / "manifest.json").read_text())
    tag = min(int(t) for t in manifest["tags"])
    code = main(_cli(settings, "extract", SYSTEM, "--json", str(tag)))
    report = json.loads(capsys.readouterr().out)
    assert report["tags"] == [tag]
    assert code in (0, 1)
    with pytest.raises(SystemExit) as exited:
        main(_cli(settings, "extract", SYSTEM, "notatag"))
    assert exited.value.code == 2


async def test_tool_text_names_each_plot_and_the_call_that_pages_on(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("extract_light_curves", {"system": SYSTEM, "limit": 3, "wait_seconds": 60})
    report = result.structured_content
    assert report is not None and report["state"] == "completed", text_of(result)
    text = text_of(result)
    pngs = [e["png"] for e in report["results"] if e.get("png")]
    assert pngs and all(f"plot {png}" in text for png in pngs)  # a text-only client can preview each plot
    assert f"extraction_status(job_id='{report['job_id']}', offset=3)" in text

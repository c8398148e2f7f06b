"""Transit fits through the MCP tool (a real in-process client) and the command line: both halves carry them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from exofop_mcp.cli.main import main
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.light_curves import SYSTEM, copy_sandbox, downloaded_sandbox
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox(replica_session: Replica, warm_catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return downloaded_sandbox(replica_session, tmp_path_factory.mktemp("lc-fit-if"), warm_catalog_file)


@pytest.fixture
def settings(sandbox: Settings, warm_catalog_file: Path, tmp_path: Path) -> Settings:
    return copy_sandbox(sandbox, tmp_path, warm_catalog_file)


async def test_the_tool_gives_each_light_curve_its_fit_in_both_halves(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("extract_light_curves", {"system": SYSTEM, "limit": 30, "wait_seconds": 50})
        report = result.structured_content
        assert report is not None
        while report["state"] == "running":
            status = await client.call_tool("extraction_status", {"job_id": report["job_id"], "limit": 30})
            result, report = status, status.structured_content
        text = text_of(result)
        curves = [e for e in report["results"] if e["status"] == "extracted"]
        assert curves
        for entry in curves:
            fit = entry["fit"]
            assert fit["verdict"] and f"transit: {fit['verdict']}" in text
            if fit["status"] == "fitted":
                assert {"mid_bjd_tdb", "o_minus_c_minutes", "o_minus_c_sigma", "depth_ppm", "coverage"} <= set(fit)
        summary = report["fit_summary"]
        assert summary["fitted"] >= 1 and summary["text"] in text
        assert len(json.dumps(report)) < 20_000


def test_the_command_line_prints_verdicts_and_the_summary(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--base-url", settings.base_url, "--data-dir", str(settings.data_dir)]
    args += ["--cache-dir", str(settings.cache_dir), "--config-dir", str(settings.config_dir)]
    main(["extract", SYSTEM, *args])
    out = capsys.readouterr().out
    assert "    transit: " in out and "Transit fits: " in out and "Depth / TESS by filter: " in out

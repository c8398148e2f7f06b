"""The offline demo walks the whole workflow through a real MCP client and keeps its sandbox."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from exofop_mcp.cli.demo import run_demo


@pytest.mark.slow  # starts a replica and a server subprocess, downloads and extracts
def test_the_demo_shows_the_whole_workflow_and_keeps_its_sandbox(capfd: pytest.CaptureFixture[str]) -> None:
    assert run_demo() == 0
    out = capfd.readouterr().out
    sandbox = re.search(r"The sandbox is kept in (\S+): ", out)
    assert sandbox is not None, out[-500:]
    data = Path(sandbox.group(1))
    try:
        called = re.findall(r"^>>> (\w+)\(", out, flags=re.MULTILINE)
        for tool in ("resolve_system", "list_observations", "download_tags", "list_downloads"):
            assert tool in called
        for tool in ("extract_light_curves", "preview_file", "search_tois", "login_status"):
            assert tool in called
        assert "[error" not in out
        assert "\n\n\n" not in out  # no run of empty lines (resource links are shown as what they are)
        assert "[resource link: exofop://TOI-1130/" in out and "[image: image/png]" in out
        assert any(data.glob("TOI-1130/light_curves/*/*.png"))  # kept, to be opened afterwards
    finally:
        shutil.rmtree(data.parent, ignore_errors=True)

"""A read-only sandbox: every tag fails with a named write failure (path and cause), never an internal error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.settings import Settings
from tests.helpers.environment import server_env
from tests.helpers.hostile_sandbox import read_only
from tests.helpers.tool_client import call, text_of

pytestmark = pytest.mark.anyio

LCO_ZS = {"kind": "time_series", "filter": "zs"}


_DOWNLOAD = """
import asyncio
from exofop_mcp.api import Exofop
from exofop_mcp.settings import Settings

async def main():
    async with Exofop(Settings.from_env()) as exofop:
        report = await exofop.download_tags("TOI-1130", kind="time_series", filter="zs")
    print(len(report.results))

asyncio.run(main())
"""


async def _first_download(settings: Settings) -> list[int]:
    """The tags downloaded by another process (this one holds no lock file open yet, as after a restart)."""
    run = subprocess.run([sys.executable, "-c", _DOWNLOAD], env=server_env(settings), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    return list(range(int(run.stdout.strip())))


async def test_a_read_only_sandbox_fails_each_tag_naming_the_path_and_the_cause(warm_settings, replica):
    tags = await _first_download(warm_settings)
    assert tags
    with read_only(warm_settings.data_dir):
        async with Exofop(warm_settings) as exofop:
            report = await exofop.download_tags("TOI-1130", **LCO_ZS, overwrite=True)
    assert {r.status for r in report.results} == {"failed"}, report.message
    for result in report.results:
        message = result.message or ""
        assert "internal error" not in message and "OSError" not in message, message
        assert "Read-only file system" in message or "Permission denied" in message, message
        assert str(warm_settings.data_dir) in message, message
    assert ".lock" in report.results[0].message, report.results[0].message  # the lock file, named


async def test_a_read_only_sandbox_is_a_named_write_failure_through_mcp(warm_settings, replica):
    await _first_download(warm_settings)
    with read_only(warm_settings.data_dir):
        result = await call(
            warm_settings, "download_tags", {"system": "TOI-1130", **LCO_ZS, "overwrite": True, "wait_seconds": 60}
        )
    text = text_of(result)
    assert "internal error" not in text and "(OSError)" not in text, text
    assert "Read-only file system" in text or "Permission denied" in text, text

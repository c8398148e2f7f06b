"""Logged-in use end to end: proprietary tags through leased sessions, parallel despite PHP's session lock."""

from __future__ import annotations

import json
import logging

import pytest
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.auth.session_store import load_sessions
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import dataset
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"
ARCHIVE_PAGE = "download_tag_files_zip.php"
SYSTEM = f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}"


@pytest.fixture
async def logged_in(warm_settings, replica):
    replica.configure(accounts={"alice": PASSWORD})
    await login(warm_settings, Credentials("alice", PASSWORD, source="test"), sessions=3)
    return warm_settings


async def test_proprietary_tags_download_when_logged_in(logged_in, replica, caplog):
    caplog.set_level(logging.DEBUG)
    replica.configure(tag_size=256 * 1024, bandwidth=512 * 1024)
    replica.reset_requests()
    async with Exofop(logged_in) as exofop:
        report = await exofop.download_tags(SYSTEM, tags=list(dataset.PROPRIETARY_TAGS))
        status = exofop.login_status()
    assert report.totals == {"downloaded": 3}, [r.message for r in report.results]
    archives = [r for r in replica.requests if r.path.endswith(ARCHIVE_PAGE)]
    assert len(archives) == 3 and all(r.user == "alice" for r in archives)
    # three sessions, used in parallel: every transfer started before any of them ended
    assert len({r.session for r in archives}) == 3
    assert max(r.start for r in archives) < min(r.end for r in archives)
    # tables were fetched with a session too, none of them anonymous
    tables = [r for r in replica.requests if r.path.endswith(("download_tseries.php", "download_spect.php"))]
    assert tables and all(r.session for r in tables)
    assert status.logged_in and status.username == "alice" and status.valid_sessions == 3
    # no secret anywhere: logs, report, status
    cookies = [s.cookie_value for s in load_sessions(logged_in.config_dir).users["alice"]]
    visible = "\n".join([caplog.text, report.model_dump_json(), status.model_dump_json()])
    for secret in [PASSWORD, *cookies]:
        assert secret not in visible


async def test_login_status_tool_when_logged_in(logged_in):
    async with Client(build_server(logged_in)) as client:
        result = await client.call_tool("login_status", {})
    status = result.structured_content
    assert status["logged_in"] is True and status["username"] == "alice" and status["valid_sessions"] == 3
    assert status["remaining_hours"] > 24 * 6 and "action" not in status
    cookies = [s.cookie_value for s in load_sessions(logged_in.config_dir).users["alice"]]
    dumped = json.dumps(status) + text_of(result)
    assert not any(c in dumped for c in cookies)


async def test_sessions_ended_on_the_site_give_login_required_with_advice(logged_in, replica):
    replica.clear_sessions()  # the site forgot every session (expiry, logout elsewhere)
    async with Exofop(logged_in) as exofop:
        report = await exofop.download_tags(SYSTEM, tags=[dataset.PROPRIETARY_TAGS[0]])
    result = report.results[0]
    assert result.status == "login_required"
    assert "exofop-mcp login" in (result.message or "") and "again" in (result.message or "")


async def test_public_tags_work_the_same_when_logged_in(logged_in):
    async with Exofop(logged_in) as exofop:
        report = await exofop.download_tags("TOI-1130", tags=[18493, 18598])
    assert report.totals == {"downloaded": 2}

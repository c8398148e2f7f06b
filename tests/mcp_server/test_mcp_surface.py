"""The MCP surface: tool list, schemas, annotations, instructions; in-process and over stdio."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from exofop_mcp.mcp_server.schema_export import render, stale_files, tool_schemas
from exofop_mcp.mcp_server.server import INSTRUCTIONS, build_server
from tests.helpers.environment import server_env

pytestmark = pytest.mark.anyio

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
TOOLS = {
    "resolve_system",
    "list_observations",
    "download_tags",
    "download_status",
    "extract_light_curves",
    "extraction_status",
    "cancel_download",
    "list_downloads",
    "login_status",
    "preview_file",
    "search_tois",
    "plan_transits",
    "follow_up_status",
    "whats_new",
}
READ_ONLY = {
    "resolve_system",
    "list_observations",
    "login_status",
    "list_downloads",
    "download_status",
    "extraction_status",
    "preview_file",
    "search_tois",
    "follow_up_status",
    "whats_new",
}


def exofop_mcp_command() -> str:
    found = shutil.which("exofop-mcp") or str(Path(sys.executable).parent / "exofop-mcp")
    assert Path(found).exists(), "the exofop-mcp command is not installed"
    return found


async def test_tools_have_schemas_annotations_and_descriptions(settings):
    async with Client(build_server(settings)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.output_schema is not None, name
        assert tool.description and len(tool.description) > 80, name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name in READ_ONLY), name
        assert tool.annotations.destructive_hint is False
        assert tool.annotations.idempotent_hint is True
        for prop in tool.input_schema.get("properties", {}).values():
            assert prop.get("description"), (name, prop)
    assert "download_status" in tools["download_tags"].description
    assert "list_observations" in tools["resolve_system"].description


async def test_instructions_explain_the_workflow(settings):
    assert len(INSTRUCTIONS.splitlines()) == 3
    for word in ("resolve_system", "list_observations", "download_tags"):
        assert word in INSTRUCTIONS


def test_schema_files_are_current():
    assert stale_files(SCHEMAS) == [], "run `exofop-mcp schemas` to regenerate schemas/"
    expected = asyncio.run(tool_schemas())
    assert {p.name for p in SCHEMAS.glob("*.json")} == set(expected)
    for name, schema in expected.items():
        assert (SCHEMAS / name).read_text() == render(schema)


@pytest.mark.slow
async def test_stdio_server_answers_like_the_in_process_one(warm_settings):
    params = StdioServerParameters(command=exofop_mcp_command(), args=[], env=server_env(warm_settings))
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == TOOLS
        result = await client.call_tool("resolve_system", {"query": "tic 254113311"})
        assert not result.is_error
        assert result.structured_content["canonical_name"] == "TOI-1130"
        assert "TOI-1130 = TIC 254113311" in result.content[0].text
        page = await client.call_tool("list_observations", {"system": "TOI-1130", "filter": "zs"})
        assert not page.is_error and page.structured_content["total"] >= 3
        bad = await client.call_tool("resolve_system", {"query": "TOI-999999"})
        assert bad.is_error and "not in ExoFOP's TOI table" in bad.content[0].text


@pytest.mark.slow
async def test_stdio_server_refuses_bad_settings_at_start(tmp_path):
    import subprocess

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "EXOFOP_MCP_CONCURRENCY": "zero"}
    out = subprocess.run(
        [exofop_mcp_command()], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert out.returncode == 2
    assert "EXOFOP_MCP_CONCURRENCY" in out.stderr and "Traceback" not in out.stderr


async def test_structured_content_is_json_of_the_model(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("login_status", {})
    assert not result.is_error
    status = result.structured_content
    assert status["logged_in"] is False and status["action"] == "exofop-mcp login"
    json.dumps(status)


async def test_argument_errors_are_short_and_name_the_argument(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("list_observations", {"system": "TOI-1130", "limit": 0, "kind": "videos"})
    assert result.is_error
    message = result.content[0].text
    assert "Invalid arguments: " in message
    assert "limit:" in message and "kind:" in message
    assert "pydantic" not in message and "https://" not in message


async def test_published_row_schema_uses_the_field_names(settings):
    async with Client(build_server(settings)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    rows = tools["list_observations"].output_schema["$defs"]["TimeSeriesObservation"]["properties"]
    assert {"tic_id", "obs_date", "tag", "telescope"} <= set(rows)
    assert not any(" " in name for name in rows)


def test_requests_name_exofop_mcp_and_its_version(settings):
    from exofop_mcp import __version__
    from exofop_mcp.site.client import ExofopClient

    client = ExofopClient(settings)
    agent = client.user_agent
    assert agent.startswith(f"exofop-mcp/{__version__}")

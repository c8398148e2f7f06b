"""search_tois through a real MCP client: both halves, size bounds, strict arguments."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from exofop_mcp.mcp_server.server import build_server
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_search_answers_in_text_and_json(warm_settings, mode):
    args = {"tfopwg_disposition": ["PC", "APC"], "tess_mag_max": 10, "time_series_max": 0, "limit": 200}
    async with Client(build_server(warm_settings), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("search_tois", args)
    assert not result.is_error, text_of(result)
    page = result.structured_content
    text = text_of(result)
    assert len(json.dumps(page)) < 20_000 and len(text) < 20_000
    assert page["total"] >= page["returned"] > 0
    for row in page["rows"]:
        assert row["tfopwg_disposition"] in ("PC", "APC") and row["tess_mag"] <= 10
        assert f"{row['toi']} | {row['system']} | {row['tic_id']} |" in text


async def test_search_argument_errors_name_the_argument(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("search_tois", {"limit": 500, "sort_by": "size"})
    assert result.is_error
    assert "limit:" in text_of(result) and "sort_by:" in text_of(result)

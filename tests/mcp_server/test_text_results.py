"""The text half of each result stands on its own: an assistant that sees only the text can answer."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from exofop_mcp.mcp_server.server import build_server
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio

LIMIT = 20_000


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_listing_text_answers_which_telescopes_and_dates(warm_settings, mode):
    async with Client(build_server(warm_settings), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("list_observations", {"system": "TOI-1130", "filter": "zs"})
    assert not result.is_error
    text = text_of(result)
    rows = result.structured_content["rows"]
    assert rows and "structured result" not in text
    lines = text.splitlines()
    assert "tag | date | telescope | filter | observer | coverage" in text
    for row in rows:
        line = next(line for line in lines if line.startswith(f"{row['tag']} | {row['obs_date']} |"))
        assert row["telescope"] in line and row["filter"] in line and row["user"] in line
        assert (row.get("transit_coverage") or "-") in line


async def test_every_kind_has_a_table_and_results_stay_small(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        for kind in (
            "time_series",
            "spectroscopy",
            "imaging",
            "stellar_companions",
            "nearby_targets",
            "stellar_parameters",
            "files",
        ):
            result = await client.call_tool("list_observations", {"system": "TOI-736", "kind": kind, "limit": 200})
            assert not result.is_error, text_of(result)
            text = text_of(result)
            page = result.structured_content
            assert len(text) < LIMIT and len(json.dumps(page)) < LIMIT, kind
            table = [line for line in text.splitlines() if line.count(" | ") >= 3]
            assert len(table) == page["returned"] + 1 if page["returned"] else len(table) == 0, kind


async def test_offset_past_the_end_says_so(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("list_observations", {"system": "TOI-1130", "offset": 10000})
    text = text_of(result)
    assert "none shown" in text and "10001" not in text


async def test_resolve_text_carries_the_key_facts(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("resolve_system", {"query": "TIC 254113311"})
    text = text_of(result)
    facts = result.structured_content
    assert f"TIC {facts['tic_id']}" in text and facts["canonical_name"] in text
    for planet in facts["planets"]:
        assert f"TOI-{planet['toi']}" in text and f"{planet['period_days']:.4f}" in text
        assert planet["tfopwg_disposition"] in text
    assert "TOI table" in text and "Catalog: cache" in text

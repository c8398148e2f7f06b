"""plan_transits through a real MCP client: both halves, sizes, paging, sites, systems, charts, errors."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from exofop_mcp.mcp_server.server import build_server
from tests.helpers.tool_client import error, ok, text_of

pytestmark = pytest.mark.anyio

NIGHT = {"start_date": "2026-04-14"}


def under_20_kb(page: dict, text: str) -> None:
    assert len(json.dumps(page)) < 20_000 and len(text.encode()) < 20_000


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_named_site_answers_in_both_halves(warm_settings, mode):
    args = {"observatory": "lco-ctio", **NIGHT, "nights": 2, "tfopwg_disposition": ["PC"], "limit": 200}
    async with Client(build_server(warm_settings), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("plan_transits", args)
    assert not result.is_error, text_of(result)
    page, text = result.structured_content, text_of(result)
    under_20_kb(page, text)
    assert page["site"]["key"] == "lco-ctio" and page["site"]["timezone"] == "America/Santiago"
    assert page["total"] >= page["returned"] > 0 and page["targets"] > 1000
    assert len(page["nights"]) == 2 and page["nights"][0]["dusk_utc"] < page["nights"][0]["dawn_utc"]
    times = [e["mid_utc"] for e in page["events"]]
    assert times == sorted(times)
    for event in page["events"]:
        assert event["tfopwg_disposition"] == "PC" and event["observable_fraction"] >= 0.5
        assert event["night"] in ("2026-04-14", "2026-04-15")
        assert event["ingress_utc"] < event["mid_utc"] < event["egress_utc"]
        assert len(event["altitude_deg"]) == 3 and len(event["airmass"]) == 3
        assert f"| TOI-{event['toi']} | {event['ingress_utc'][11:16]}-{event['egress_utc'][11:16]}" in text
    if page["next_offset"] is not None:
        assert f"offset={page['next_offset']}" in text


async def test_pages_follow_each_other_without_gaps(warm_settings):
    args = {"observatory": "trappist-north", **NIGHT, "limit": 10}
    first = await ok(warm_settings, "plan_transits", args)
    second = await ok(warm_settings, "plan_transits", {**args, "offset": first["next_offset"]})
    assert first["total"] == second["total"] and first["next_offset"] == 10
    ids = [(e["toi"], e["cycle"]) for e in first["events"] + second["events"]]
    assert len(set(ids)) == len(ids) == first["returned"] + second["returned"]
    assert first["events"][-1]["mid_utc"] <= second["events"][0]["mid_utc"]


async def test_raw_coordinates_and_named_systems(warm_settings):
    args = {
        "latitude_deg": -30.1673,
        "longitude_deg": -70.8046,
        "elevation_m": 2198,
        **NIGHT,
        "nights": 30,
        "systems": ["TOI-1130", "TIC 254113311"],
        "min_observable_fraction": 0,
    }
    page = await ok(warm_settings, "plan_transits", args)
    assert page["site"]["source"] == "given coordinates"
    assert {e["toi"] for e in page["events"]} == {"1130.01", "1130.02"}
    assert page["targets"] == 2
    coordinates = ("latitude_deg", "longitude_deg", "elevation_m")
    by_name = {k: v for k, v in args.items() if k not in coordinates} | {"observatory": "lco-ctio"}
    named = await ok(warm_settings, "plan_transits", by_name)
    assert [e["mid_utc"] for e in named["events"]] == [e["mid_utc"] for e in page["events"]]


async def test_a_chart_per_event_that_preview_file_shows(warm_settings):
    args = {"observatory": "el-sauce", **NIGHT, "nights": 3, "systems": ["TOI-1130"], "chart": True}
    page = await ok(warm_settings, "plan_transits", {**args, "min_observable_fraction": 0, "limit": 2})
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("plan_transits", {**args, "min_observable_fraction": 0, "limit": 2})
        assert "Charts (open with preview_file):" in text_of(result)
        for event in page["events"]:
            assert event["chart"].startswith("plans/") and event["chart"].endswith("_el-sauce.png")
            path = warm_settings.data_dir / event["system"] / event["chart"]
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"path={event['chart']}" in text_of(result)
            shown = await client.call_tool("preview_file", {"system": event["system"], "path": event["chart"]})
            assert not shown.is_error, text_of(shown)
            assert any(getattr(c, "mimeType", getattr(c, "mime_type", None)) == "image/png" for c in shown.content)


async def test_a_chart_is_not_written_through_a_link_out_of_the_sandbox(warm_settings, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    system = warm_settings.data_dir / "TOI-1130"
    system.mkdir(parents=True)
    (system / "plans").symlink_to(outside)
    args = {"observatory": "el-sauce", **NIGHT, "systems": ["TOI-1130"], "chart": True, "min_observable_fraction": 0}
    message = await error(warm_settings, "plan_transits", args)
    assert "[outside_sandbox]" in message and f"{system / 'plans'} is a symbolic link" in message
    assert list(outside.iterdir()) == []


async def test_an_unknown_site_lists_the_close_names(warm_settings):
    message = await error(warm_settings, "plan_transits", {"observatory": "lco-ctoi", **NIGHT})
    assert "[unknown_site] No observatory named 'lco-ctoi' is known. Close names: lco-ctio" in message
    message = await error(warm_settings, "plan_transits", {"observatory": "trapist", **NIGHT})
    assert "trappist-north" in message and "trappist-south" in message


async def test_the_site_is_given_once(warm_settings):
    both = await error(warm_settings, "plan_transits", {"observatory": "ohp", "latitude_deg": 1, **NIGHT})
    assert "[invalid_request]" in both and "not both" in both
    neither = await error(warm_settings, "plan_transits", {"latitude_deg": 1, **NIGHT})
    assert "all three" in neither
    too_long = await error(warm_settings, "plan_transits", {"observatory": "ohp", **NIGHT, "nights": 61})
    assert "nights:" in too_long


async def test_single_transit_tois_are_counted_not_planned(warm_settings):
    page = await ok(warm_settings, "plan_transits", {"observatory": "lco-tfn", **NIGHT, "limit": 1})
    assert any("single-transit TOI(s) (no period) left out" in note for note in page["notes"])
    assert any("less than 50% observable" in note for note in page["notes"])


def test_a_page_with_chart_names_stays_under_20_kb(warm_settings):
    import sqlite3

    from exofop_mcp.mcp_server.plan_tools import plan_summary
    from exofop_mcp.planning.events import PlanSettings, plan_span
    from exofop_mcp.planning.models import PlanTransitsRequest
    from exofop_mcp.planning.page import page_of
    from exofop_mcp.planning.planner import site_of
    from exofop_mcp.planning.selection import select_targets

    request = PlanTransitsRequest(
        observatory="ohp", start_date="2026-04-14", nights=5, chart=True, limit=200, min_observable_fraction=0
    )
    conn = sqlite3.connect(warm_settings.cache_dir / "toi_catalog.sqlite3")
    plan = plan_span(site_of(request), select_targets(conn, request), PlanSettings(request.start_date, 5))
    notes = [f"TOI-{n} (TIC-{n}) has no TOI, so no ephemeris to plan." for n in range(50)]
    result = page_of(plan, request, site_of(request), None, notes)
    assert result.returned > 5 and all(e.chart and e.chart.startswith("plans/") for e in result.events)
    assert len(json.dumps(result.model_dump(mode="json", exclude_none=True))) < 20_000
    assert len(plan_summary(result).encode()) < 20_000


async def test_sort_orders(warm_settings):
    args = {"observatory": "lco-ctio", **NIGHT, "nights": 3, "limit": 40}
    by_priority = await ok(warm_settings, "plan_transits", {**args, "sort_by": "sg1a_priority"})
    priorities = [e.get("sg1a_priority", 99) for e in by_priority["events"]]
    assert priorities == sorted(priorities)
    last = await ok(
        warm_settings, "plan_transits", {**args, "sort_by": "sg1a_priority", "offset": by_priority["total"] - 5}
    )
    assert priorities[0] < [e.get("sg1a_priority", 99) for e in last["events"]][-1]
    best = await ok(warm_settings, "plan_transits", {**args, "sort_by": "-observable_fraction"})
    fractions = [e["observable_fraction"] for e in best["events"]]
    assert fractions == sorted(fractions, reverse=True)
    by_toi = await ok(warm_settings, "plan_transits", {**args, "sort_by": "toi"})
    keys = [tuple(int(part) for part in e["toi"].split(".")) for e in by_toi["events"]]
    assert keys == sorted(keys)


async def test_a_night_without_any_transit_of_the_system_is_an_empty_plan(warm_settings):
    # TOI-1130 has no transit in the night of 2026-12-07 at LCO CTIO: no events, not an error.
    page = await ok(
        warm_settings,
        "plan_transits",
        {"observatory": "lco-ctio", "start_date": "2026-12-07", "systems": ["TOI-1130"], "min_observable_fraction": 0},
    )
    assert page["total"] == 0 and page.get("events", []) == []

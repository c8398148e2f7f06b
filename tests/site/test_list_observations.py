"""list_observations through a real MCP client, against the replica."""

from __future__ import annotations

import json

import pytest

from exofop_mcp.replica import dataset
from exofop_mcp.site.observations import PAGE_BUDGET_BYTES
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio

KINDS = [
    "time_series",
    "spectroscopy",
    "imaging",
    "stellar_companions",
    "nearby_targets",
    "stellar_parameters",
    "files",
]


async def all_rows(settings, args):
    rows, offset = [], 0
    while offset is not None:
        page = await ok(settings, "list_observations", {**args, "offset": offset, "limit": 200})
        rows.extend(page["rows"])
        offset = page.get("next_offset")
    return page, rows


async def test_toi_1130_time_series_include_the_real_rows(warm_settings):
    page, rows = await all_rows(warm_settings, {"system": "TOI-1130", "kind": "time_series"})
    assert page["system"] == "TOI-1130" and page["tic_id"] == 254113311
    assert page["total"] == 79 == len(rows)
    by_tag = {r["tag"]: r for r in rows}
    pest = by_tag[18493]
    assert pest["telescope"] == "PEST (0.305 m)"
    assert pest["camera"] == "ST-8XME" and pest["filter"] == "Rc"
    assert pest["pixel_scale"] == pytest.approx(1.23) and pest["num_obs"] == 184
    assert pest["obs_date"] == "2020-03-30" and pest["user"] == "tan"
    assert "notes" not in pest  # empty cell → None → left out
    assert by_tag[19442]["notes"] == "nominal .02 with overlapping .01"
    assert "delta_mag" not in by_tag[19442]
    assert set(dataset.TOI_1130_REAL_TAGS) <= set(page["tags"])
    dates = [r["obs_date"] for r in rows]
    assert dates == sorted(dates)


@pytest.mark.parametrize("kind", KINDS)
async def test_every_kind(warm_settings, kind):
    page = await ok(warm_settings, "list_observations", {"system": "TOI-1130", "kind": kind})
    assert page["kind"] == kind
    assert page["total"] >= 1
    assert all(r["kind"] == kind for r in page["rows"])


async def test_filters_combine(warm_settings):
    args = {"system": "TOI-1130", "kind": "time_series", "telescope": "lco", "filter": "ZS"}
    page, rows = await all_rows(warm_settings, args)
    assert page["total"] >= 3 and page["total"] == len(rows)
    assert all("lco" in r["telescope"].lower() and r["filter"].lower() == "zs" for r in rows)
    assert page["filters"] == {"telescope": "lco", "filter": "ZS"}
    assert {18598, 19121, 19188, 19442} <= set(page["tags"])
    assert 18493 not in page["tags"]


async def test_date_user_planet_filters(warm_settings):
    base = {"system": "TOI-1130", "kind": "time_series"}
    ranged, rows = await all_rows(warm_settings, {**base, "since": "2020-03-30", "until": "2020-05-14"})
    assert ranged["total"] >= 4 and len(rows) == ranged["total"]
    assert all("2020-03-30" <= r["obs_date"] <= "2020-05-14" for r in rows)
    user, rows = await all_rows(warm_settings, {**base, "user": "COLLINS"})
    assert user["total"] >= 1 and all(r["user"].lower() == "collins" for r in rows)
    planet, rows = await all_rows(warm_settings, {**base, "planet": "TOI-1130.02"})
    assert planet["total"] >= 5 and all("1130.02" in r["toi"] for r in rows)


async def test_paging_covers_every_row_once(warm_settings):
    seen = []
    offset = 0
    while offset is not None:
        page = await ok(
            warm_settings,
            "list_observations",
            {"system": "TOI-1130", "kind": "time_series", "limit": 30, "offset": offset},
        )
        assert page["total"] == 79
        seen.extend((r["tag"], r["obs_date"], r["telescope"]) for r in page["rows"])
        offset = page.get("next_offset")
    assert len(seen) == 79


async def test_busy_system_default_page_is_compact(warm_settings):
    page = await ok(warm_settings, "list_observations", {"system": f"TIC {dataset.BUSY_SYSTEM_TIC}"})
    assert page["total"] == dataset.BUSY_SYSTEM_TSERIES_ROWS
    assert page["returned"] == 25 and page["next_offset"] == 25
    assert len(json.dumps(page)) < PAGE_BUDGET_BYTES
    assert len(page["tags"]) > 100  # the tags of the whole filtered result, not just this page


async def test_busy_system_big_page_is_cut_to_the_budget(warm_settings):
    page = await ok(warm_settings, "list_observations", {"system": f"TIC {dataset.BUSY_SYSTEM_TIC}", "limit": 200})
    assert len(json.dumps(page)) < PAGE_BUDGET_BYTES
    assert page["returned"] < 200 and page["next_offset"] == page["returned"]
    assert any("kB" in n for n in page["notes"])


async def test_system_with_no_observations(warm_settings):
    page = await ok(warm_settings, "list_observations", {"system": f"TIC {dataset.EMPTY_SYSTEM_TIC}"})
    assert page["total"] == 0 and page["rows"] == [] and page["tags"] == []
    assert "next_offset" not in page


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"system": "TOI-1130", "kind": "videos"}, "kind"),
        ({"system": "TOI-1130", "limit": 0}, "limit"),
        ({"system": "TOI-1130", "limit": 100000}, "limit"),
        ({"system": "TOI-1130", "offset": -1}, "offset"),
        ({"system": "TOI-1130", "since": "yesterday"}, "since"),
        ({"system": "TOI-1130", "since": "2024-01-01", "until": "2023-01-01"}, "after"),
        ({"system": "TOI-1130", "planet": "TOI-1130"}, "planet"),
        ({"system": "TOI-1130", "kind": "spectroscopy", "filter": "zs"}, "no filter column"),
        ({"system": "TOI-1130", "kind": "nearby_targets", "user": "x"}, "no user column"),
        ({"system": ""}, "system"),
        ({"system": "../../etc"}, "TOI"),
        ({"system": "TOI-999999"}, "not in ExoFOP's TOI table"),
        ({"kind": "time_series"}, "system"),
    ],
)
async def test_bad_arguments(warm_settings, args, expected):
    assert expected in await error(warm_settings, "list_observations", args)

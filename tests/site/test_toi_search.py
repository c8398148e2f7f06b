"""search_tois against a direct computation on the replica's TOI table (the pipe text it serves)."""

from __future__ import annotations

import json
import math
import time

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.replica.toi_table import ToiTable
from exofop_mcp.site.toi_search import SearchToisRequest, search_tois

pytestmark = pytest.mark.anyio


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@pytest.fixture(scope="module")
def table_rows() -> list[dict[str, str]]:
    table = ToiTable.load()
    return [dict(zip(table.header, line.decode().split("|"), strict=True)) for line in table.lines[1:]]


def _toi_key(toi: str) -> tuple[int, int]:
    host, planet = toi.split(".")
    return int(host), int(planet)


def _direct(rows, *, tfopwg=None, tmag_max=None, period=(None, None), depth_min=None, rp_max=None, ts_max=None):
    out = []
    for row in rows:
        if tfopwg and row["TFOPWG Disposition"].strip().upper() not in tfopwg:
            continue
        tmag = _number(row["TESS Mag"])
        if tmag_max is not None and (tmag is None or tmag > tmag_max):
            continue
        p = _number(row["Period (days)"])
        if period[0] is not None and (p is None or p < period[0]):
            continue
        if period[1] is not None and (p is None or p > period[1]):
            continue
        depth = _number(row["Depth (ppm)"])
        if depth_min is not None and (depth is None or depth < depth_min):
            continue
        rp = _number(row["Planet Radius (R_Earth)"])
        if rp_max is not None and (rp is None or rp > rp_max):
            continue
        if ts_max is not None and int(_number(row["Time Series Observations"]) or 0) > ts_max:
            continue
        out.append(row["TOI"])
    return sorted(out, key=_toi_key)


async def _all(exofop, request: SearchToisRequest) -> list[str]:
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = await search_tois(exofop.catalog, request.model_copy(update={"offset": offset, "limit": 200}))
        assert len(json.dumps(page.model_dump(mode="json", exclude_none=True))) < 20_000
        seen += [r.toi for r in page.rows]
        offset = page.next_offset
    assert len(seen) == page.total
    return seen


@pytest.mark.parametrize(
    ("request_args", "direct_args"),
    [
        (
            {"tfopwg_disposition": ["PC", "apc"], "tess_mag_max": 11.0, "time_series_max": 0},
            {"tfopwg": {"PC", "APC"}, "tmag_max": 11.0, "ts_max": 0},
        ),
        (
            {"period_min_days": 1.0, "period_max_days": 3.0, "planet_radius_max_earth": 4.0},
            {"period": (1.0, 3.0), "rp_max": 4.0},
        ),
        ({"depth_min_ppm": 20000.0, "tfopwg_disposition": ["CP"]}, {"depth_min": 20000.0, "tfopwg": {"CP"}}),
    ],
)
async def test_search_matches_a_direct_computation(warm_settings, replica, table_rows, request_args, direct_args):
    expected = _direct(table_rows, **direct_args)
    assert expected, "the filters should match something"
    async with Exofop(warm_settings) as exofop:
        replica.reset_requests()
        found = await _all(exofop, SearchToisRequest(**request_args))
    assert found == expected
    assert replica.requests == []  # a fresh cache answers without asking ExoFOP


async def test_rows_carry_the_table_values_and_sort(warm_settings, table_rows):
    by_toi = {row["TOI"]: row for row in table_rows}
    async with Exofop(warm_settings) as exofop:
        page = await search_tois(exofop.catalog, SearchToisRequest(sort_by="-depth_ppm", limit=30))
        warm = []
        for _ in range(5):
            started = time.perf_counter()
            await search_tois(exofop.catalog, SearchToisRequest(tfopwg_disposition=["PC"], limit=200))
            warm.append(time.perf_counter() - started)
    depths = [r.depth_ppm for r in page.rows]
    assert depths == sorted(depths, reverse=True)
    top = max((_number(r["Depth (ppm)"]) or -1, r["TOI"]) for r in table_rows)
    assert page.rows[0].depth_ppm == pytest.approx(top[0])
    for row in page.rows:
        source = by_toi[row.toi]
        assert row.tic_id == int(source["TIC ID"]) and row.system == f"TOI-{row.toi.split('.')[0]}"
        assert row.tfopwg_disposition == (source["TFOPWG Disposition"].strip().upper() or None)
        assert row.time_series_count == int(_number(source["Time Series Observations"]) or 0)
    assert page.total == len(table_rows) and page.next_offset == 30
    print(f"warm search_tois: best {min(warm) * 1000:.1f} ms")


def test_bad_ranges_and_arguments_are_refused():
    with pytest.raises(ValueError, match="tess_mag_min"):
        SearchToisRequest(tess_mag_min=12, tess_mag_max=10)
    with pytest.raises(ValueError, match="Extra inputs"):
        SearchToisRequest.model_validate({"band": "zs"})
    with pytest.raises(ValueError):
        SearchToisRequest(limit=201)

"""The ``search_tois`` tool: which TOIs match, from the cached TOI catalog."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from exofop_mcp.api import Exofop
from exofop_mcp.mcp_server.tool_registration import READ_ONLY, add_model_tool
from exofop_mcp.site.toi_search import SearchToisRequest, ToiSearchResult, search_tois

SEARCH_DESCRIPTION = """\
Search the whole TOI catalog, e.g. "which TOIs still need follow-up?": filter by tfopwg_disposition \
and tess_disposition (lists, e.g. ["PC", "APC"]), TESS magnitude, period, depth, planet radius, an RA/Dec \
box (dec_min_deg/dec_max_deg for what a site's latitude sees; ra_min_deg above ra_max_deg wraps through 0h), \
SG1A/SG1B priority at most N (1 most urgent), and at most N time_series/spectroscopy/imaging \
observations (the counts the TOI table gives; list_observations has the rows themselves). \
Sort with sort_by (a leading '-' for descending), page \
with limit/offset. Rows carry toi, tic_id, the canonical system name to pass to list_observations, \
dispositions, period, duration, depth, radius, Tmag, RA/Dec, priorities and the counts. Answers from the cached \
catalog, without asking ExoFOP while the cache is fresh."""


async def _search(exofop: Exofop, request: SearchToisRequest, ctx: Context) -> ToiSearchResult:
    return await search_tois(exofop.catalog, request)


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def search_summary(r: ToiSearchResult) -> str:
    filters = ", ".join(f"{k}={v}" for k, v in r.filters.items())
    head = f"{r.total} TOI(s)" + (f" matching {filters}" if filters else " in the catalog")
    if r.returned == 0:
        lines = [head + ("." if r.total == 0 else f"; none shown (offset {r.offset} is past the last row).")]
    else:
        lines = [head + f", sorted by {r.sort_by}; rows {r.offset + 1}-{r.offset + r.returned} shown:"]
        lines.append(
            "toi | system | tic | tfopwg/tess | period_d | dur_h | depth_ppm | rp_earth | tmag | ra,dec | ts/spec/img"
        )
        for t in r.rows:
            lines.append(
                f"{t.toi} | {t.system} | {t.tic_id} | {t.tfopwg_disposition or '-'}/{t.tess_disposition or '-'} | "
                f"{_num(t.period_days, '.5f')} | {_num(t.duration_hours, '.2f')} | {_num(t.depth_ppm, '.0f')} | "
                f"{_num(t.planet_radius_earth, '.2f')} | {_num(t.tess_mag, '.2f')} | "
                f"{_num(t.ra_deg, '.4f')},{_num(t.dec_deg, '+.4f')} | "
                f"{t.time_series_count or 0}/{t.spectroscopy_count or 0}/{t.imaging_count or 0}"
            )
    if r.next_offset is not None:
        lines.append(f"More rows: call again with offset={r.next_offset}.")
    if r.catalog is not None:
        lines.append(
            f"Catalog: {r.catalog.rows} TOIs, {r.catalog.age_hours:.1f} h old" + (" (stale)" if r.catalog.stale else "")
        )
    lines.append("Counts ts/spec/img are the TOI table's; list_observations(system=...) lists the observations.")
    lines.extend(f"Note: {n}" for n in r.notes)
    return "\n".join(lines)


def register_search_tools(server: MCPServer[Any]) -> None:
    add_model_tool(
        server,
        name="search_tois",
        title="Search the TOI catalog",
        description=SEARCH_DESCRIPTION,
        request_model=SearchToisRequest,
        result_model=ToiSearchResult,
        handler=_search,
        summarize=search_summary,
        annotations=READ_ONLY,
    )

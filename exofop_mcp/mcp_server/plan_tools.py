"""The ``plan_transits`` tool: which TOI transits a site can observe over a span of nights."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from exofop_mcp.api import Exofop
from exofop_mcp.mcp_server.tool_registration import ADDS_FILES, add_model_tool
from exofop_mcp.planning.models import PlanTransitsRequest, PlanTransitsResult, TransitEvent

PLAN_DESCRIPTION = """\
Plan an observer's night(s): every predicted transit of the TOIs (from the TOI catalog's ephemerides) \
that a site can observe. Give observatory (e.g. 'lco-ctio', 'lco-tfn', 'muscat2', 'trappist-north', \
'speculoos-south', 'el-sauce', 'pest', 'keplercam', 'ohp', 'calar-alto'; an unknown name lists the close ones) \
or latitude_deg/longitude_deg (east positive)/elevation_m; start_date (the first evening's local date, \
YYYY-MM-DD) and nights (1-60). Targets: systems (any names resolve_system takes) and/or the search_tois \
filters (dispositions, SG1A/SG1B priority, Tmag, depth, period, RA/Dec box). Observable = target above \
min_altitude_deg (30) while the Sun is below sun_altitude_deg (-12); transits less than \
min_observable_fraction (0.5) observable are left out (0 keeps all). Each event: night, toi, tic_id, \
mid/ingress/egress UTC, mid_bjd_tdb, the mid-time's 1-sigma (ephemeris_stale when it exceeds the \
duration), altitude and airmass at ingress/mid/egress, observable fraction of the transit and of the \
baselines (baseline_minutes, 30), coverage, Moon separation and illumination, depth, Tmag, dispositions, \
priorities and the time-series count. chart=true draws a PNG per event of the page under \
<system>/plans/ (preview it with preview_file). Sort with sort_by, page with limit/offset."""


async def _plan(exofop: Exofop, request: PlanTransitsRequest, ctx: Context) -> PlanTransitsResult:
    return await exofop.plan_transits_for(request)


def _hm(moment: Any) -> str:
    return moment.strftime("%H:%M")


def event_row(e: TransitEvent) -> str:
    sigma = "?" if e.mid_uncertainty_minutes is None else f"{e.mid_uncertainty_minutes:.0f}"
    stale = " STALE" if e.ephemeris_stale else ""
    altitudes = "/".join(f"{a:.0f}" for a in e.altitude_deg)
    depth = "-" if e.depth_ppm is None else f"{e.depth_ppm:.0f}"
    tmag = "-" if e.tess_mag is None else f"{e.tess_mag:.1f}"
    priority = f"{e.sg1a_priority or '-'}/{e.sg1b_priority or '-'}"
    local = f" ({e.mid_local[11:16]} local)" if e.mid_local else ""
    return (
        f"{e.night.isoformat()} | TOI-{e.toi} | {_hm(e.ingress_utc)}-{_hm(e.egress_utc)} mid {_hm(e.mid_utc)}{local} "
        f"±{sigma}m{stale} | {altitudes} | {e.observable_fraction:.0%} {e.coverage} | "
        f"{e.moon_separation_deg:.0f}°/{e.moon_illumination:.0%} | {tmag} | {depth} | {priority} | "
        f"{e.tfopwg_disposition or '-'} | {e.time_series_count or 0}"
    )


def plan_summary(r: PlanTransitsResult, *, terminal: bool = False, data_dir: Any = None) -> str:
    """The text half: a header, the nights, a table of the events, paging and notes.

    ``terminal``: worded for the command line (flags, file paths under ``data_dir``)."""
    site = r.site
    place = f"{site.key or site.name} ({site.latitude_deg:+.4f}, {site.longitude_deg:+.4f}, {site.elevation_m:.0f} m)"
    count = (r.last_night - r.start_date).days + 1
    span = f"the night of {r.start_date}" if count == 1 else f"{count} nights from {r.start_date} to {r.last_night}"

    def setting(name: str, value: object) -> str:
        return f"--{name.replace('_', '-')} {value}" if terminal else f"{name}={value}"

    limits = ", ".join(setting(k, f"{v:g}") for k, v in r.constraints.items())
    least = r.constraints.get("min_observable_fraction", 0.0)
    kept = f"at least {least:.0%} observable" if least > 0 else "in the span"
    head = f"{r.total} transit(s) {kept} at {place}, {span} ({limits})"
    filters = ", ".join(setting(k, v) for k, v in r.filters.items())
    lines = [head + (f"; filters {filters}" if filters else "") + f"; {r.targets} TOIs planned."]
    for n in r.nights:
        dark = f"dark {_hm(n.dusk_utc)}-{_hm(n.dawn_utc)} UTC ({n.dark_hours:.1f} h)" if n.dusk_utc else "no dark time"
        lines.append(f"Night {n.night.isoformat()}: {dark}, Moon {n.moon_illumination:.0%} lit.")
    if count > len(r.nights):
        lines.append(f"(the {count - len(r.nights)} later nights are not listed; each event names its night)")
    if r.returned:
        lines.append(f"Events {r.offset + 1}-{r.offset + r.returned}, sorted by {r.sort_by}:")
        lines.append(
            "night | TOI | ingress-egress UTC, mid | ±1σ | alt ing/mid/egr ° | observable | moon sep/lit | "
            "Tmag | depth ppm | SG1A/SG1B | TFOPWG | ts obs"
        )
        lines.extend(event_row(e) for e in r.events)
        if terminal:
            lines.extend(f"Chart: {data_dir / e.system / e.chart}" for e in r.events if e.chart)
        else:
            charts = [f"system={e.system} path={e.chart}" for e in r.events if e.chart]
            if charts:
                lines.append("Charts (open with preview_file): " + "; ".join(charts))
    if r.next_offset is not None:
        lines.append(
            f"More events: the same command with --offset {r.next_offset}."
            if terminal
            else f"More events: call plan_transits again with offset={r.next_offset}."
        )
    lines.extend(f"Note: {n}" for n in r.notes)
    return "\n".join(lines)


def register_plan_tools(server: MCPServer[Any]) -> None:
    add_model_tool(
        server,
        name="plan_transits",
        title="Plan transit observations",
        description=PLAN_DESCRIPTION,
        request_model=PlanTransitsRequest,
        result_model=PlanTransitsResult,
        handler=_plan,
        summarize=plan_summary,
        annotations=ADDS_FILES,
    )

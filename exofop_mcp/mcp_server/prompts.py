"""Prompts for astronomers' common requests: each one a short plan that uses the tools."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer


def follow_up_status(target: str) -> str:
    return f"""Give me the follow-up status of {target} on ExoFOP-TESS.

1. Call resolve_system(query="{target}") and note the canonical name, the planet candidates and their dispositions.
2. Call list_observations for kind time_series, spectroscopy and imaging (page with offset while next_offset is set).
3. Report, by kind: how many observations, which telescopes/instruments, filters and date range, and who observed.
4. For each planet candidate, say whether it has ground-based time series (rows whose `toi` names it) and with \
what transit coverage; list the candidates that have none.
5. Say what may be proprietary (uploaded in the last 12 months) and whether login_status shows access to it.
Keep it to a compact table per kind plus a few lines of conclusions."""


def plan_download(target: str, kind: str = "time_series", filter: str = "") -> str:
    band = f' with filter="{filter}"' if filter else ""
    return f"""Help me plan a download of {kind} data for {target}.

1. resolve_system(query="{target}"), then list_observations(system=<canonical name>, kind="{kind}"{band}).
2. Show the matching tags with date, telescope, filter/instrument and observer, and how many there are.
3. Check login_status: proprietary tags need `exofop-mcp login` in my own terminal (never ask for my password).
4. Propose which tags to fetch and ask me to confirm; then call download_tags with those tags, and poll \
download_status(job_id) while state is "running".
5. Finish with what was downloaded, what needs attention, and where the files are."""


def latest_light_curves(target: str, count: str = "3") -> str:
    return f"""Check the latest ground-based light curves of {target}.

1. resolve_system(query="{target}"); list_observations(kind="time_series") and take the {count} most recent \
observations (the last rows; use offset to reach the end).
2. download_tags those tags (poll download_status while running).
3. For each, preview_file the light-curve plot (.png) and the measurement table (.tbl/.csv): report the time \
span, number of points, the flux range and whether a transit-like dip is visible, with the observer's notes.
4. Say which planet candidate each one targets and whether the coverage was full, ingress or egress."""


def targets_needing_follow_up(disposition: str = "PC,APC", tess_mag_max: str = "12", time_series_max: str = "0") -> str:
    dispositions = [d.strip() for d in disposition.split(",") if d.strip()]
    return f"""Which TOIs still need ground-based follow-up?

1. Call search_tois(tfopwg_disposition={dispositions}, tess_mag_max={tess_mag_max}, \
time_series_max={time_series_max}, sort_by="tess_mag") and page with offset while next_offset is set \
(at most a few pages).
2. Show the brightest candidates as a table: TOI, system, period, duration, depth, radius, Tmag, counts.
3. Note that counts come from the TOI table; for the top few, confirm with list_observations(kind="time_series").
4. Suggest which are easiest to observe (deep transits, short periods, bright hosts)."""


def plan_my_night(observatory: str, date: str = "tonight", nights: str = "1") -> str:
    return f"""Plan my night at {observatory}: which TOI transits can I observe, and which still need follow-up?

1. Call plan_transits(observatory="{observatory}", start_date=<{date} as YYYY-MM-DD, the evening's local date>, \
nights={nights}); if the name is unknown, use one of the close names it lists, or ask me for my latitude, \
longitude and elevation.
2. Show the events as a table: night, TOI, ingress-egress (UTC and local), the mid-time's uncertainty, altitudes, \
observable fraction and coverage, Moon, Tmag, depth, SG1A/SG1B priority, TFOPWG disposition, time-series count.
3. Point out the best ones for TFOP: high priority (SG1A/SG1B 1-2), few or no time-series observations, full \
coverage with baseline, and every transit flagged ephemeris_stale (those timings are the most valuable).
4. Offer charts (chart=true) for the ones I pick, and preview them with preview_file."""


PROMPTS: list[tuple[Callable[..., str], str, str, str]] = [
    (
        follow_up_status,
        "follow_up_status",
        "Follow-up status of a target",
        "What was observed for a TOI or star by kind, which planet candidates lack ground-based time "
        "series, and what is proprietary.",
    ),
    (
        plan_download,
        "plan_download",
        "Plan a download",
        "Choose the tags of one kind (optionally one filter band) for a target, check login, then download them.",
    ),
    (
        latest_light_curves,
        "latest_light_curves",
        "Check the latest light curves",
        "Download a target's most recent ground-based light curves and look at their plots and tables.",
    ),
    (
        targets_needing_follow_up,
        "targets_needing_follow_up",
        "TOIs that need follow-up",
        "Search the TOI catalog for candidates (by disposition, brightness) with few or no time-series observations.",
    ),
    (
        plan_my_night,
        "plan_my_night",
        "Plan my night at an observatory",
        "The TOI transits a site can observe tonight (or over several nights), and which of them TFOP still needs.",
    ),
]


def register_prompts(server: MCPServer[Any]) -> None:
    for fn, name, title, description in PROMPTS:
        server.prompt(name=name, title=title, description=description)(fn)

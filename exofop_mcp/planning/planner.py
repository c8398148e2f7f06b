"""``plan_transits``: which TOI transits a site can catch over a span of nights, as one page of events.

The catalog gives the targets (:mod:`.selection`), :mod:`.events` computes every transit of the span
at once, :mod:`.page` keeps those observable enough, sorts them and turns one page into models,
and :mod:`.chart_files` draws that page's charts on request.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from exofop_mcp.errors import ExofopResponseError, InvalidRequestError
from exofop_mcp.planning.chart_files import write_charts
from exofop_mcp.planning.events import PlanSettings, plan_span
from exofop_mcp.planning.models import PlanTransitsRequest, PlanTransitsResult
from exofop_mcp.planning.page import page_of, zone_of
from exofop_mcp.planning.selection import select_targets
from exofop_mcp.planning.sites import ObservingSite, site_at, site_named
from exofop_mcp.site.catalog import TOICatalog
from exofop_mcp.site.resolver import SystemResolver


def site_of(request: PlanTransitsRequest) -> ObservingSite:
    if request.observatory:
        return site_named(request.observatory)
    assert request.latitude_deg is not None and request.longitude_deg is not None and request.elevation_m is not None
    longitude = request.longitude_deg - 360.0 if request.longitude_deg > 180 else request.longitude_deg
    return site_at(request.latitude_deg, longitude, request.elevation_m, request.timezone)


async def plan_transits(
    catalog: TOICatalog, resolver: SystemResolver, request: PlanTransitsRequest, data_dir: Path
) -> PlanTransitsResult:
    """Plan the request's nights from the cached catalog (refreshed first only when missing or out of date)."""
    site = site_of(request)
    if site.timezone and zone_of(site) is None:
        raise InvalidRequestError(f"Unknown time zone {site.timezone!r}.", hint="Give an IANA name such as 'UTC'.")
    status = await catalog.ensure()
    notes: list[str] = []
    tics: list[int] | None = None
    if request.systems:
        tics = []
        for name in request.systems:
            system = await resolver.resolve(name)
            tics.append(system.tic_id)
            if not system.planets:
                notes.append(f"{name} ({system.canonical_name}) has no TOI, so no ephemeris to plan.")
    conn = catalog.connection()
    if conn is None:  # pragma: no cover - ensure() leaves a usable cache or raises
        raise ExofopResponseError("The TOI catalog cache could not be opened.", hint="Try again in a moment.")
    targets = select_targets(conn, request, tics)
    settings = PlanSettings(
        request.start_date, request.nights, request.min_altitude_deg, request.sun_altitude_deg, request.baseline_minutes
    )
    if status.stale:
        notes.append(f"ExoFOP could not be reached; this is the catalog of {status.age_hours:.1f} h ago.")
    plan = await asyncio.to_thread(plan_span, site, targets, settings)
    result = page_of(plan, request, site, status, notes)
    if request.chart and result.events:
        await asyncio.to_thread(write_charts, plan, result, data_dir)
    return result

"""One page of a plan: the events a request keeps, in its order, as models under the 20 kB budget."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Sequence

import numpy as np

from exofop_mcp.planning.chart_files import chart_path
from exofop_mcp.planning.events import COVERAGE, SpanPlan
from exofop_mcp.planning.models import (
    NightSummary,
    PlanTransitsRequest,
    PlanTransitsResult,
    SiteSummary,
    TransitEvent,
)
from exofop_mcp.planning.nights import datetime_of_jd
from exofop_mcp.planning.selection import Targets
from exofop_mcp.planning.sites import ObservingSite
from exofop_mcp.result_pages import fit_page, json_size
from exofop_mcp.site.catalog import CatalogStatus

#: A page's JSON stays under this many bytes, whatever ``limit`` asks for.
PAGE_BUDGET_BYTES = 19_000
#: Nights described in the answer (the events name their own night).
NIGHTS_SHOWN = 7


def zone_of(site: ObservingSite) -> zoneinfo.ZoneInfo | None:
    """The site's time zone, when it has one this machine knows."""
    if not site.timezone:
        return None
    try:
        return zoneinfo.ZoneInfo(site.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def order_of(plan: SpanPlan, sort_by: str, keep: np.ndarray) -> np.ndarray:
    """Indices of the kept events in the requested order (missing values last, then by time)."""
    events, targets = plan.events, plan.targets
    index = np.flatnonzero(keep)
    key = sort_by.lstrip("-")
    sign = -1.0 if sort_by.startswith("-") else 1.0
    time = events.transits.mid_utc[index]
    if key == "time":
        return index[np.argsort(time, kind="stable")]
    target = events.transits.target[index]

    def per_target(values: Sequence[float | int | None]) -> np.ndarray:
        array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        return array[target] if array.size else np.zeros(0)

    values = {
        "toi": lambda: target.astype(np.float64),  # the targets come by host, then planet number
        "sg1a_priority": lambda: per_target(targets.sg1a_priority),
        "sg1b_priority": lambda: per_target(targets.sg1b_priority),
        "tess_mag": lambda: per_target(targets.tess_mag),
        "depth_ppm": lambda: per_target(targets.depth_ppm),
        "observable_fraction": lambda: events.fraction[index],
        "mid_uncertainty_minutes": lambda: events.transits.sigma_days[index],
        "max_altitude_deg": lambda: np.max(events.altitude[index], axis=1),
    }[key]()
    primary = np.where(np.isnan(values), np.inf, sign * values)
    return index[np.lexsort((time, primary))]


def page_of(
    plan: SpanPlan,
    request: PlanTransitsRequest,
    site: ObservingSite,
    catalog: CatalogStatus | None = None,
    notes: list[str] | None = None,
) -> PlanTransitsResult:
    """One page of the events the request keeps, in its order, sized (charts' names included) under the budget."""
    events = plan.events
    keep = events.fraction >= request.min_observable_fraction - 1e-9
    ordered = order_of(plan, request.sort_by, keep)
    total = int(ordered.size)
    result = PlanTransitsResult(
        site=SiteSummary(
            name=site.name,
            key=site.key or None,
            latitude_deg=site.latitude_deg,
            longitude_deg=site.longitude_deg,
            elevation_m=site.elevation_m,
            timezone=site.timezone,
            source=site.source,
        ),
        start_date=request.start_date,
        last_night=plan.nights.dates[-1],
        nights=_nights(plan),
        total=total,
        offset=request.offset,
        returned=0,
        sort_by=request.sort_by,
        filters=request.active(),
        constraints={
            "min_altitude_deg": request.min_altitude_deg,
            "sun_altitude_deg": request.sun_altitude_deg,
            "baseline_minutes": request.baseline_minutes,
            "min_observable_fraction": request.min_observable_fraction,
        },
        targets=len(plan.targets),
        transits_in_span=len(events),
        catalog=catalog,
        notes=list(notes or []),
    )
    result.notes.extend(_selection_notes(plan.targets, len(events) - total, request))
    if request.offset >= total and total:
        result.notes.append(f"offset {request.offset} is past the last event ({total} events).")
    zone = zone_of(site)
    if site.timezone and zone is None:
        result.notes.append(f"The time zone {site.timezone} is not installed here; local times are left out.")
    site_key = site.key or "site"
    page = (
        _event(plan, int(i), zone, site_key if request.chart else None)
        for i in ordered[request.offset : request.offset + request.limit]
    )
    kept, cut = fit_page(page, json_size(result) + 400, PAGE_BUDGET_BYTES, separator=2)
    end = request.offset + len(kept)
    if cut:
        result.notes.append(f"Page cut to {len(kept)} events to stay under ~20 kB; the rest from offset={end}.")
    result.events = kept
    result.returned = len(kept)
    result.next_offset = end if end < total else None
    return result


def _selection_notes(targets: Targets, dropped: int, request: PlanTransitsRequest) -> list[str]:
    notes = []
    if targets.single_transit:
        notes.append(f"{targets.single_transit} single-transit TOI(s) (no period) left out: no ephemeris to predict.")
    if targets.no_ephemeris:
        shown = ", ".join(targets.no_ephemeris[:5]) + (" ..." if len(targets.no_ephemeris) > 5 else "")
        notes.append(f"{len(targets.no_ephemeris)} TOI(s) without epoch, duration or coordinates left out: {shown}.")
    if dropped:
        notes.append(
            f"{dropped} transit(s) in the span are less than {request.min_observable_fraction:.0%} observable "
            "(target below min_altitude_deg or the Sun up); lower min_observable_fraction to see them."
        )
    return notes


def _nights(plan: SpanPlan) -> list[NightSummary]:
    nights = plan.nights
    shown = min(len(nights.dates), NIGHTS_SHOWN)
    midnight = (nights.noon[:shown] + nights.noon[1 : shown + 1]) / 2.0
    moon = plan.sky.moon_illumination(midnight)
    out = []
    for i in range(shown):
        dusk, dawn = float(nights.dusk[i]), float(nights.dawn[i])
        dark = not math.isnan(dusk)
        out.append(
            NightSummary(
                night=nights.dates[i],
                dusk_utc=_utc(dusk) if dark else None,
                dawn_utc=_utc(dawn) if dark else None,
                dark_hours=round((dawn - dusk) * 24.0, 2) if dark else 0.0,
                moon_illumination=round(float(moon[i]), 2),
            )
        )
    return out


def _utc(jd: float) -> dt.datetime:
    """A JD UTC to the second."""
    moment = datetime_of_jd(jd)
    return (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


def _maybe(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def _event(plan: SpanPlan, i: int, zone: zoneinfo.ZoneInfo | None, chart_site: str | None) -> TransitEvent:
    """Event ``i`` as a model; ``chart_site``: the chart's file is named (it is drawn once the page is chosen)."""
    events, targets = plan.events, plan.targets
    t = int(events.transits.target[i])
    mid = float(events.transits.mid_utc[i])
    sigma = float(events.transits.sigma_days[i]) * 1440.0
    duration = float(targets.ephemerides.duration[t])
    raw = [float(a) for a in events.altitude[i]]
    host = targets.host[t]
    night = int(events.night[i])
    first, last = float(events.observable_from[i]), float(events.observable_until[i])
    event = TransitEvent(
        night=plan.nights.dates[min(max(night, 0), len(plan.nights.dates) - 1)],
        toi=targets.toi[t],
        tic_id=targets.tic[t],
        system=f"TOI-{host}" if host else f"TIC-{targets.tic[t]}",
        cycle=int(events.transits.cycle[i]),
        mid_bjd_tdb=float(events.transits.mid_bjd[i]),
        mid_utc=_utc(mid),
        ingress_utc=_utc(float(events.ingress[i])),
        egress_utc=_utc(float(events.egress[i])),
        mid_local=datetime_of_jd(mid).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if zone else None,
        mid_uncertainty_minutes=_maybe(sigma, 1),
        ephemeris_stale=bool(sigma > duration * 1440.0),
        altitude_deg=[round(a, 2) for a in raw],
        airmass=[round(1.0 / math.sin(math.radians(a)), 3) if a > 0 else None for a in raw],
        sun_altitude_deg=round(float(events.sun_altitude[i]), 1),
        observable_fraction=round(float(events.fraction[i]), 3),
        baseline_before_fraction=_maybe(float(events.before_fraction[i]), 3),
        baseline_after_fraction=_maybe(float(events.after_fraction[i]), 3),
        coverage=COVERAGE[int(events.coverage[i])],
        observable_from_utc=None if math.isnan(first) else _utc(first),
        observable_until_utc=None if math.isnan(last) else _utc(last),
        moon_separation_deg=round(float(events.moon_separation[i]), 1),
        moon_illumination=round(float(events.moon_illumination[i]), 2),
        duration_hours=round(duration * 24.0, 3),
        period_days=float(targets.ephemerides.period[t]),
        depth_ppm=targets.depth_ppm[t],
        depth_mmag=targets.depth_mmag[t],
        tess_mag=targets.tess_mag[t],
        tfopwg_disposition=targets.tfopwg_disposition[t],
        tess_disposition=targets.tess_disposition[t],
        sg1a_priority=targets.sg1a_priority[t],
        sg1b_priority=targets.sg1b_priority[t],
        time_series_count=targets.time_series_count[t],
    )
    if chart_site is not None:
        event.chart = chart_path(event, chart_site)
    return event

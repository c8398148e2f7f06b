"""The charts of a page of events, written into the sandbox: ``<system>/plans/<night>_<toi>_<site>.png``.

Each file goes inside its system's folder of the download sandbox (where ``preview_file`` finds it),
written atomically into a real folder opened one by one from the sandbox root with no link followed
(:mod:`exofop_mcp.sandbox_files`): a link on the way is refused, naming it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path, PurePosixPath

import numpy as np

from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.planning.chart import NightChart, draw
from exofop_mcp.planning.events import SpanPlan
from exofop_mcp.planning.models import PlanTransitsResult, TransitEvent
from exofop_mcp.planning.nights import jd_of_date
from exofop_mcp.sandbox_files import open_folder_for_writing

PLANS_FOLDER = "plans"
SAMPLES = 289  # every five minutes from noon to noon


def chart_path(event: TransitEvent, site_key: str) -> str:
    """The chart's path in its system's folder: ``plans/<night>_TOI-<toi>_<site>.png``."""
    safe = re.sub(r"[^A-Za-z0-9._\-]", "-", f"{event.night.isoformat()}_TOI-{event.toi}_{site_key}")
    return f"{PLANS_FOLDER}/{safe}.png"


def write_charts(plan: SpanPlan, result: PlanTransitsResult, data_dir: Path) -> None:
    """Draw each event of the page that names a chart, at that path."""
    index = {toi: i for i, toi in enumerate(plan.targets.toi)}
    for event in result.events:
        if event.chart is None:
            continue
        system = SystemDirectory(data_dir, event.system)
        chart = PurePosixPath(event.chart)
        if chart.parent.as_posix() != PLANS_FOLDER:
            raise ValueError(f"{event.chart!r} is not a chart's path")
        data = draw(_night_chart(plan, event, index[event.toi]))
        with open_folder_for_writing(system.root, f"{system.name}/{PLANS_FOLDER}") as folder:
            folder.write(chart.name, data)


def _night_chart(plan: SpanPlan, event: TransitEvent, target: int) -> NightChart:
    night = (event.night - plan.nights.dates[0]).days
    noon = float(plan.nights.noon[night])
    hours = np.linspace(0.0, 24.0, SAMPLES)
    times = noon + hours / 24.0
    sky, stars = plan.sky, plan.stars
    midnight_jd = jd_of_date(event.night)
    ingress = (event.ingress_utc.timestamp() / 86400.0 + 2440587.5 - noon) * 24.0
    egress = (event.egress_utc.timestamp() / 86400.0 + 2440587.5 - noon) * 24.0
    sigma = event.mid_uncertainty_minutes
    return NightChart(
        title=f"TOI-{event.toi}, night of {event.night.isoformat()}, {sky.site.key or sky.site.name}",
        hours=hours,
        utc_hour_at_zero=(noon - midnight_jd) * 24.0,
        target_altitude=sky.altitude(stars.ra[target], stars.dec[target], times),
        moon_altitude=sky.moon_altitude(times),
        sun_altitude=sky.sun_altitude(times),
        ingress=ingress,
        egress=egress,
        sigma_hours=math.nan if sigma is None else sigma / 60.0,
        baseline_hours=plan.settings.baseline_minutes / 60.0,
        min_altitude=plan.settings.min_altitude_deg,
        sun_limit=plan.settings.sun_altitude_deg,
        moon_note=f"Moon ({event.moon_illumination:.0%} lit, {event.moon_separation_deg:.0f} deg away)",
    )

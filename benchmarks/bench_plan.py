"""Benchmark: the transit planner over the whole TOI catalog, beside an observer's astroplan/astropy script.

    .venv/bin/python benchmarks/bench_plan.py                    # 30 nights from lco-ctio, ~2-4 min
    .venv/bin/python benchmarks/bench_plan.py --quick            # 3 repeats -> 1, 40 reference targets
    .venv/bin/python benchmarks/bench_plan.py --reference-targets 0   # every target through the reference (long)

exofop-mcp: ``Exofop.plan_transits`` in this process on a warm catalog (the replica's ~7,700 TOIs,
fetched once before timing), every transit of every TOI with a period over the nights, each with its
times, altitudes, Moon and observable fractions; the median of a few runs.

The reference is the plan as observers script it today: a loop over the targets, each one's transits
from astroplan's ``EclipsingSystem``, and for each transit its window (transit plus baselines) sampled
every few minutes through astroplan's ``AltitudeConstraint`` and ``AtNightConstraint`` (astropy's AltAz
underneath), the Moon from ``Observer.moon_illumination`` and astropy's ``get_body``.  astroplan is not
a dependency of exofop-mcp: ``pip install astroplan`` to run it; without it the same loop runs on plain
astropy.  It takes about 0.1 s a target, so by default it runs on an evenly spread sample of targets and
its time is scaled to the whole catalog (said in the output); ``--reference-targets 0`` runs them all.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _common import banner, print_table

from exofop_mcp.api import Exofop
from exofop_mcp.planning.events import PlanSettings, plan_span
from exofop_mcp.planning.models import PlanTransitsRequest
from exofop_mcp.planning.selection import select_targets
from exofop_mcp.planning.sites import ObservingSite, site_named
from exofop_mcp.replica import Replica, ReplicaConfig
from exofop_mcp.settings import Settings

SITE = "lco-ctio"
START = dt.date(2026, 12, 7)
NIGHTS = 30
TARGET_S = 2.0
SAMPLE_MINUTES = 5.0


def settings_for(base_url: str, root: Path) -> Settings:
    return Settings(base_url=base_url, data_dir=root / "data", cache_dir=root / "cache", config_dir=root / "config")


async def measure_ours(exofop: Exofop, repeats: int) -> tuple[float, float, Any]:
    """(median whole-call seconds, median core seconds, the last result)."""
    request = PlanTransitsRequest(observatory=SITE, start_date=START, nights=NIGHTS, min_observable_fraction=0.0)
    walls, cores = [], []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = await exofop.plan_transits_for(request)
        walls.append(time.perf_counter() - started)
        conn = exofop.catalog.connection()
        assert conn is not None
        started = time.perf_counter()
        targets = select_targets(conn, request)
        plan_span(site_named(SITE), targets, PlanSettings(START, NIGHTS))
        cores.append(time.perf_counter() - started)
    return statistics.median(walls), statistics.median(cores), result


def reference_plan(site: ObservingSite, rows: list[tuple[float, ...]], use_astroplan: bool) -> tuple[int, list[float]]:
    """The observer's loop: (transits found, observable fraction of each transit), one target at a time."""
    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body, get_sun
    from astropy.time import Time

    location = EarthLocation.from_geodetic(
        site.longitude_deg * u.deg, site.latitude_deg * u.deg, site.elevation_m * u.m
    )
    noon = Time(f"{START.isoformat()}T12:00:00", scale="utc") - site.longitude_deg / 360.0 * u.day
    end = noon + NIGHTS * u.day
    steps = np.linspace(0.0, 1.0, 25)
    baseline = 30 * u.min
    fractions: list[float] = []
    found = 0
    if use_astroplan:
        from astroplan import AltitudeConstraint, AtNightConstraint, EclipsingSystem, FixedTarget, Observer

        observer = Observer(location=location)
        constraints = [AltitudeConstraint(min=30 * u.deg), AtNightConstraint(max_solar_altitude=-12 * u.deg)]
    for epoch, period, duration, ra, dec in rows:
        coord = SkyCoord(ra * u.deg, dec * u.deg)
        count = int(np.ceil((end - noon).to_value(u.day) / period)) + 1
        if use_astroplan:
            system = EclipsingSystem(
                primary_eclipse_time=Time(epoch, format="jd", scale="tdb"),
                orbital_period=period * u.day,
                duration=duration * u.day,
            )
            mids = system.next_primary_eclipse_time(noon, n_eclipses=count)
            mids = mids[(mids >= noon) & (mids < end)]
        else:
            first = np.ceil((noon.tdb.jd - epoch) / period)
            cycles = first + np.arange(count)
            mids = Time(epoch + cycles * period, format="jd", scale="tdb")
            mids = mids[(mids >= noon) & (mids < end)]
        if len(mids) == 0:
            continue
        found += len(mids)
        start = mids - (duration / 2) * u.day - baseline
        span = duration * u.day + 2 * baseline
        grid = start[:, None] + span * steps[None, :]
        flat = grid.ravel()
        if use_astroplan:
            target = FixedTarget(coord)
            ok = np.ones(flat.shape, dtype=bool)
            for constraint in constraints:
                ok &= np.asarray(constraint(observer, target, times=flat)).ravel()
            observer.moon_illumination(mids)
        else:
            frame = AltAz(obstime=flat, location=location)
            ok = (coord.transform_to(frame).alt.deg >= 30) & (get_sun(flat).transform_to(frame).alt.deg < -12)
        get_body("moon", mids, location).separation(coord, origin_mismatch="ignore")
        inside = ok.reshape(grid.shape)[:, 6:19]  # the samples between ingress and egress
        fractions.extend(inside.mean(axis=1).tolist())
    return found, fractions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reference-targets", type=int, default=None, help="targets through the reference (0: all)")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    sample = args.reference_targets if args.reference_targets is not None else (40 if args.quick else 150)
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.iers_degraded_accuracy = "ignore"
    iers.conf.auto_max_age = None  # offline: the bundled tables, UT1 - UTC extrapolated (as the planner's zero)
    warnings.simplefilter("ignore")

    banner(f"Transit plan: every TOI with a period, {NIGHTS} nights from {START} at {SITE}")
    with tempfile.TemporaryDirectory() as scratch, Replica(ReplicaConfig(cache_dir=str(Path(scratch) / "rc"))) as rep:

        async def ours() -> tuple[float, float, Any, list[tuple[float, ...]]]:
            async with Exofop(settings_for(rep.base_url, Path(scratch))) as exofop:
                await exofop.catalog.refresh()  # warm catalog: fetched once, not timed
                await exofop.plan_transits_for(
                    PlanTransitsRequest(observatory=SITE, start_date=START, nights=1)
                )  # imports (numpy, erfa) paid once, as in a running server
                wall, core, result = await measure_ours(exofop, repeats)
                conn = exofop.catalog.connection()
                assert conn is not None
                targets = select_targets(conn, PlanTransitsRequest(observatory=SITE, start_date=START))
                e = targets.ephemerides
                rows = list(zip(e.epoch, e.period, e.duration, e.ra_deg, e.dec_deg, strict=True))
                return wall, core, result, rows

        wall, core, result, rows = asyncio.run(ours())

    try:
        import astroplan  # noqa: F401

        use_astroplan, reference_name = True, "astroplan (per target)"
    except ImportError:
        use_astroplan, reference_name = False, "astropy (per target; astroplan not installed)"
    chosen = rows if sample == 0 or sample >= len(rows) else rows[:: max(1, len(rows) // sample)][:sample]
    started = time.perf_counter()
    found, _ = reference_plan(site_named(SITE), chosen, use_astroplan)
    reference_s = time.perf_counter() - started
    scaled = reference_s * len(rows) / len(chosen)

    print_table(
        "exofop-mcp plan_transits (in-process, warm catalog)",
        ["TOIs planned", "transits in span", "whole call", "core (select + compute)", "target", "verdict"],
        [
            [
                result.targets,
                result.transits_in_span,
                f"{wall:.3f} s",
                f"{core:.3f} s",
                f"< {TARGET_S:.0f} s",
                "met" if wall < TARGET_S else "NOT MET",
            ]
        ],
        note=f"median of {repeats}; every transit with times, altitudes at ingress/mid/egress, Moon, fractions",
    )
    print_table(
        f"reference: {reference_name}",
        ["targets run", "transits", "time", "scaled to all targets", "reference / ours"],
        [
            [
                len(chosen),
                found,
                f"{reference_s:.2f} s",
                f"{scaled:.1f} s" + ("" if len(chosen) == len(rows) else " (extrapolated)"),
                f"{scaled / wall:.0f}x faster",
            ]
        ],
        note=f"windows sampled at {len(np.linspace(0, 1, 25))} points (transit + 30 min baselines), "
        "AltAz per target, Sun and Moon per target, as observers' scripts do",
    )


if __name__ == "__main__":
    main()

"""The planner's numbers against astropy, computed here: times, altitudes, twilight, the Moon, fractions.

astropy runs offline (no IERS download; UT1 = UTC, as the planner assumes) and without refraction
(``AltAz(pressure=0)``) on both sides.
"""

from __future__ import annotations

import datetime as dt

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body, get_sun
from astropy.time import Time
from astropy.utils import iers

from exofop_mcp.planning.ephemeris import Ephemerides
from exofop_mcp.planning.events import COVERAGE, PlanSettings, SpanPlan, plan_span
from exofop_mcp.planning.selection import Targets
from exofop_mcp.planning.sites import site_at, site_named

iers.conf.auto_download = False
iers.conf.iers_degraded_accuracy = "ignore"

SETTINGS = PlanSettings(dt.date(2026, 4, 14), 3, min_altitude_deg=30.0, sun_altitude_deg=-12.0, baseline_minutes=45)


def synthetic_targets(count: int = 40, seed: int = 7) -> Targets:
    """Stars all over the site's sky, with periods from hours to days and known ephemeris errors."""
    rng = np.random.default_rng(seed)
    ephemerides = Ephemerides(
        epoch=rng.uniform(2458400.0, 2459600.0, count),
        epoch_err=rng.uniform(1e-4, 3e-3, count),
        period=rng.uniform(0.4, 6.0, count),
        period_err=rng.uniform(1e-6, 2e-4, count),
        duration=rng.uniform(1.0, 6.0, count) / 24.0,
        ra_deg=rng.uniform(0.0, 360.0, count),
        dec_deg=rng.uniform(-85.0, 40.0, count),
    )
    none: list[None] = [None] * count
    return Targets(
        ephemerides,
        [f"{5000 + i}.01" for i in range(count)],
        list(range(1, count + 1)),
        list(range(5000, 5000 + count)),
        *([none] * 8),
    )


@pytest.fixture(scope="module")
def plan() -> SpanPlan:
    return plan_span(site_named("lco-ctio"), synthetic_targets(), SETTINGS)


def location(plan: SpanPlan) -> EarthLocation:
    site = plan.sky.site
    return EarthLocation.from_geodetic(site.longitude_deg * u.deg, site.latitude_deg * u.deg, site.elevation_m * u.m)


def stars_of(plan: SpanPlan) -> SkyCoord:
    target = plan.events.transits.target
    e = plan.targets.ephemerides
    return SkyCoord(e.ra_deg[target] * u.deg, e.dec_deg[target] * u.deg)


def test_every_transit_of_the_span_exactly_as_the_ephemeris_gives_it(plan):
    e = plan.targets.ephemerides
    transits = plan.events.transits
    assert len(transits.mid_bjd) > 50
    np.testing.assert_array_equal(
        transits.mid_bjd, e.epoch[transits.target] + transits.cycle * e.period[transits.target]
    )
    # every cycle whose mid-time falls in the span, found by astropy independently (none missed, none extra)
    start = Time(plan.nights.start, format="jd", scale="utc")
    end = Time(plan.nights.end, format="jd", scale="utc")
    loc = location(plan)
    expected = set()
    for i in range(e.epoch.size):
        star = SkyCoord(e.ra_deg[i] * u.deg, e.dec_deg[i] * u.deg)
        low = (start.tdb + Time(start, location=loc).light_travel_time(star)).jd
        high = (end.tdb + Time(end, location=loc).light_travel_time(star)).jd
        for n in range(int(np.ceil((low - e.epoch[i]) / e.period[i])), int(np.ceil((high - e.epoch[i]) / e.period[i]))):
            expected.add((i, n))
    assert set(zip(transits.target.tolist(), transits.cycle.tolist(), strict=True)) == expected


def test_utc_within_a_second_of_astropy(plan):
    transits = plan.events.transits
    t = Time(transits.mid_utc, format="jd", scale="utc", location=location(plan))
    bjd = t.tdb + t.light_travel_time(stars_of(plan), "barycentric")
    assert np.max(np.abs(bjd.jd - transits.mid_bjd)) * 86400 < 1.0


def test_target_altitude_within_a_tenth_of_a_degree_of_astropy(plan):
    events = plan.events
    times = np.stack([events.ingress, events.transits.mid_utc, events.egress], axis=1)
    stars = stars_of(plan)
    for column in range(3):
        t = Time(times[:, column], format="jd", scale="utc")
        altaz = stars.transform_to(AltAz(obstime=t, location=location(plan), pressure=0 * u.hPa))
        assert np.max(np.abs(altaz.alt.deg - events.altitude[:, column])) < 0.1


def test_sun_altitude_and_twilight_within_a_minute_of_astropy(plan):
    loc = location(plan)
    mid = Time(plan.events.transits.mid_utc, format="jd", scale="utc")
    sun = get_sun(mid).transform_to(AltAz(obstime=mid, location=loc, pressure=0 * u.hPa))
    assert np.max(np.abs(sun.alt.deg - plan.events.sun_altitude)) < 0.25  # the Sun moves 0.25 deg a minute at most
    for night in range(len(plan.nights.dates)):
        for moment, sinking in ((plan.nights.dusk[night], True), (plan.nights.dawn[night], False)):
            # astropy's own crossing of -12 degrees, searched on a 5-second grid around ours
            grid = Time(moment + np.arange(-600, 601, 5) / 86400.0, format="jd", scale="utc")
            altitude = get_sun(grid).transform_to(AltAz(obstime=grid, location=loc, pressure=0 * u.hPa)).alt.deg
            below = altitude < SETTINGS.sun_altitude_deg
            crossing = np.flatnonzero(below[1:] != below[:-1])
            assert crossing.size == 1
            assert bool(below[crossing[0] + 1]) is sinking
            assert abs(grid[crossing[0]].jd - moment) * 1440 < 1.0


def test_moon_separation_and_illumination_as_astropy_sees_them(plan):
    mid = Time(plan.events.transits.mid_utc, format="jd", scale="utc")
    moon = get_body("moon", mid, location(plan))
    separation = moon.separation(stars_of(plan), origin_mismatch="ignore").deg
    assert np.max(np.abs(separation - plan.events.moon_separation)) < 0.5
    sun = get_sun(mid)
    elongation = sun.separation(get_body("moon", mid)).rad
    sun_d, moon_d = sun.distance.to_value(u.km), get_body("moon", mid).distance.to_value(u.km)
    phase = np.arctan2(sun_d * np.sin(elongation), moon_d - sun_d * np.cos(elongation))
    assert np.max(np.abs((1 + np.cos(phase)) / 2 - plan.events.moon_illumination)) < 0.01


def test_observable_fractions_agree_with_astropy_altitudes(plan):
    """The fraction of each transit above 30 degrees at night, counted on astropy's altitudes every minute."""
    events = plan.events
    loc = location(plan)
    checked = 0
    for i in np.flatnonzero((events.fraction > 0) | (np.arange(len(events)) % 5 == 0))[:40]:
        samples = np.linspace(events.ingress[i], events.egress[i], 121)
        t = Time(samples, format="jd", scale="utc")
        frame = AltAz(obstime=t, location=loc, pressure=0 * u.hPa)
        star = SkyCoord(stars_of(plan)[i].ra, stars_of(plan)[i].dec)
        ok = (star.transform_to(frame).alt.deg >= SETTINGS.min_altitude_deg) & (
            get_sun(t).transform_to(frame).alt.deg < SETTINGS.sun_altitude_deg
        )
        assert abs(ok.mean() - events.fraction[i]) < 0.02, i
        coverage = COVERAGE[events.coverage[i]]
        assert (coverage == "full") == bool(ok.all()) or abs(ok.mean() - 1) < 0.02
        assert (coverage == "none") == (not ok.any()) or events.fraction[i] < 0.02
        if coverage == "ingress":
            assert ok[0] and not ok[-1]
        if coverage == "egress":
            assert ok[-1] and not ok[0]
        checked += 1
    assert checked >= 20 and (events.fraction > 0).any() and (events.fraction == 0).any()


def test_the_uncertainty_grows_with_the_cycles_and_stale_ephemerides_are_kept(plan):
    e = plan.targets.ephemerides
    t = plan.events.transits
    expected = np.sqrt(e.epoch_err[t.target] ** 2 + (t.cycle * e.period_err[t.target]) ** 2)
    np.testing.assert_allclose(t.sigma_days, expected)
    assert (t.sigma_days > e.duration[t.target]).any()  # stale ones are among the events, not dropped


def test_a_target_below_the_horizon_all_night_is_planned_as_unobservable():
    north = synthetic_targets(6)
    north.ephemerides.dec_deg[:] = 80.0  # never rises at -30 latitude
    plan = plan_span(site_at(-30.17, -70.80, 2200.0), north, SETTINGS)
    assert len(plan.events) > 0
    assert (plan.events.fraction == 0).all() and (plan.events.altitude < 0).all()

"""The replica's generated light curves are physically right: times that agree, transits where the truth says."""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Iterator

import astropy.units as u
import httpx
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers

from exofop_mcp.lightcurves.observatories import find_site
from exofop_mcp.replica import Replica
from exofop_mcp.replica.dataset import TOI_1130_REAL_TAGS, TOI_1130_TIC
from exofop_mcp.replica.light_curve_files import LIGHT_CURVE_TEST_TIC, degrees
from exofop_mcp.replica.tag_archives import light_curve_tag, row_transit
from exofop_mcp.replica.transits import LARGE_OFFSET_EVERY, offset_minutes

iers.conf.auto_download = False


@pytest.fixture(scope="module")
def http(replica_session: Replica) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=replica_session.base_url, timeout=60) as client:
        yield client


def _table(client: httpx.Client, tag: int) -> tuple[str, dict[str, np.ndarray]]:
    archive = zipfile.ZipFile(
        io.BytesIO(client.get("/tess/download_tag_files_zip.php", params={"tag": str(tag)}).content)
    )
    name = next(n for n in archive.namelist() if n.endswith("_measurements.tbl"))
    header, *rows = archive.read(name).decode().splitlines()
    columns = header.split("\t")
    cells = [row.split("\t") for row in rows]
    wanted = ("JD_UTC", "BJD_TDB", "rel_flux_T1")
    return name, {c: np.array([float(r[columns.index(c)]) for r in cells]) for c in wanted}


@pytest.mark.parametrize("tag", TOI_1130_REAL_TAGS)
def test_toi_1130_tables_have_jd_utc_and_bjd_tdb_that_astropy_agrees_with(
    replica_session: Replica, http: httpx.Client, tag: int
) -> None:
    info = replica_session.dataset.tag(tag)
    star = replica_session.dataset.star(TOI_1130_TIC)
    assert info is not None and star is not None
    _, table = _table(http, tag)
    site = find_site(info.cell("Telescope"))
    assert site is not None
    location = EarthLocation.from_geodetic(site.longitude_deg * u.deg, site.latitude_deg * u.deg, site.height_m * u.m)
    target = SkyCoord(degrees(star.value("RA"), True) * u.deg, degrees(star.value("Dec"), False) * u.deg)
    t = Time(table["JD_UTC"], format="jd", scale="utc", location=location)
    bjd = (t.tdb + t.light_travel_time(target, kind="barycentric")).jd
    # the table writes seven decimals (8.6 ms): the physics is within that
    assert np.max(np.abs(bjd - table["BJD_TDB"])) * 86400 < 0.01


def test_a_generated_transit_sits_at_its_ephemeris_plus_the_recorded_offset(replica_session: Replica) -> None:
    dataset = replica_session.dataset
    star = dataset.star(TOI_1130_TIC)
    assert star is not None
    seen = 0
    for tag in TOI_1130_REAL_TAGS:
        info = dataset.tag(tag)
        assert info is not None
        truth, _, bjd = row_transit(info, star, 0, 200, 240.0)
        assert truth is not None
        epoch = star.number("Epoch (BJD)", 0.0, 1)
        period = star.number("Period (days)", 0.0, 1)
        assert info.toi == "1130.02" and star.value("TOI", 1) == "1130.02"
        cycles = (truth.predicted_mid_bjd_tdb - epoch) / period
        assert abs(cycles - round(cycles)) < 1e-9
        assert truth.mid_bjd_tdb - truth.predicted_mid_bjd_tdb == pytest.approx(truth.offset_minutes / 1440)
        assert truth.offset_minutes == offset_minutes(tag)
        assert truth.depth_ppm == pytest.approx(truth.tess_depth_ppm, rel=0.1)
        if bjd[0] < truth.mid_bjd_tdb < bjd[-1]:
            seen += 1
    assert seen >= 3  # the real observations were made on transit nights
    large = [tag for tag in range(1000, 1100) if abs(offset_minutes(tag)) >= 30]
    assert large and all(tag % LARGE_OFFSET_EVERY == 4 for tag in large)


def test_the_generated_flux_dips_by_the_recorded_depth_at_the_recorded_time(
    replica_session: Replica, http: httpx.Client
) -> None:
    dataset = replica_session.dataset
    star = dataset.star(TOI_1130_TIC)
    info = dataset.tag(19442)
    assert star is not None and info is not None
    _, table = _table(http, 19442)
    truth, _, _ = row_transit(info, star, 0, table["BJD_TDB"].size, float(info.cell("Obs Duration")))
    assert truth is not None
    distance = np.abs(table["BJD_TDB"] - truth.mid_bjd_tdb) * 24
    inside = table["rel_flux_T1"][distance < truth.duration_hours / 4]
    outside = table["rel_flux_T1"][distance > truth.duration_hours / 2 + 0.1]
    dip = float(np.mean(outside) - np.mean(inside))
    scatter = float(np.std(outside)) * math.sqrt(1 / inside.size + 1 / outside.size)
    assert abs(dip * 1e6 - truth.depth_ppm) < 4 * scatter * 1e6 + 600  # plus the airmass trend's share


def test_light_curve_system_files_record_their_truth(replica_session: Replica) -> None:
    dataset = replica_session.dataset
    star = dataset.star(LIGHT_CURVE_TEST_TIC)
    assert star is not None
    truths = []
    for info in dataset.tags_of(LIGHT_CURVE_TEST_TIC):
        if info.kind == "tseries":
            for want in light_curve_tag(info, star)[1]:
                if want.status == "extracted":
                    assert want.transit is not None and want.transit.tess_depth_ppm > 0
                    truths.append(want.transit)
    assert truths

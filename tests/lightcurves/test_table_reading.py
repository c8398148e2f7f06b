"""The tolerant reader, the file-name convention, the flux rules and the time conversion, on small tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from exofop_mcp.lightcurves.file_names import parse_file_name
from exofop_mcp.lightcurves.flux_columns import choose_flux
from exofop_mcp.lightcurves.observatories import HALEAKALA, SIDING_SPRING, TEIDE, Site, find_site
from exofop_mcp.lightcurves.reports import Refusal
from exofop_mcp.lightcurves.table_reading import read_text_table
from exofop_mcp.lightcurves.time_columns import choose_times
from exofop_mcp.lightcurves.time_systems import (
    Target,
    hjd_utc_to_jd_utc,
    parse_time_name,
    restore_offset,
    utc_to_bjd_tdb,
)

TARGET = Target(286.376, -41.4376)


def test_aij_text_with_bom_crlf_metadata_and_row_numbers() -> None:
    data = (
        b"\xef\xbb\xbf# AIJ_version 5.3\r\n \tLabel\tJ.D.-2400000\trel_flux_T1\r\n"
        b"1\tframe one.fits\t58938.5\t1.01\r\n2\tframe two.fits\t58938.6\tNaN\r\n3\tx\t58938.7\t-\r\n"
    )
    table = read_text_table(data, "x_measurements.xls")
    assert table.names == ["row", "Label", "J.D.-2400000", "rel_flux_T1"]
    assert table.metadata == {"AIJ_version": "5.3"}
    assert table.number("J.D.-2400000").tolist() == [58938.5, 58938.6, 58938.7]
    assert np.isnan(table.number("rel_flux_T1")[1:]).all()


@pytest.mark.parametrize(
    ("data", "names", "first"),
    [
        (b"BJD_TDB;rel_flux\n2458938,5;1,001\n2458938,6;Infinity\n", ["BJD_TDB", "rel_flux"], 2458938.5),
        (b"BJD_TDB,flux,err\n2458938.5,1.0,0.001\n2458938.6,,0.001\n", ["BJD_TDB", "flux", "err"], 2458938.5),
        (b"# BJD_TDB flux err\n2458938.5 1.0 0.001\n2458938.6 1.0 0.001\n", ["BJD_TDB", "flux", "err"], 2458938.5),
        (b"1938.5 1.0 0.001\n1938.6 0.99 0.001\n", ["time", "flux", "flux_err"], 1938.5),
        (b"BJD_TDB\tflux\n2458938.5\t1\n", ["BJD_TDB", "flux"], 2458938.5),
    ],
)
def test_separators_locales_and_headers(data: bytes, names: list[str], first: float) -> None:
    table = read_text_table(data)
    assert table.names == names
    assert table.number(names[0])[0] == first


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "m.xls", "excel_binary"),
        (b"PK\x03\x04rest", "m.xlsx", "excel_binary"),
        (b"", "m.csv", "empty_file"),
        (b"SIMPLE  =  T\0\0\0", "m.txt", "binary_file"),
        (b"Clear sky all night.\nDome closed at 4.\n", "log.txt", "not_a_table"),
    ],
)
def test_refusals_have_reasons(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(Refusal) as info:
        read_text_table(data, name)
    assert info.value.reason == reason and str(info.value)


def test_file_names_in_the_wild() -> None:
    info = parse_file_name("TIC254113311-01_20200330_LCO-SSO-1m0_zs_measurements.tbl")
    assert (info.tic_id, info.planet, info.obs_date, info.observatory, info.filter) == (
        254113311,
        "01",
        dt.date(2020, 3, 30),
        "LCO-SSO-1m0",
        "zs",
    )
    sloppy = parse_file_name("TIC218795833.01_30032020_El_Sauce_Rc_15pix_measurements.xls")
    assert (sloppy.obs_date, sloppy.observatory, sloppy.filter, sloppy.aperture_px) == (
        dt.date(2020, 3, 30),
        "El_Sauce",
        "Rc",
        15.0,
    )
    assert parse_file_name("TIC_337217173-01_20210101_TRAPPIST-North_measurements.csv").filter is None
    assert parse_file_name("TIC1-01_20200101_MuSCAT2_z_s_measurements.dat").filter == "z_s"
    assert parse_file_name("notes.txt").observatory is None
    assert find_site("LCO-SSO-1m0 (1.0 m)") == SIDING_SPRING


@pytest.mark.parametrize(
    ("name", "system", "offset"),
    [
        ("BJD_TDB", "bjd", None),
        ("J.D.-2400000", "jd", 2400000.0),
        ("BJD-2450000", "bjd", 2450000.0),
        ("BTJD", "bjd", 2457000.0),
        ("MJD_UTC", "jd", 2400000.5),
        ("JD_UTC", "jd", None),
        ("HJD_UTC", "hjd", None),
    ],
)
def test_time_column_names(name: str, system: str, offset: float | None) -> None:
    parsed = parse_time_name(name)
    assert parsed is not None and (parsed.system, parsed.offset) == (system, offset)
    assert parse_time_name("BJD_TDB_B") is None and parse_time_name("rel_flux_T1") is None


def test_dropped_offsets_are_restored_with_the_date() -> None:
    night = dt.date(2020, 3, 30)
    full = np.array([2458939.2, 2458939.3])
    assert restore_offset(full - 2450000, None, night, None)[0] == 2450000
    assert restore_offset(full - 2457000, None, night, None)[0] == 2457000
    assert restore_offset(full, None, night, None)[0] == 0
    # 2400000 and 2400000.5 both fit the date: the site's local midnight decides (Siding Spring, UT+10 h).
    local_midnight = 2458938.5 + 14 / 24  # 14h UT on the 30th = midnight at longitude 149 E
    offset, note = restore_offset(np.array([local_midnight - 2400000.5]), None, night, SIDING_SPRING)
    assert offset == 2400000.5 and note


def test_conversion_matches_astropy_within_a_tenth_of_a_second() -> None:
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time

    jd = 2458939.5 + np.arange(600) * 30 / 86400
    ours = utc_to_bjd_tdb(jd, TARGET, SIDING_SPRING)
    site = EarthLocation.from_geodetic(SIDING_SPRING.longitude_deg, SIDING_SPRING.latitude_deg, SIDING_SPRING.height_m)
    t = Time(jd, format="jd", scale="utc", location=site)
    exact = (t.tdb + t.light_travel_time(SkyCoord(TARGET.ra_deg, TARGET.dec_deg, unit="deg"))).jd
    assert np.abs(ours - exact).max() * 86400 < 0.001


@pytest.mark.parametrize("site", [None, SIDING_SPRING, HALEAKALA, TEIDE])
def test_conversion_matches_astropy_for_sites_stars_and_years(site: Site | None) -> None:
    """ERFA called directly gives astropy's BJD_TDB (and inverts its HJD_UTC) to float64 resolution."""
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time

    rng = np.random.default_rng(7)
    if site is None:
        location = EarthLocation.from_geocentric(0.0, 0.0, 0.0, unit="m")
    else:
        location = EarthLocation.from_geodetic(site.longitude_deg, site.latitude_deg, site.height_m)
    for _ in range(4):
        target = Target(float(rng.uniform(0, 360)), float(rng.uniform(-89, 89)))
        jd = 2458000.5 + float(rng.uniform(0, 2500)) + np.arange(400) * 45 / 86400
        t = Time(jd, format="jd", scale="utc", location=location)
        star = SkyCoord(target.ra_deg, target.dec_deg, unit="deg")
        exact = (t.tdb + t.light_travel_time(star)).jd
        assert np.abs(utc_to_bjd_tdb(jd, target, site) - exact).max() * 86400 < 1e-4
        if site is None:
            hjd = (t + t.light_travel_time(star, kind="heliocentric")).jd
            assert np.abs(hjd_utc_to_jd_utc(hjd, target) - jd).max() * 86400 < 1e-4


def test_bjd_holding_utc_is_caught() -> None:
    jd = 2458939.5 + np.arange(20) * 60 / 86400
    rows = "\n".join(f"{t:.8f}\t{t:.8f}\t1.0" for t in jd)
    table = read_text_table(f"JD_UTC\tBJD_TDB\trel_flux\n{rows}\n".encode())
    times = choose_times(table, TARGET, None, dt.date(2020, 3, 30))
    assert "UTC" in times.warnings[0]
    assert np.abs(times.bjd_tdb - jd).min() * 86400 > 10  # converted, not taken as written


def test_flux_preference_and_counts() -> None:
    header = "BJD_TDB\trel_flux_T1\trel_flux_err_T1\trel_flux_T1_n\trel_flux_T1_dn\trel_flux_err_T1_dn"
    table = read_text_table(
        f"{header}\n2458939.5\t2.0\t0.002\t1.01\t1.0\t0.001\n2458939.6\t2.0\t0.002\t1.0\t1.0\t0.001\n"
        f"2458939.7\t2.2\t0.002\t1.1\t1.1\t0.001\n".encode()
    )
    assert choose_flux(table, time_column="BJD_TDB").source == "rel_flux_T1_dn"
    raw = read_text_table(b"BJD_TDB\trel_flux_T1\n2458939.5\t2.0\n2458939.6\t4.0\n2458939.7\t2.0\n")
    choice = choose_flux(raw, time_column="BJD_TDB")
    assert "raw" in choice.source and choice.error_estimated and choice.flux.tolist() == [1.0, 2.0, 1.0]
    counts = read_text_table(b"BJD_TDB flux_star_0 flux_star_1 flux_star_2\n1 100 50 50\n2 90 50 50\n3 100 50 50\n")
    assert choose_flux(counts, time_column="BJD_TDB").flux.tolist() == [1.0, 0.9, 1.0]

"""Light curves from files laid out as real observers' uploads and published tables (see ``real_files/``).

Each fixture reproduces a real layout with our own numbers (``real_files/make_fixtures.py`` made them,
with astropy for every time conversion).  Each test checks what an astronomer would check: the times
(within 0.1 s of the observer's BJD_TDB or of astropy's conversion), the flux column chosen, errors
paired with that flux and consistent with the scatter, and the metadata.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers

from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.lightcurves.extraction import SystemContext, _extract_file
from exofop_mcp.lightcurves.light_curve_files import read_light_curve
from exofop_mcp.lightcurves.reports import LightCurveEntry
from exofop_mcp.lightcurves.table_reading import read_text_table
from exofop_mcp.lightcurves.time_systems import Target

iers.conf.auto_download = False

FILES = Path(__file__).parent / "real_files"
TARGET = Target(245.28, 31.577)
TAG = 7001
TOLERANCE_DAYS = 0.1 / 86400
PREFIX = "TIC900000001-01"


def extract(tmp_path: Path, name: str) -> tuple[list[LightCurveEntry], SystemDirectory]:
    directory = SystemDirectory(tmp_path, "TIC-900000001")
    directory.path.mkdir(parents=True, exist_ok=True)
    ctx = SystemContext(directory=directory, tic_id=900000001, host_toi=9001, target=TARGET, plots=False)
    data = (FILES / name).read_bytes()
    rel = f"time_series/{TAG}/{name}"
    entries, _ = _extract_file(ctx, TAG, rel, data, hashlib.sha256(data).hexdigest(), f"time_series/{TAG}/")
    return entries, directory


def one(entries: list[LightCurveEntry]) -> LightCurveEntry:
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry.status == "extracted", (entry.reason, entry.message)
    return entry


def curve(directory: SystemDirectory, entry: LightCurveEntry):  # type: ignore[no-untyped-def]
    assert entry.ecsv is not None
    return read_light_curve(directory.path / entry.ecsv)


def column(name: str, file: str) -> np.ndarray:
    table = read_text_table((FILES / file).read_bytes(), file)
    return table.number(name)


def assert_errors_fit_scatter(flux: np.ndarray, flux_err: np.ndarray) -> None:
    """Median error within a factor of 5 of the point-to-point scatter (both relative to the flux)."""
    scatter = float(np.median(np.abs(np.diff(flux)))) * 1.4826 / np.sqrt(2) / float(np.median(flux))
    error = float(np.median(flux_err)) / float(np.median(flux))
    assert scatter / 5 < error < scatter * 5, (error, scatter)


def astropy_bjd(jd_utc: np.ndarray, location: EarthLocation | None) -> np.ndarray:
    where = EarthLocation.from_geocentric(0 * u.m, 0 * u.m, 0 * u.m) if location is None else location
    t = Time(jd_utc, format="jd", scale="utc", location=where)
    return np.asarray((t.tdb + t.light_travel_time(SkyCoord(TARGET.ra_deg * u.deg, TARGET.dec_deg * u.deg))).jd)


@pytest.mark.parametrize(
    ("name", "flux_column", "error_column"),
    [
        (f"{PREFIX}_20210305_LCO-McD-1m0_ip_10px_bjd-flux-err-detrended.dat", "rel_flux_T1_dfn", "rel_flux_err_T1_dfn"),
        (f"{PREFIX}_20210523_LCO-HAL-M3_rp_15px_bjd-flux-err-am-fwhm.dat", "rel_flux_T1_n", "rel_flux_err_T1_n"),
    ],
)  # fmt: skip
def test_aij_data_subsets_with_only_a_cleaned_flux(
    tmp_path: Path, name: str, flux_column: str, error_column: str
) -> None:
    entry = one(extract(tmp_path, name)[0])
    lc = curve(extract(tmp_path, name)[1], entry)
    assert entry.flux_source == flux_column
    np.testing.assert_allclose(lc["bjd_tdb"].jd, column("BJD_TDB", name), atol=TOLERANCE_DAYS, rtol=0)
    np.testing.assert_allclose(lc["flux"], column(flux_column, name))
    np.testing.assert_allclose(lc["flux_err"], column(error_column, name))
    assert_errors_fit_scatter(np.asarray(lc["flux"]), np.asarray(lc["flux_err"]))
    assert entry.observatory in ("LCO-McD-1m0", "LCO-HAL-M3")  # the subset's suffix is a file type
    assert entry.filter in ("ip", "rp")


def test_the_observers_mid_exposure_bjd_wins(tmp_path: Path) -> None:
    name = "TIC900000001-01_20210328_LCO-SSO-1m0_ip_measurements.tbl"
    entries, directory = extract(tmp_path, name)
    entry = one(entries)
    lc = curve(directory, entry)
    observer = column("BJD_TDB_MOBS", name)
    assert entry.time_source is not None and entry.time_source.startswith("BJD_TDB_MOBS")
    np.testing.assert_allclose(lc["bjd_tdb"].jd, observer, atol=TOLERANCE_DAYS, rtol=0)
    # JD_UTC converted would be ~1.9 s later: the observer's column, not the conversion, was used.
    converted = astropy_bjd(column("JD_UTC", name), EarthLocation.from_geodetic(149.0644, -31.2733, 1165))
    assert np.all(np.abs(converted - observer) * 86400 > 1.5)
    assert "rel_flux_T1" in (entry.flux_source or "")
    assert_errors_fit_scatter(np.asarray(lc["flux"]), np.asarray(lc["flux_err"]))


def test_a_band_suffixed_bjd_beside_the_tables_own_flux_is_the_observers_time(tmp_path: Path) -> None:
    name = "TIC900000001-01_20210328_LCO-SSO-1m0_B_measurements.tbl"
    original = (FILES / "TIC900000001-01_20210328_LCO-SSO-1m0_ip_measurements.tbl").read_bytes()
    (tmp_path / name).write_bytes(original.replace(b"\tBJD_TDB_MOBS", b"\tBJD_TDB_B"))
    directory = SystemDirectory(tmp_path, "TIC-900000001")
    directory.path.mkdir(parents=True)
    ctx = SystemContext(directory=directory, tic_id=900000001, host_toi=9001, target=TARGET, plots=False)
    data = (tmp_path / name).read_bytes()
    entries, _ = _extract_file(ctx, TAG, f"time_series/{TAG}/{name}", data, "0" * 64, f"time_series/{TAG}/")
    entry = one(entries)
    assert (entry.time_source or "").startswith("BJD_TDB_B")
    lc = curve(directory, entry)
    np.testing.assert_allclose(
        lc["bjd_tdb"].jd, column("BJD_TDB_MOBS", "TIC900000001-01_20210328_LCO-SSO-1m0_ip_measurements.tbl"),
        atol=TOLERANCE_DAYS, rtol=0,
    )  # fmt: skip


def test_a_mid_exposure_bjd_far_from_jd_utc_is_kept_and_the_difference_said() -> None:
    import datetime as dt

    from exofop_mcp.lightcurves.observatories import SIDING_SPRING
    from exofop_mcp.lightcurves.time_columns import choose_times

    name = "TIC900000001-01_20210328_LCO-SSO-1m0_ip_measurements.tbl"
    table = read_text_table((FILES / name).read_bytes(), name)
    index = table.names.index("JD_UTC")  # as if JD_UTC were the start of a 200 s exposure
    table.cells[index] = [f"{float(c) - 100 / 86400:.6f}" for c in table.cells[index]]
    choice = choose_times(table, TARGET, SIDING_SPRING, dt.date(2021, 3, 28))
    assert choice.source == "BJD_TDB_MOBS"
    np.testing.assert_allclose(choice.bjd_tdb, column("BJD_TDB_MOBS", name), atol=TOLERANCE_DAYS, rtol=0)
    assert any("mid-exposure" in w and "+98.1 s" in w for w in choice.warnings), choice.warnings


def test_a_hash_header_over_rows_ending_in_a_text_column(tmp_path: Path) -> None:
    name = "toi9001_muscat2_20210715_table.txt"
    entries, directory = extract(tmp_path, name)
    entry = one(entries)
    lc = curve(directory, entry)
    raw = (FILES / name).read_text().splitlines()
    assert entry.rows == len(raw) - 1  # the first data row is data, not a header
    first = float(raw[1].split()[0]) + 2450000
    assert abs(lc["bjd_tdb"].jd[0] - first) < TOLERANCE_DAYS
    assert entry.flux_source == "rel_flux"
    np.testing.assert_allclose(lc["flux_err"][0], float(raw[1].split()[2]))
    assert_errors_fit_scatter(np.asarray(lc["flux"]), np.asarray(lc["flux_err"]))


def test_a_space_separated_header_over_tab_separated_rows(tmp_path: Path) -> None:
    name = "TIC900000001.01_20251023_LO_OSC_measurement.tbl"
    entries, directory = extract(tmp_path, name)
    entry = one(entries)
    lc = curve(directory, entry)
    np.testing.assert_allclose(lc["bjd_tdb"].jd, column("BJD_TDB", name), atol=TOLERANCE_DAYS, rtol=0)
    assert entry.flux_source == "Rel_flux_T1"  # already normalised: not "raw"
    np.testing.assert_allclose(lc["flux_err"], column("err_rel_flux_T1", name))
    assert not lc.meta["flux_err_estimated"]
    assert_errors_fit_scatter(np.asarray(lc["flux"]), np.asarray(lc["flux_err"]))


def test_exotic_aavso_exoplanet_report(tmp_path: Path) -> None:
    name = "AAVSO_TOI-9001 b_2021-03-28.txt"
    entries, directory = extract(tmp_path, name)
    entry = one(entries)
    lc = curve(directory, entry)
    np.testing.assert_allclose(lc["bjd_tdb"].jd, column("DATE", name), atol=TOLERANCE_DAYS, rtol=0)
    assert entry.flux_source == "DIFF"
    assert "BJD_TDB" in (entry.time_source or "")
    np.testing.assert_allclose(lc["flux"], column("DIFF", name))
    np.testing.assert_allclose(lc["flux_err"], column("ERR", name))
    assert entry.filter == "CV"
    assert_errors_fit_scatter(np.asarray(lc["flux"]), np.asarray(lc["flux_err"]))


def test_an_aavso_report_in_magnitudes_takes_its_error_as_magnitudes() -> None:
    from exofop_mcp.lightcurves.flux_columns import choose_flux

    text = (FILES / "AAVSO_TOI-9001 b_2021-03-28.txt").read_text()
    rows = [line.split(",") for line in text.splitlines() if not line.startswith("#")]
    as_magnitudes = [(12.5 - 2.5 * np.log10(float(r[1])), 2.5 / np.log(10) * float(r[2]) / float(r[1])) for r in rows]
    magnitudes = "\n".join(
        f"{r[0]},{m:.7f},{e:.7f},{r[3]},{r[4]}" for r, (m, e) in zip(rows, as_magnitudes, strict=True)
    )
    header = [line for line in text.splitlines() if line.startswith("#")]
    data = "\n".join(header).replace("MEASUREMENT_TYPE=Rnflux", "MEASUREMENT_TYPE=Dmag") + "\n" + magnitudes + "\n"
    chosen = choose_flux(read_text_table(data.encode(), "report.txt"), time_column="DATE")
    relative = np.array([float(r[1]) for r in rows])
    np.testing.assert_allclose(chosen.flux, relative / np.median(relative), rtol=1e-5)
    np.testing.assert_allclose(chosen.flux_err, [float(r[2]) / np.median(relative) for r in rows], rtol=2e-3)
    assert "magnitudes" in chosen.source


def test_the_error_column_pairs_with_the_flux(tmp_path: Path) -> None:
    name = "TIC900000001_asassn_V_bb.csv"
    entries, directory = extract(tmp_path, name)
    entry = one(entries)
    lc = curve(directory, entry)
    flux_mjy, err_mjy = column("flux(mJy)", name), column("flux_err", name)
    assert (entry.flux_source or "").startswith("flux(mJy)")
    np.testing.assert_allclose(lc["flux_err"], err_mjy / np.median(flux_mjy))  # a mJy error for a mJy flux
    np.testing.assert_allclose(lc["flux"], flux_mjy / np.median(flux_mjy))
    assert not lc.meta["flux_err_estimated"]
    hjd = column("HJD", name)
    # BJD_TDB - HJD_UTC is TT - UTC (69.184 s in 2019) plus the Sun's offset from the barycentre (< 5 s).
    assert np.all(np.abs((lc["bjd_tdb"].jd - hjd) * 86400 - 69.184) < 5)
    mag_errors = column("mag_err", name)
    assert 0.5 < float(np.median(lc["flux_err"])) / (float(np.median(mag_errors)) * np.log(10) / 2.5) < 2


def test_several_light_curves_in_one_file_are_split_by_band(tmp_path: Path) -> None:
    name = "TIC900000001-01_20211019_LCO-SAAO-1m0_B+Z_merged_measurements.tbl"
    entries, directory = extract(tmp_path, name)
    assert [e.status for e in entries] == ["extracted", "extracted"], [(e.reason, e.message) for e in entries]
    assert sorted(e.filter or "" for e in entries) == ["B", "Z"]
    for entry in entries:
        band = entry.filter
        lc = curve(directory, entry)
        np.testing.assert_allclose(lc["bjd_tdb"].jd, column(f"BJD_TDB_{band}", name), atol=TOLERANCE_DAYS, rtol=0)
        assert entry.flux_source is not None and entry.flux_source.startswith(f"rel_flux_T1_{band}")
        assert_errors_fit_scatter(np.asarray(lc["flux"]), np.asarray(lc["flux_err"]))
    assert len({e.ecsv for e in entries}) == 2


def test_a_survey_file_with_bands_and_cameras_is_split_and_sentinels_dropped(tmp_path: Path) -> None:
    name = "TIC900000001_asassn_lightcurve.csv"
    entries, directory = extract(tmp_path, name)
    assert [e.status for e in entries] == ["extracted", "extracted"], [(e.reason, e.message) for e in entries]
    by_band = {e.filter: e for e in entries}
    assert set(by_band) == {"V", "g"}
    v = curve(directory, by_band["V"])
    assert len(v) == 24  # two cameras, 12 good points each; the 99.99 sentinels left out
    assert any("sentinel" in w for w in by_band["V"].warnings)
    # no step between the cameras: both cameras' medians are 1
    assert abs(float(np.median(v["flux"])) - 1) < 0.01
    assert float(np.std(v["flux"])) < 0.03
    assert_errors_fit_scatter(np.asarray(v["flux"]), np.asarray(v["flux_err"]))


def test_the_site_comes_from_lco_image_labels(tmp_path: Path) -> None:
    name = "TIC900000001-01_20210523_LCO-1m0_zs_measurements.tbl"
    entries, directory = extract(tmp_path, name)
    entry = one(entries)
    lc = curve(directory, entry)
    assert lc.meta["site"]["name"] == "South African Astronomical Observatory"
    expected = np.loadtxt(FILES / "kind8_expected_bjd_tdb.txt")
    np.testing.assert_allclose(lc["bjd_tdb"].jd, expected, atol=TOLERANCE_DAYS, rtol=0)
    assert entry.observatory == "LCO-SAAO-1m0"


def test_observatory_names_and_sites_of_real_uploads() -> None:
    from exofop_mcp.lightcurves.file_names import parse_file_name
    from exofop_mcp.lightcurves.observatories import HALEAKALA, OKAYAMA, SIDING_SPRING, TEIDE, find_site

    assert find_site("LCO-FTS-MuSCAT4") == SIDING_SPRING
    assert find_site("MuSCAT4") == SIDING_SPRING
    assert find_site("MuSCAT3") == HALEAKALA
    assert find_site("MuSCAT2") == TEIDE
    assert find_site("MuSCAT") == OKAYAMA
    info = parse_file_name("TIC900000001-01_20210523_LCO-HAL-M3_rp_15px_bjd-flux-err-am-fwhm.dat")
    assert (info.observatory, info.filter, info.aperture_px) == ("LCO-HAL-M3", "rp", 15.0)
    info = parse_file_name("TIC900000001-11_20230602_LCO-Teid-1m0_ip_5px_KC_bjd-flux-err-fwhm-sky-detrended.dat")
    assert info.observatory == "LCO-Teid-1m0" and info.filter == "ip"


@pytest.mark.parametrize(
    ("name", "system", "mid"),
    [
        ("BJD_TDB_MOBS", "bjd", True),
        ("HJD_UTC_MOBS", "hjd", True),
        ("JD_UTC_MOBS", "jd", True),
        ("BJD_MOBS", "bjd", True),
        ("BJD_TDB", "bjd", False),
        ("JD_SOBS", None, False),  # the start of the exposure is not a light curve's time
    ],
)
def test_mid_exposure_time_names(name: str, system: str | None, mid: bool) -> None:
    from exofop_mcp.lightcurves.time_systems import parse_time_name

    parsed = parse_time_name(name)
    assert (parsed.system if parsed else None) == system
    assert (parsed.mid_exposure if parsed else False) == mid


def test_a_zip_with_no_table_is_listed_not_lost(tmp_path: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("TIC900000001-01_20210523_LCO-SAAO-1m0_zs_lightcurve.png", b"\x89PNG\r\n")
        archive.writestr("TIC900000001-01_20210523_LCO-SAAO-1m0_zs_notes.txt", b"clear night")
    directory = SystemDirectory(tmp_path, "TIC-900000001")
    directory.path.mkdir(parents=True)
    ctx = SystemContext(directory=directory, tic_id=900000001, host_toi=9001, target=TARGET, plots=False)
    rel = f"time_series/{TAG}/plots.zip"
    entries, written = _extract_file(ctx, TAG, rel, buffer.getvalue(), "0" * 64, f"time_series/{TAG}/")
    assert [(e.source_file, e.status, e.reason) for e in entries] == [(rel, "skipped", "not_a_table")]
    assert entries[0].message is not None and "2 plots, notes" in entries[0].message
    assert written == []


@pytest.mark.parametrize(
    ("header", "flux_name", "error_index"),
    [
        ("BJD_TDB FLUX ERRFLUX MAG ERRMAG", "FLUX", 2),
        ("BJD_TDB MAG ERRFLUX ERRMAG", "MAG", 3),  # a flux error is never a magnitude's
        ("BJD_TDB mag e_flux e_mag", "mag", 3),
        ("BJD_TDB flux mag_err e_flux", "flux", 3),  # nor a magnitude error a flux's
        ("BJD_TDB flux FLUX_ERR", "flux", 2),
    ],
)
def test_error_names_pair_with_their_own_quantity(header: str, flux_name: str, error_index: int) -> None:
    from exofop_mcp.lightcurves.flux_columns import choose_flux

    rows = []
    for i in range(20):
        values = [2459302.3 + i / 500]
        for name in header.split()[1:]:
            lower = name.lower()
            if lower in ("flux", "mag"):
                values.append(1000.0 + (i % 3) if lower == "flux" else 12.0 + 0.001 * (i % 3))
            else:
                values.append(1.0 + 0.001 * header.split().index(name))  # each error column its own value
        rows.append(" ".join(f"{v:.6f}" for v in values))
    table = read_text_table((header + "\n" + "\n".join(rows) + "\n").encode(), "t.txt")
    chosen = choose_flux(table, time_column="BJD_TDB")
    assert chosen.source.startswith(flux_name)
    raw_error = table.number(table.names[error_index])
    magnitude = flux_name.lower() == "mag"
    expected = (
        chosen.flux * raw_error * np.log(10) / 2.5 if magnitude else raw_error / np.median(table.number(flux_name))
    )
    np.testing.assert_allclose(chosen.flux_err, expected)

"""Writes the fixtures of this folder: one small file per kind of real upload, in the real layout, with our numbers.

Each layout (header style, separators, column names, units, number formats) is that of files observers
publish: AstroImageJ tables and their ``_bjd-flux-err`` subsets, LCO measurement tables with
mid-exposure columns, a paper table, a pipeline's space-over-tab table, an EXOTIC (AAVSO exoplanet)
report, an ASAS-SN style survey export and an AstroImageJ merged multi-band table.  The numbers are
generated here: one star, a transit of 0.6 % depth, white noise matching the stated errors.  Every
BJD_TDB, HJD_UTC and BJD derived from a UTC time is computed with astropy (offline, no IERS download),
so the files' own columns are the truth the tests compare with.

    .venv/bin/python tests/lightcurves/real_files/make_fixtures.py
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers

iers.conf.auto_download = False

HERE = Path(__file__).resolve().parent
TIC = 900000001
RA_DEG, DEC_DEG = 245.28, 31.577
STAR = SkyCoord(RA_DEG * u.deg, DEC_DEG * u.deg)
SITES = {
    "SSO": EarthLocation.from_geodetic(149.0644 * u.deg, -31.2733 * u.deg, 1165 * u.m),
    "McD": EarthLocation.from_geodetic(-104.0151 * u.deg, 30.6799 * u.deg, 2070 * u.m),
    "SAAO": EarthLocation.from_geodetic(20.8107 * u.deg, -32.3797 * u.deg, 1760 * u.m),
    "TEIDE": EarthLocation.from_geodetic(-16.5122 * u.deg, 28.3003 * u.deg, 2390 * u.m),
    "HAL": EarthLocation.from_geodetic(-156.2571 * u.deg, 20.7075 * u.deg, 3055 * u.m),
}
GEOCENTRE = EarthLocation.from_geocentric(0 * u.m, 0 * u.m, 0 * u.m)
DEPTH = 0.006


def bjd(jd_utc: np.ndarray, site: str | None) -> np.ndarray:
    t = Time(jd_utc, format="jd", scale="utc", location=SITES[site] if site else GEOCENTRE)
    return (t.tdb + t.light_travel_time(STAR, kind="barycentric")).jd


def hjd(jd_utc: np.ndarray, site: str | None) -> np.ndarray:
    t = Time(jd_utc, format="jd", scale="utc", location=SITES[site] if site else GEOCENTRE)
    return (t.utc + t.light_travel_time(STAR, kind="heliocentric")).jd


def transit(t: np.ndarray) -> np.ndarray:
    """A box-shaped transit of DEPTH in the middle third of the series (enough for the tests)."""
    middle = np.median(t)
    span = t.max() - t.min()
    return np.where(np.abs(t - middle) < span / 6, 1 - DEPTH, 1.0)


def night(start_jd: float, count: int, cadence_s: float) -> np.ndarray:
    return start_jd + np.arange(count) * cadence_s / 86400


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def write(name: str, text: str) -> None:
    (HERE / name).write_bytes(text.encode("utf-8"))
    print("wrote", name)


def kind1_subsets() -> None:
    """AstroImageJ data subsets: a '#' header, tab-separated, only the cleaned flux and its error."""
    r = rng(1)
    jd = night(2459278.8615, 40, 180.0)
    times = bjd(jd, "McD")
    err = np.full(jd.size, 0.0016) * (1 + 0.1 * r.random(jd.size))
    flux = transit(times) + r.normal(0, 0.0016, jd.size)
    lines = ["#BJD_TDB\trel_flux_T1_dfn\trel_flux_err_T1_dfn"]
    lines += [f"{t:.6f}\t{f:.6f}\t{e:.6f}" for t, f, e in zip(times, flux, err, strict=True)]
    write(f"TIC{TIC}-01_20210305_LCO-McD-1m0_ip_10px_bjd-flux-err-detrended.dat", "\n".join(lines) + "\n")
    r = rng(2)
    jd = night(2459357.9550, 36, 184.3)
    times = bjd(jd, "HAL")
    airmass = 1.02 + 0.5 * np.linspace(0, 1, jd.size) ** 2
    width = 9.5 + r.normal(0, 0.3, jd.size)
    err = 0.0015 + 0.0002 * r.random(jd.size)
    flux = transit(times) + r.normal(0, 0.0015, jd.size)
    lines = ["#BJD_TDB\trel_flux_T1_n\trel_flux_err_T1_n\tAIRMASS\tWidth_T1"]
    lines += [
        f"{t:.6f}\t{f:.6f}\t{e:.6f}\t{a:.6f}\t{w:.6f}"
        for t, f, e, a, w in zip(times, flux, err, airmass, width, strict=True)
    ]
    write(f"TIC{TIC}-01_20210523_LCO-HAL-M3_rp_15px_bjd-flux-err-am-fwhm.dat", "\n".join(lines) + "\n")


def _aij_row_number_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["\t".join([" ", *header])]
    lines += ["\t".join([str(index + 1), *row]) for index, row in enumerate(rows)]
    return "\n".join(lines) + "\n"


def kind2_mid_exposure() -> None:
    """An LCO AstroImageJ table with the observer's mid-exposure columns (``_MOBS``), unused ones all NaN.

    AstroImageJ's JD_UTC and the observer's mid-exposure time differ by about two seconds in real
    uploads; here the mid-exposure UTC is JD_UTC - 1.9 s and both _MOBS columns are astropy's.
    """
    r = rng(3)
    jd = night(2459302.2026, 30, 182.0)
    mid = jd - 1.9 / 86400
    times_mobs = bjd(mid, "SSO")
    hjd_mobs = hjd(mid, "SSO")
    flux_raw = 0.1031 * (transit(times_mobs) + r.normal(0, 0.0028, jd.size))
    err_raw = np.full(jd.size, 0.000286)
    comp = 0.1234 + r.normal(0, 0.0003, jd.size)
    header = [
        "Label", "slice", "Saturated", "J.D.-2400000", "JD_UTC", "JD_SOBS", "JD_MOBS", "HJD_MOBS", "BJD_MOBS",
        "ALT_OBJ", "AIRMASS", "FWHM_Mean", "Source_Radius", "rel_flux_T1", "rel_flux_C2", "rel_flux_err_T1",
        "rel_flux_err_C2", "tot_C_cnts", "tot_C_err", "X(IJ)_T1", "Y(IJ)_T1", "Source-Sky_T1", "Source_Error_T1",
        "Sky/Pixel_T1", "FWHM_T1", "Width_T1", "ALTITUDE", "HJD_UTC_MOBS", "BJD_TDB_MOBS",
    ]  # fmt: skip
    rows = []
    for i in range(jd.size):
        rows.append(
            [
                f"coj1m003-fa19-20210328-{118 + i:04d}-e91.fits", f"{i + 1:.6f}", "0.000000",
                f"{jd[i] - 2400000:.6f}", f"{jd[i]:.6f}", "NaN", "NaN", "NaN", "NaN", "NaN",
                f"{2.338 - 0.015 * i:.6f}", f"{6.86 + r.normal(0, 0.2):.6f}", "13.000000",
                f"{flux_raw[i]:.6f}", f"{comp[i]:.6f}", f"{err_raw[i]:.6f}", "0.000324",
                f"{5891497 + r.normal(0, 2000):.6f}", "4014.239527", f"{1675.77 + r.normal(0, 0.3):.6f}",
                f"{1568.75 + r.normal(0, 0.3):.6f}", f"{607744 * flux_raw[i] / 0.1031:.6f}", "1630.280309",
                f"{1144.68 + r.normal(0, 5):.6f}", f"{6.26 + r.normal(0, 0.1):.6f}", f"{9.73 + r.normal(0, 0.1):.6f}",
                f"{25.17 + 0.4 * i:.6f}", f"{hjd_mobs[i]:.6f}", f"{times_mobs[i]:.6f}",
            ]
        )  # fmt: skip
    write(f"TIC{TIC}-01_20210328_LCO-SSO-1m0_ip_measurements.tbl", _aij_row_number_table(header, rows))


def kind3_paper_table() -> None:
    """A published table: '#' header naming an offset BJD, then flux, error, a few more, a text frame id last."""
    r = rng(4)
    jd = night(2459410.4012, 32, 60.0)
    times = bjd(jd, "TEIDE")
    flux = transit(times) + r.normal(0, 0.0011, jd.size)
    lines = ["# BJD(TDB)-2450000   rel_flux    rel_flux_err  airmass  dx(pix)  dy(pix)  fwhm(pix)  frame"]
    for i in range(jd.size):
        lines.append(
            f"{times[i] - 2450000:.6f}  {flux[i]:.6f}  {0.0011 + 0.0001 * r.random():.6f}  {1.12 + 0.01 * i:.4f}"
            f"  {r.normal(0, 0.4):+.2f}  {r.normal(0, 0.4):+.2f}  {3.1 + r.normal(0, 0.1):.2f}"
            f"  MCT2{2 - i % 2}_2107150{300 + i:03d}"
        )
    write("toi9001_muscat2_20210715_table.txt", "\n".join(lines) + "\n")


def kind4_space_header_tab_data() -> None:
    """A pipeline table: a space-separated header over tab-separated rows, normalised flux, err_ names."""
    r = rng(5)
    jd = night(2460971.5210, 34, 120.0)
    times = bjd(jd, "TEIDE")
    flux = transit(times) + r.normal(0, 0.0021, jd.size)
    lines = ["BJD_TDB Rel_flux_T1 err_rel_flux_T1 dX dY FWHM Sky Airmass"]
    for i in range(jd.size):
        lines.append(
            "\t".join(
                [
                    f"{times[i]:.6f}",
                    f"{flux[i]:.6f}",
                    f"{0.0021 + 0.0002 * r.random():.6f}",
                    f"{r.normal(0, 0.5):.3f}",
                    f"{r.normal(0, 0.5):.3f}",
                    f"{4.2 + r.normal(0, 0.2):.3f}",
                    f"{812 + r.normal(0, 6):.2f}",
                    f"{1.31 - 0.004 * i:.4f}",
                ]
            )
        )
    write(f"TIC{TIC}.01_20251023_LO_OSC_measurement.tbl", "\n".join(lines) + "\n")


def kind5_exotic_report() -> None:
    """An EXOTIC (Exoplanet Watch) AAVSO exoplanet report: '#KEY=VALUE' metadata, then '#DATE,DIFF,ERR,...'."""
    r = rng(6)
    jd = night(2459302.6610, 40, 150.0)
    times = bjd(jd, None)
    airmass = 1.05 + 0.002 * np.arange(jd.size)
    flux = transit(times) + r.normal(0, 0.0030, jd.size)
    err = 0.0030 + 0.0003 * r.random(jd.size)
    model = 1 + 0.001 * (airmass - 1.05)
    header = [
        "#TYPE=EXOPLANET", "#OBSCODE=XYZA", "#SECONDARY_OBSCODES=", "#SOFTWARE=EXOTIC v3.1.0", "#DELIM=,",
        "#DATE_TYPE=BJD_TDB", "#OBSTYPE=CCD", "#STAR_NAME=TOI-9001", "#EXOPLANET_NAME=TOI-9001 b",
        "#BINNING=1x1", "#EXPOSURE_TIME=120.0",
        '#COMP_STAR-XC={"ra": "16:21:07.2", "dec": "+31:35:12", "x": "493", "y": "202"}',
        "#NOTES=na", "#DETREND_PARAMETERS=AIRMASS, AIRMASS CORRECTION FUNCTION", "#MEASUREMENT_TYPE=Rnflux",
        "#FILTER=CV", '#FILTER-XC={"name": "CV", "fwhm": [{"value": "350.0", "units": "nm"}]}',
        "#PRIORS=Period=3.1 +/- 0.0001,a/R*=10.2 +/- 0.5,inc=88.1 +/- 0.9,ecc=0.0",
        "#RESULTS=Tc=2459302.7 +/- 0.001,Rp/R*=0.077 +/- 0.002,a/R*=10.1 +/- 0.6,Am1=1.0 +/- 0.001,Am2=0.02 +/- 0.01",
        "# EXOTIC is developed by Exoplanet Watch (exoplanets.nasa.gov/exoplanet-watch/), a citizen science project.",
        "# Use of this data is governed by the AAVSO Data Usage Guidelines: aavso.org/data-usage-guidelines",
        "#DATE,DIFF,ERR,DETREND_1,DETREND_2",
    ]  # fmt: skip
    lines = [
        f"{round(t, 8)},{round(f, 7)},{round(e, 7)},{round(a, 7)},{round(m, 7)}"
        for t, f, e, a, m in zip(times, flux, err, airmass, model, strict=True)
    ]
    write("AAVSO_TOI-9001 b_2021-03-28.txt", "\n".join(header + lines) + "\n")


def _asassn(name: str, bands: list[tuple[str, str, float]], seed: int, sentinels: bool) -> None:
    """An ASAS-SN style export: HJD, UT Date, Camera, FWHM, Limit, mag, mag_err, flux(mJy), flux_err, Filter."""
    r = rng(seed)
    rows = []
    for band_index, (band, camera, zero_mag) in enumerate(bands):
        jd = np.sort(2458700.6 + 200 * r.random(12)) + band_index * 0.013
        h = hjd(jd, None)
        mag = zero_mag + r.normal(0, 0.012, jd.size)
        flux = 3631e3 * 10 ** (-0.4 * mag)
        for i in range(jd.size):
            date = Time(jd[i], format="jd", scale="utc").isot[:23]
            rows.append(
                (
                    h[i],
                    f"{h[i]:.5f},{date},{camera},1.50,16.02,{mag[i]:.3f},0.012,"
                    f"{flux[i]:.3f},{flux[i] * 0.011:.3f},{band}",
                )
            )
        if sentinels:
            jd_bad = 2458810.65 + band_index * 0.01
            h_bad = float(hjd(np.array([jd_bad]), None)[0])
            date = Time(jd_bad, format="jd", scale="utc").isot[:23]
            rows.append((h_bad, f"{h_bad:.5f},{date},{camera},1.50,14.80,99.990,99.990,-0.052,0.071,{band}"))
    rows.sort()
    text = "HJD,UT Date,Camera,FWHM,Limit,mag,mag_err,flux(mJy),flux_err,Filter\n"
    write(name, text + "\n".join(row for _, row in rows) + "\n")


def kind6_paired_errors() -> None:
    _asassn(f"TIC{TIC}_asassn_V_bb.csv", [("V", "bb", 11.82)], 7, sentinels=False)


def kind7_several_light_curves() -> None:
    _asassn(f"TIC{TIC}_asassn_lightcurve.csv", [("V", "bb", 11.82), ("V", "bf", 11.85), ("g", "bF", 12.21)], 8, True)
    # AstroImageJ merged table: every column suffixed with its band.
    r = rng(9)
    parts: dict[str, list[list[str]]] = {}
    headers: list[str] = []
    for band, start, cadence, noise in (("B", 2459501.3021, 150.0, 0.0025), ("Z", 2459501.3034, 90.0, 0.0017)):
        jd = night(start, 30, cadence)
        times = bjd(jd, "SAAO")
        flux = 0.4213 * (transit(times) + r.normal(0, noise, jd.size))
        err = np.full(jd.size, 0.4213 * noise)
        headers += [f"Label_{band}", f"JD_UTC_{band}", f"BJD_TDB_{band}", f"AIRMASS_{band}",
                    f"rel_flux_T1_{band}", f"rel_flux_err_T1_{band}"]  # fmt: skip
        parts[band] = [
            [f"cpt1m010-fa16-20211019-{100 + i:04d}-e91.fits", f"{jd[i]:.6f}", f"{times[i]:.6f}",
             f"{1.4 - 0.01 * i:.6f}", f"{flux[i]:.6f}", f"{err[i]:.6f}"]
            for i in range(jd.size)
        ]  # fmt: skip
    rows = [b + z for b, z in zip(parts["B"], parts["Z"], strict=True)]
    write(f"TIC{TIC}-01_20211019_LCO-SAAO-1m0_B+Z_merged_measurements.tbl", _aij_row_number_table(headers, rows))


def kind8_site_from_labels() -> None:
    """An LCO table whose file name names no site: the Label column's image names do (cpt = SAAO)."""
    r = rng(10)
    jd = night(2459358.2601, 30, 150.0)
    times = bjd(jd, "SAAO")
    flux_raw = 0.2575 * (transit(times) + r.normal(0, 0.0025, jd.size))
    header = ["Label", "slice", "J.D.-2400000", "JD_UTC", "AIRMASS", "rel_flux_T1", "rel_flux_err_T1", "FWHM_T1"]
    rows = [
        [f"cpt1m010-fa16-20210523-{200 + i:04d}-e91.fits", f"{i + 1:.6f}", f"{jd[i] - 2400000:.6f}",
         f"{jd[i]:.6f}", f"{1.3 - 0.005 * i:.6f}", f"{flux_raw[i]:.6f}", f"{0.2575 * 0.0025:.6f}",
         f"{5.1 + r.normal(0, 0.1):.6f}"]
        for i in range(jd.size)
    ]  # fmt: skip
    write(f"TIC{TIC}-01_20210523_LCO-1m0_zs_measurements.tbl", _aij_row_number_table(header, rows))
    # The truth the tests compare with (not a file observers upload): astropy's BJD_TDB at SAAO.
    write("kind8_expected_bjd_tdb.txt", "\n".join(f"{t:.9f}" for t in times) + "\n")


if __name__ == "__main__":
    kind1_subsets()
    kind2_mid_exposure()
    kind3_paper_table()
    kind4_space_header_tab_data()
    kind5_exotic_report()
    kind6_paired_errors()
    kind7_several_light_curves()
    kind8_site_from_labels()

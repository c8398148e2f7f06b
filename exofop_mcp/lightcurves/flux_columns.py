"""Which columns of a table are the flux, its error, and the detrending quantities.

The observer's cleaned column first (AstroImageJ's ``_dfn``, then ``_dn``, then ``_n``); otherwise
the raw relative flux divided by its median and marked raw (a data subset may hold only a cleaned
column).  Counts of multi-star pipelines (``flux_star_0`` the target, the others comparisons) become
relative flux.  The error is the one that belongs to the chosen flux: its own name first, then one of
the same quantity (a magnitude never takes a flux error, nor a flux a magnitude error); values meaning
"no measurement" (99.99 mag, 0 flux, -99) are left out and counted.  No detrending of our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from exofop_mcp.lightcurves.reports import Refusal
from exofop_mcp.lightcurves.table_reading import TextTable

CLEANED_SUFFIXES = ("_dfn", "_dn", "_n")
#: Relative or normalised flux columns of other writers, best first (names lower case, units in
#: parentheses removed: ASAS-SN's ``flux(mJy)`` is ``flux``).  ``diff`` is an AAVSO exoplanet report's.
_FLUX_NAMES = (
    "detrended_flux",
    "det_flux",
    "norm_flux",
    "normalized_flux",
    "normalised_flux",
    "flux_norm",
    "rel_flux",
    "relative_flux",
    "diff_flux",
    "flux",
    "diff",
    "diff_mag",
    "dmag",
    "mag",
)
#: Error names that belong to no particular quantity: they pair with whatever flux the table has.
_GENERIC_ERRORS = ("err", "error", "errors", "sigma", "uncertainty")
_STAR = re.compile(r"^flux_star_(\d+)$", re.IGNORECASE)
_AIJ_FLUX = re.compile(r"^rel_flux_(t\d+)(_dfn|_dn|_n)?$")
_UNIT = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]\s*$")
#: A plain ``rel_flux_T1`` whose median is this close to 1 was already normalised by its writer: not "raw".
NORMALISED_WITHIN = 0.01
#: Values that mean "no measurement": magnitudes of 99.99 (or -99), fluxes of 0 or below, -99 and the like.
SENTINEL_MAGNITUDE = 90.0
SENTINEL_VALUES = (-99.0, -99.99, -999.0, -9999.0, 999.99, 9999.99)
#: Detrending columns: standard name → header names (lower case) in order of preference.
DETRENDING: dict[str, tuple[str, ...]] = {
    "airmass": ("airmass", "air_mass", "secz"),
    "fwhm": ("fwhm_t1", "fwhm_mult_t1", "fwhm", "width_t1", "seeing"),
    "sky": ("sky/pixel_t1", "sky", "sky_t1", "background", "bkg"),
    "x": ("x(ij)_t1", "x(fits)_t1", "x", "xshift", "x_shift", "xcen", "dx"),
    "y": ("y(ij)_t1", "y(fits)_t1", "y", "yshift", "y_shift", "ycen", "dy"),
    "exptime": ("exptime", "exposure", "exp_time", "exptime_s"),
}


@dataclass
class FluxChoice:
    flux: np.ndarray
    flux_err: np.ndarray
    source: str
    error_estimated: bool
    warnings: list[str] = field(default_factory=list)


def _lower_names(table: TextTable) -> dict[str, str]:
    return {name.strip().lower(): name for name in table.names}


def _plain_names(table: TextTable) -> dict[str, str]:
    """Lower-case names without a trailing unit (``flux(mJy)`` → ``flux``), the first of each kept."""
    plain: dict[str, str] = {}
    for name in table.names:
        plain.setdefault(_UNIT.sub("", name.strip()).lower(), name)
    return plain


def _numeric(table: TextTable, name: str | None) -> np.ndarray | None:
    if name is None or name not in table.names or not table.is_numeric(name):
        return None
    return table.number(name)


def _scatter_error(flux: np.ndarray) -> np.ndarray:
    """A per-point error from the point-to-point scatter (robust, insensitive to a transit)."""
    finite = flux[np.isfinite(flux)]
    diffs = np.diff(finite)
    sigma = 1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / np.sqrt(2) if diffs.size else np.nan
    return np.full(flux.shape, sigma)


def _normalise(values: np.ndarray) -> tuple[np.ndarray, float]:
    median = float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")
    if not np.isfinite(median) or median == 0:
        raise Refusal("no_flux_column", "the flux column has no usable values.")
    return values / median, median


def _drop_sentinels(values: np.ndarray, *, magnitude: bool, warnings: list[str]) -> np.ndarray:
    """Values that stand for "no measurement" as NaN, counted in ``warnings``."""
    bad = np.abs(values) >= SENTINEL_MAGNITUDE if magnitude else (values <= 0) | np.isin(values, SENTINEL_VALUES)
    count = int(np.count_nonzero(bad & np.isfinite(values)))
    if not count:
        return values
    what = "magnitudes of 99.99 or -99" if magnitude else "fluxes of 0 or below, -99 or 999.99"
    warnings.append(f"{count} sentinel values ({what}: no measurement) left out")
    cleaned = values.copy()
    cleaned[bad] = np.nan
    return cleaned


def _aij_error(names: dict[str, str], star: str, suffix: str) -> str | None:
    """AstroImageJ's error column of ``rel_flux_<star><suffix>``, as any writer names it."""
    for candidate in (
        f"rel_flux_err_{star}{suffix}",
        f"err_rel_flux_{star}{suffix}",
        f"rel_flux_{star}{suffix}_err",
        f"e_rel_flux_{star}{suffix}",
    ):
        if candidate in names:
            return names[candidate]
    return None


def _aij_flux(table: TextTable, names: dict[str, str]) -> FluxChoice | None:
    """AstroImageJ's ``rel_flux_T<n>``: the observer's cleaned column first, then the raw one."""
    stars: dict[str, set[str]] = {}
    for lower in names:
        if match := _AIJ_FLUX.match(lower):
            stars.setdefault(match.group(1), set()).add(match.group(2) or "")
    for star in sorted(stars, key=lambda s: int(s[1:])):
        for suffix in (*CLEANED_SUFFIXES, ""):
            if suffix not in stars[star]:
                continue
            name = names[f"rel_flux_{star}{suffix}"]
            flux = _numeric(table, name)
            if flux is None:
                continue
            warnings: list[str] = []
            err = _numeric(table, _aij_error(names, star, suffix))
            if err is None and suffix:
                raw_err = _numeric(table, _aij_error(names, star, ""))
                raw = _numeric(table, names.get(f"rel_flux_{star}"))
                if raw_err is not None:
                    scale = flux / raw if raw is not None else np.ones_like(flux)
                    err = raw_err * scale
                    warnings.append(f"error scaled from the raw error of rel_flux_{star} to the {suffix} flux")
            source = name
            median = float(np.nanmedian(flux)) if np.isfinite(flux).any() else float("nan")
            if not suffix and not abs(median - 1.0) <= NORMALISED_WITHIN:  # raw: a ratio to the comparisons
                flux, median = _normalise(flux)
                err = None if err is None else err / median
                source = f"{name} (raw, divided by its median {median:.6g})"
            return _with_error(flux, err, source, warnings)
    return None


def _with_error(flux: np.ndarray, err: np.ndarray | None, source: str, warnings: list[str]) -> FluxChoice:
    if err is None:
        warnings.append("no error column: errors estimated from the point-to-point scatter")
        return FluxChoice(flux, _scatter_error(flux), source, True, warnings)
    return FluxChoice(flux, err, source, False, warnings)


def _paired_error(table: TextTable, plain: dict[str, str], flux_key: str, magnitude: bool) -> str | None:
    """The error column of the flux ``flux_key``: its own name first, then one of the same quantity.

    A magnitude takes a magnitude error and a flux a flux error: an error whose name says the other
    quantity (``flux_err`` beside ``mag``, ``mag_err`` beside ``flux``) is never paired.
    """
    own = [
        f"{flux_key}_err",
        f"{flux_key}_error",
        f"{flux_key}err",
        f"e_{flux_key}",
        f"err_{flux_key}",
        f"err{flux_key}",
        f"sigma_{flux_key}",
        f"{flux_key}_sigma",
        f"{flux_key}_unc",
    ]
    same = (
        ("mag_err", "magerr", "e_mag", "err_mag", "errmag", "mag_error", "dmag_err", "sigma_mag")
        if magnitude
        else ("flux_err", "fluxerr", "errflux", "err_flux", "e_flux", "flux_error", "rel_flux_err", "sigma_flux")
    )
    other = "flux" if magnitude else "mag"
    for key in (*own, *same, *_GENERIC_ERRORS):
        name = plain.get(key)
        if name is not None and other not in key and _numeric(table, name) is not None:
            return name
    return None


def choose_flux(table: TextTable, *, time_column: str | None) -> FluxChoice:
    """The flux of ``table`` (see the module's rules); raises :class:`Refusal` when there is none."""
    names = _lower_names(table)
    # 1. AstroImageJ: rel_flux_T<n> with its cleaned variants (a data subset may hold only a cleaned one).
    chosen = _aij_flux(table, names)
    if chosen is not None:
        return chosen
    # 2. Counts of a multi-star pipeline: target over the sum of the comparisons.
    stars = sorted((int(m.group(1)), names[n]) for n in names if (m := _STAR.match(n)))
    if len(stars) >= 2 and stars[0][0] == 0:
        target_counts = table.number(stars[0][1])
        comparisons = np.nansum([table.number(name) for _, name in stars[1:]], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = target_counts / comparisons
        flux, median = _normalise(relative)
        return FluxChoice(
            flux,
            _scatter_error(flux),
            f"{stars[0][1]} / ({' + '.join(name for _, name in stars[1:])}) (counts, divided by the median ratio)",
            True,
            ["counts converted to relative flux; errors estimated from the point-to-point scatter"],
        )
    # 3. Other writers' names; a headerless table's second column.
    plain = _plain_names(table)
    measurement = table.metadata.get("MEASUREMENT_TYPE", "").split()
    report_in_magnitudes = bool(measurement) and measurement[0].lower() == "dmag"
    for candidate in _FLUX_NAMES:
        name = plain.get(candidate)
        values = _numeric(table, name)
        if values is None or name is None or name == time_column:
            continue
        is_mag = "mag" in candidate or (candidate == "diff" and report_in_magnitudes)
        warnings: list[str] = []
        flux = _drop_sentinels(values, magnitude=is_mag, warnings=warnings)
        err_name = _paired_error(table, plain, candidate, is_mag)
        err = table.number(err_name) if err_name else None
        if is_mag:
            if err is not None:
                err = np.where(np.abs(err) >= SENTINEL_MAGNITUDE, np.nan, err)
            flux = 10 ** (-0.4 * (flux - np.nanmedian(flux)))
            err = None if err is None else flux * err * np.log(10) / 2.5
            source = f"{name} (magnitudes, converted to relative flux)"
        else:
            median = float(np.nanmedian(flux)) if np.isfinite(flux).any() else float("nan")
            if not abs(median - 1.0) <= 0.05:
                flux, median = _normalise(flux)
                err = None if err is None else err / median
                source = f"{name} (raw, divided by its median {median:.6g})"
            else:
                source = name
        return _with_error(flux, err, source, warnings)
    raise Refusal(
        "no_flux_column",
        "no flux column (rel_flux_T1 and its _dfn/_dn/_n variants, flux_star_0..N, flux, rel_flux, DIFF...).",
    )


def detrending_columns(table: TextTable) -> dict[str, np.ndarray]:
    """The detrending quantities the table has, under their standard names."""
    names = _lower_names(table)
    found: dict[str, np.ndarray] = {}
    for standard, candidates in DETRENDING.items():
        for candidate in candidates:
            values = _numeric(table, names.get(candidate))
            if values is not None:
                found[standard] = values
                break
    return found

"""Which columns of a table are the flux, its error, and the detrending quantities.

The observer's cleaned column first (AstroImageJ's ``_dfn``, then ``_dn``, then ``_n``); otherwise
the raw relative flux divided by its median and marked raw.  Counts of multi-star pipelines
(``flux_star_0`` the target, the others comparisons) become relative flux.  No detrending of our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from exofop_mcp.lightcurves.reports import Refusal
from exofop_mcp.lightcurves.table_reading import TextTable

CLEANED_SUFFIXES = ("_dfn", "_dn", "_n")
#: Relative or normalised flux columns of other writers, best first.
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
    "diff_mag",
    "dmag",
    "mag",
)
_ERROR_NAMES = ("flux_err", "flux_error", "rel_flux_err", "err", "error", "sigma", "e_flux", "mag_err", "dmag_err")
_STAR = re.compile(r"^flux_star_(\d+)$", re.IGNORECASE)
#: Detrending columns: standard name → header names (lower case) in order of preference.
DETRENDING: dict[str, tuple[str, ...]] = {
    "airmass": ("airmass", "air_mass", "secz"),
    "fwhm": ("fwhm_t1", "fwhm_mult_t1", "fwhm", "width_t1", "seeing"),
    "sky": ("sky/pixel_t1", "sky", "sky_t1", "background", "bkg"),
    "x": ("x(ij)_t1", "x(fits)_t1", "x", "xshift", "x_shift", "xcen"),
    "y": ("y(ij)_t1", "y(fits)_t1", "y", "yshift", "y_shift", "ycen"),
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
    median = float(np.nanmedian(values))
    if not np.isfinite(median) or median == 0:
        raise Refusal("no_flux_column", "the flux column has no usable values.")
    return values / median, median


def choose_flux(table: TextTable, *, time_column: str | None) -> FluxChoice:
    """The flux of ``table`` (see the module's rules); raises :class:`Refusal` when there is none."""
    names = _lower_names(table)
    # 1. AstroImageJ: rel_flux_T<n> with its cleaned variants.
    targets = sorted(n for n in names if re.fullmatch(r"rel_flux_t\d+", n))
    for target in targets:
        for suffix in CLEANED_SUFFIXES:
            flux = _numeric(table, names.get(target + suffix))
            if flux is not None:
                star = target.removeprefix("rel_flux_")
                err = _numeric(table, names.get(f"rel_flux_err_{star}{suffix}"))
                if err is not None:
                    return FluxChoice(flux, err, names[target + suffix], False)
                raw_err = _numeric(table, names.get(f"rel_flux_err_{star}"))
                if raw_err is not None:
                    raw = _numeric(table, names[target])
                    scale = flux / raw if raw is not None else np.ones_like(flux)
                    return FluxChoice(
                        flux,
                        raw_err * scale,
                        names[target + suffix],
                        False,
                        [f"error scaled from rel_flux_err_{star} to the {suffix} flux"],
                    )
                return FluxChoice(
                    flux,
                    _scatter_error(flux),
                    names[target + suffix],
                    True,
                    ["no error column: errors estimated from the point-to-point scatter"],
                )
        raw = _numeric(table, names[target])
        if raw is not None:
            flux, median = _normalise(raw)
            star = target.removeprefix("rel_flux_")
            err_raw = _numeric(table, names.get(f"rel_flux_err_{star}"))
            source = f"{names[target]} (raw, divided by its median {median:.6g})"
            if err_raw is not None:
                return FluxChoice(flux, err_raw / median, source, False)
            return FluxChoice(
                flux,
                _scatter_error(flux),
                source,
                True,
                ["no error column: errors estimated from the point-to-point scatter"],
            )
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
    for candidate in _FLUX_NAMES:
        name = names.get(candidate)
        flux = _numeric(table, name)
        if flux is None or name == time_column:
            continue
        assert name is not None
        is_mag = "mag" in candidate
        err_name = next((names[e] for e in _ERROR_NAMES if e in names and _numeric(table, names[e]) is not None), None)
        err = table.number(err_name) if err_name else None
        warnings: list[str] = []
        if is_mag:
            flux = 10 ** (-0.4 * (flux - np.nanmedian(flux)))
            err = None if err is None else flux * err * np.log(10) / 2.5
            source = f"{name} (magnitudes, converted to relative flux)"
        else:
            median = float(np.nanmedian(flux))
            if abs(median - 1.0) > 0.05:
                flux, median = _normalise(flux)
                err = None if err is None else err / median
                source = f"{name} (raw, divided by its median {median:.6g})"
            else:
                source = name
        estimated = err is None
        if err is None:
            err = _scatter_error(flux)
            warnings.append("no error column: errors estimated from the point-to-point scatter")
        return FluxChoice(flux, err, source, estimated, warnings)
    raise Refusal(
        "no_flux_column",
        "no flux column (rel_flux_T1 and its _dfn/_dn/_n variants, flux_star_0..N, flux, rel_flux...).",
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

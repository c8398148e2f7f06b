"""Extraction of one system's downloaded time-series tags into standardised light curves.

For each tag the manifest lists as downloaded, every file that may hold a table (zips opened) is
read, its times turned into BJD_TDB, its flux chosen, a transit fitted against the TOI's ephemeris
(:mod:`exofop_mcp.lightcurves.transit_fit`; a fit that fails only says so), and an ECSV plus a PNG
written under ``light_curves/<tag>/`` (one pair per band when a table holds several, see :mod:`bands`).
The manifest's ``products`` record each source file's hash, size and modification time with what it
gave, so a repeat run reads nothing that did not change and rewrites nothing.  One bad file never
stops the others: it becomes an entry with a reason.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from exofop_mcp import __version__
from exofop_mcp.downloads.manifest import Manifest, ManifestFile, ManifestProduct, now
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import AtomicWriteError, ExofopMcpError, FileLimitError, SandboxEscapeError, UnsafeFileError
from exofop_mcp.file_work import Budget, check_budget, current_budget, running_under
from exofop_mcp.lightcurves.bands import Part, normalise_groups, split_by_band
from exofop_mcp.lightcurves.discovery import Candidate, zip_candidates
from exofop_mcp.lightcurves.ephemeris import Ephemeris
from exofop_mcp.lightcurves.file_names import FileNameInfo, parse_file_name
from exofop_mcp.lightcurves.flux_columns import choose_flux, detrending_columns
from exofop_mcp.lightcurves.light_curve_files import ecsv_text
from exofop_mcp.lightcurves.observatories import Site, find_site, lco_site_of_labels
from exofop_mcp.lightcurves.plotting import plot_png
from exofop_mcp.lightcurves.products import TIME_SERIES, TagOutcome, replay, reusable, tag_candidates
from exofop_mcp.lightcurves.reports import EntryStatus, LightCurveEntry, Refusal
from exofop_mcp.lightcurves.table_reading import MAX_LINE_CHARS, MAX_TABLE_BYTES, MIN_ROWS, TextTable, read_text_table
from exofop_mcp.lightcurves.time_columns import choose_times, site_from_table
from exofop_mcp.lightcurves.time_systems import SECONDS_PER_DAY, Target
from exofop_mcp.lightcurves.transit_fit import transit_fit_of
from exofop_mcp.sandbox_files import NotAFileError, open_folder_for_writing, open_inside, remove_inside

log = logging.getLogger(__name__)

#: Seconds one source file (a table, or a zip of tables) may take to read, convert and plot.
FILE_SECONDS = 120.0


@dataclass
class SystemContext:
    """What every light curve of a system needs: where things are, the star, its planets, the table rows."""

    directory: SystemDirectory
    tic_id: int
    host_toi: int | None
    target: Target | None
    ephemerides: dict[str, Ephemeris] = field(default_factory=dict)  # by TOI, "141.01"
    rows: dict[int, list[dict[str, str]]] = field(default_factory=dict)  # observation table rows by tag
    plots: bool = True


def read_table_rows(directory: SystemDirectory) -> dict[int, list[dict[str, str]]]:
    """The downloaded time-series observation table (``tables/time_series.csv``), rows by tag.

    Opened inside the system's directory and read from that descriptor only, with the caps of a
    light-curve table; a table that cannot be read safely gives no rows (the file names still help)."""
    rows: dict[int, list[dict[str, str]]] = {}
    try:
        with open_inside(directory.path, f"tables/{TIME_SERIES}.csv", root=directory.root) as opened:
            data = opened.read(MAX_TABLE_BYTES, what="the observation table reader")
            lines = (line.decode("utf-8", "replace") for line in opened_lines(data))
            for row in csv.DictReader(lines):
                tag = row.get("tag") or ""
                if tag.isdigit():
                    rows.setdefault(int(tag), []).append(row)
    except (OSError, ExofopMcpError, csv.Error) as exc:
        log.warning("the observation table of %s was not read: %s", directory.name, exc)
        return {}
    return rows


def opened_lines(data: bytes) -> list[bytes]:
    """The lines of a table's bytes, refused past :data:`MAX_LINE_CHARS` (no line is split in two)."""
    lines = data.splitlines()
    longest = max((len(line) for line in lines), default=0)
    if longest > MAX_LINE_CHARS:
        raise Refusal("over_limit", f"a line of {longest:,} bytes, longer than {MAX_LINE_CHARS:,}: not a table.")
    return lines


def _norm(text: str | None) -> str:
    """A band name without separators; case is kept (Cousins I is not SDSS i)."""
    return re.sub(r"[^A-Za-z0-9+]", "", text or "")


@dataclass
class Metadata:
    filter: str | None
    observatory: str | None
    telescope: str | None
    obs_date: dt.date | None
    planet: str | None
    aperture_px: float | None


def _metadata(ctx: SystemContext, tag: int, name: FileNameInfo) -> Metadata:
    """The observation table first, the file name second."""
    rows = ctx.rows.get(tag, [])
    row = None
    if name.filter:
        row = next((r for r in rows if _norm(r.get("filter")) == _norm(name.filter)), None)
    if row is None and len(rows) == 1 and not name.filter:
        row = rows[0]
    first = row or (rows[0] if rows else None)
    if row is None and rows and name.filter and name.observatory:
        # no row of the table is this file's band: its name gives both, so a title's telescope and
        # filter come from one source (a MuSCAT2 band is not titled with another row's telescope)
        first = {"obs_date": rows[0].get("obs_date") or "", "toi": rows[0].get("toi") or ""}
        first["telescope"], first["filter"] = name.observatory, name.filter
    filter_name = (row or {}).get("filter") or name.filter or (first or {}).get("filter") or None
    telescope = (first or {}).get("telescope") or None
    obs_date = None
    text = (first or {}).get("obs_date") or ""
    try:
        obs_date = dt.date.fromisoformat(text) if text else name.obs_date
    except ValueError:
        obs_date = name.obs_date
    planet = ((first or {}).get("toi") or "").removeprefix("TOI").strip() or None
    if planet is None and name.planet and ctx.host_toi:
        planet = f"{ctx.host_toi}.{name.planet}"
    return Metadata(filter_name, telescope or name.observatory, telescope, obs_date, planet, name.aperture_px)


def _output_stem(tag_prefix: str, key: str) -> str:
    inside = key[len(tag_prefix) :] if key.startswith(tag_prefix) else key
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", inside.replace("!", "__").replace("/", "__")).strip("._") or "table"


def _refused(tag: int, key: str, refusal: Refusal, status: EntryStatus = "failed") -> LightCurveEntry:
    skipped = refusal.reason in ("not_a_table",)
    return LightCurveEntry(
        tag=tag,
        source_file=key,
        status="skipped" if skipped else status,
        reason=refusal.reason,
        message=str(refusal),
    )


def _site(table: TextTable, meta: Metadata, name_info: FileNameInfo) -> tuple[Site | None, Metadata]:
    """The observatory's site: the table's coordinates, the names (ExoFOP's, the file's), LCO image labels.

    When no name places the site, LCO image names in the ``Label`` column do (``cpt1m010`` is the
    1 m at SAAO), and they name the observatory too (``LCO-SAAO-1m0``).
    """
    site = site_from_table(table) or find_site(meta.telescope, name_info.observatory, meta.observatory)
    if site is not None:
        return site, meta
    label = next((name for name in table.names if name.strip().lower() == "label"), None)
    found = lco_site_of_labels(table.cells[table.names.index(label)]) if label else None
    if found is None:
        return None, meta
    return found[0], dataclasses.replace(meta, observatory=meta.telescope or found[1])


def extract_table(
    ctx: SystemContext, tag: int, candidate: Candidate, data: bytes, sha256: str, stem: str
) -> tuple[list[LightCurveEntry], list[tuple[Path, int]]]:
    """One table → an ECSV and a PNG per light curve (one per band), their paths and sizes; raises
    :class:`Refusal` for no light curve, and :class:`AtomicWriteError` or :class:`SandboxEscapeError`
    when they cannot be written (every folder from the sandbox root to ``light_curves/<tag>/`` must be
    a real folder).

    A table holding several bands gives one light curve each; a band that yields none becomes an
    entry with its reason, and the others are kept.
    """
    check_budget()
    table = read_text_table(data, candidate.name)
    check_budget()
    name_info = parse_file_name(candidate.name)
    meta = _metadata(ctx, tag, name_info)
    if meta.filter is None and table.metadata.get("FILTER"):  # an AAVSO report's "#FILTER=CV"
        meta = dataclasses.replace(meta, filter=table.metadata["FILTER"].strip()[:40] or None)
    site, meta = _site(table, meta, name_info)
    if ctx.target is None:
        raise Refusal("no_coordinates", "the star has no catalog coordinates: times cannot be made barycentric.")
    parts = split_by_band(table)
    if len(parts) == 1:
        part = parts[0]
        part_meta = meta if part.band is None else dataclasses.replace(meta, filter=part.band)
        entry, files = _extract_part(ctx, tag, candidate, part, part_meta, site, sha256, stem)
        return [entry], files
    entries: list[LightCurveEntry] = []
    written: list[tuple[Path, int]] = []
    for part in parts:
        band = part.band or "none"
        part_meta = dataclasses.replace(meta, filter=part.band)
        try:
            entry, files = _extract_part(
                ctx, tag, candidate, part, part_meta, site, sha256, f"{stem}_{_norm(band) or 'band'}"
            )
        except Refusal as refusal:
            entries.append(_refused(tag, candidate.key, Refusal(refusal.reason, f"band {band}: {refusal}")))
            continue
        entry.warnings.append(f"one of {len(parts)} bands in the file ({', '.join(p.band or '-' for p in parts)})")
        entries.append(entry)
        written += files
    return entries, written


def _extract_part(
    ctx: SystemContext,
    tag: int,
    candidate: Candidate,
    part: Part,
    meta: Metadata,
    site: Site | None,
    sha256: str,
    stem: str,
) -> tuple[LightCurveEntry, list[tuple[Path, int]]]:
    """One light curve of a table → one ECSV and one PNG; raises :class:`Refusal` when it is none."""
    assert ctx.target is not None
    table = part.table
    times = choose_times(table, ctx.target, site, meta.obs_date)
    time_column = times.source.split(" ")[0]
    check_budget()
    flux = choose_flux(table, time_column=time_column)
    flux.flux, flux.flux_err, group_notes = normalise_groups(flux.flux, flux.flux_err, part.groups)
    extra = detrending_columns(table)
    if times.jd_utc is not None:
        extra["jd_utc"] = times.jd_utc
    warnings = [*times.warnings, *flux.warnings, *part.notes, *group_notes]
    keep = np.isfinite(times.bjd_tdb) & np.isfinite(flux.flux)
    if int(keep.sum()) < MIN_ROWS:
        raise Refusal("too_few_rows", f"only {int(keep.sum())} rows with both a time and a flux.")
    dropped = int((~keep).sum())
    if dropped:
        warnings.append(f"{dropped} rows without a time or a flux left out")
    bjd = times.bjd_tdb[keep]
    order = np.argsort(bjd, kind="stable")
    if np.any(order != np.arange(order.size)):
        warnings.append("rows were not in time order: sorted")
    bjd = bjd[order]
    flux_values = flux.flux[keep][order]
    flux_err = flux.flux_err[keep][order]
    columns = {k: v[keep][order] for k, v in extra.items()}
    steps = np.diff(bjd)
    cadence = float(np.median(steps)) * SECONDS_PER_DAY if steps.size else None
    ephemeris = ctx.ephemerides.get(meta.planet or "")
    if ephemeris is None and len(ctx.ephemerides) == 1:
        ephemeris = next(iter(ctx.ephemerides.values()))
    directory = ctx.directory
    ecsv_path = directory.light_curves_dir / str(tag) / f"{stem}.ecsv"
    png_path = ecsv_path.with_suffix(".png")
    entry = LightCurveEntry(
        tag=tag,
        source_file=candidate.key,
        status="extracted",
        ecsv=directory.relative(ecsv_path),
        png=directory.relative(png_path) if ctx.plots else None,
        rows=int(bjd.size),
        time_start_bjd_tdb=round(float(bjd[0]), 7),
        time_end_bjd_tdb=round(float(bjd[-1]), 7),
        span_hours=round(float(bjd[-1] - bjd[0]) * 24, 4),
        cadence_seconds=None if cadence is None else round(cadence, 3),
        filter=meta.filter,
        observatory=meta.observatory,
        obs_date=meta.obs_date.isoformat() if meta.obs_date else None,
        planet=ephemeris.planet if ephemeris else meta.planet,
        time_source=part.source(times.source),
        flux_source=part.source(flux.source),
        warnings=warnings,
    )
    header: dict[str, Any] = {
        "tag": tag,
        "tic_id": ctx.tic_id,
        "toi": entry.planet,
        "filter": meta.filter,
        "observatory": meta.observatory,
        "obs_date": entry.obs_date,
        "aperture_px": meta.aperture_px,
        "site": None
        if site is None
        else {
            "name": site.name,
            "latitude_deg": site.latitude_deg,
            "longitude_deg": site.longitude_deg,
            "height_m": site.height_m,
        },
        "source_file": candidate.key,
        "source_sha256": sha256,
        "time_source": entry.time_source,
        "time_scale": "tdb",
        "flux_source": entry.flux_source,
        "flux_raw": "raw" in flux.source,
        "flux_err_estimated": flux.error_estimated,
        "table_metadata": table.metadata or None,
        "warnings": warnings,
        "extracted_by": f"exofop-mcp {__version__}",
    }
    if ephemeris is not None:
        header["ephemeris"] = {
            "toi": ephemeris.planet,
            "epoch_bjd_tdb": ephemeris.epoch_bjd,
            "period_days": ephemeris.period_days,
            "duration_hours": ephemeris.duration_hours,
        }
    fit, curves = transit_fit_of(bjd, flux_values, flux_err, ephemeris, meta.filter, columns.get("airmass"))
    entry.fit = fit
    header["transit_fit"] = fit.model_dump(mode="json", exclude_none=True)
    text = ecsv_text(bjd, flux_values, flux_err, columns, {k: v for k, v in header.items() if v is not None})
    ecsv_bytes = text.encode("utf-8")
    png_bytes = None
    if ctx.plots:
        name = f"TOI {ephemeris.planet} (TIC {ctx.tic_id})" if ephemeris else f"TIC {ctx.tic_id}"
        title = f"{name}  tag {tag}  {meta.observatory or ''} {meta.filter or ''} {entry.obs_date or ''}"
        png_bytes = plot_png(bjd, flux_values, flux_err, " ".join(title.split()), ephemeris, fit, curves)
    with open_folder_for_writing(directory.root, f"{directory.name}/light_curves/{tag}") as folder:
        written = [(folder.write(ecsv_path.name, ecsv_bytes), len(ecsv_bytes))]
        if png_bytes is not None:
            written.append((folder.write(png_path.name, png_bytes), len(png_bytes)))
    return entry, written


def extract_tag(ctx: SystemContext, manifest: Manifest, tag: int, overwrite: bool) -> TagOutcome:
    """Every source file of one tag (see the module docstring); never raises for a bad file."""
    directory = ctx.directory
    entry = manifest.entry(tag)
    downloaded_sha = {f.path: f.sha256 for f in entry.files} if entry else {}
    candidates, sidecars = tag_candidates(manifest, tag)
    known = manifest.products or {}
    entries: list[LightCurveEntry] = []
    products: dict[str, ManifestProduct] = {}
    prefix = f"{TIME_SERIES}/{tag}/"
    for rel in candidates:
        previous = known.get(rel)
        try:
            with open_inside(directory.path, rel, root=directory.root) as opened:
                st = opened.st
                if (
                    not overwrite
                    and previous is not None
                    and previous.source_size == st.st_size
                    and previous.source_mtime_ns == st.st_mtime_ns
                    and reusable(directory, previous, plots=ctx.plots)
                ):
                    entries += replay(previous)
                    continue
                cap = MAX_ZIP_BYTES if rel.lower().endswith(".zip") else MAX_TABLE_BYTES
                data = opened.read(cap, what="light-curve extraction")
        except Exception as exc:
            entries.append(_refused(tag, rel, read_refusal(exc)))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if (
            not overwrite
            and previous is not None
            and previous.source_sha256 == sha
            and reusable(directory, previous, plots=ctx.plots)
        ):
            entries += replay(previous)
            products[rel] = previous.model_copy(update={"source_size": st.st_size, "source_mtime_ns": st.st_mtime_ns})
            continue
        with running_under(Budget(FILE_SECONDS, f"reading {rel}", parent=current_budget())):
            file_entries, written = _extract_file(ctx, tag, rel, data, sha, prefix)
        if downloaded_sha.get(rel) not in (None, sha):
            for e in file_entries:
                e.warnings.append(
                    "the file changed since it was downloaded (its SHA-256 is not the download's): "
                    "download_tags(overwrite=true) fetches ExoFOP's version again"
                )
        entries += file_entries
        products[rel] = ManifestProduct(
            tag=tag,
            source=rel,
            source_sha256=sha,
            source_size=st.st_size,
            source_mtime_ns=st.st_mtime_ns,
            files=[ManifestFile(path=directory.relative(p), size=size) for p, size in written],
            entries=[e.model_dump(mode="json", exclude_none=True) for e in file_entries],
            time=now(),
        )
        if previous is not None:  # products of the old version of the file that the new one did not make
            kept = {f.path for f in products[rel].files}
            for old in previous.files:
                if old.path not in kept:
                    remove_product(directory, old.path)
    removed = [key for key, product in known.items() if product.tag == tag and key not in candidates]
    for key in removed:  # a file no longer in the tag (downloaded again): its light curves go too
        for old in known[key].files:
            remove_product(directory, old.path)
    return TagOutcome(tag, _with_excel_twins_read(entries), products, removed, sidecars)


def _with_excel_twins_read(entries: list[LightCurveEntry]) -> list[LightCurveEntry]:
    """An Excel workbook whose measurements were read from a text table beside it needs no saving as one."""
    read = [e.source_file for e in entries if e.status in ("extracted", "already_extracted")]
    if not read:
        return entries
    out = []
    for e in entries:
        if e.reason == "excel_binary":
            twin = read[0].rsplit("/", 1)[-1]
            e = e.model_copy(
                update={
                    "message": f"a real Excel workbook, not AstroImageJ's tab-separated text; not needed: the "
                    f"tag's measurements were read from {twin} beside it."
                }
            )
        out.append(e)
    return out


MAX_ZIP_BYTES = 256 << 20
"""A zip inside a tag is read whole, up to this size; a plain table up to :data:`MAX_TABLE_BYTES`."""
PRODUCT_SUFFIXES = (".ecsv", ".png")


def read_refusal(exc: BaseException) -> Refusal:
    """Why a source file was not read, as the file's reason code and sentence."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, SandboxEscapeError):
        return Refusal("outside_sandbox", f"{exc} (a link leading outside the system directory).")
    if isinstance(exc, FileLimitError):
        return Refusal("over_limit", str(exc))
    if isinstance(exc, NotAFileError):
        return Refusal("not_a_regular_file", str(exc))
    if isinstance(exc, UnsafeFileError):
        return Refusal("hard_link", str(exc))
    if isinstance(exc, OSError):
        return Refusal("read_error", f"the file could not be read ({exc.strerror or type(exc).__name__}).")
    return Refusal("read_error", f"the file could not be read ({type(exc).__name__}).")


def remove_product(directory: SystemDirectory, relative: str) -> None:
    """Remove a light curve or plot a former extraction recorded, if the record names one.

    Paths read back from the manifest are untrusted: only a ``.ecsv`` or ``.png`` below
    ``light_curves/``, reached with no link on the way, is removed; anything else is left alone."""
    parts = PurePosixPath(relative).parts
    if (
        len(parts) < 2
        or parts[0] != "light_curves"
        or relative.startswith("/")
        or ".." in parts
        or "\\" in relative
        or not relative.lower().endswith(PRODUCT_SUFFIXES)
    ):
        log.warning("the manifest of %s names %r as a light curve; it is not removed", directory.name, relative)
        return
    try:
        remove_inside(directory.root, f"{directory.name}/{relative}")
    except (ExofopMcpError, OSError) as exc:
        log.warning("a former light curve of %s was not removed: %s", directory.name, exc)


def _extract_file(
    ctx: SystemContext, tag: int, rel: str, data: bytes, sha: str, prefix: str
) -> tuple[list[LightCurveEntry], list[tuple[Path, int]]]:
    if rel.lower().endswith(".zip"):
        candidates, inner_sidecars = zip_candidates(rel, data)
        if not candidates:  # listed, not vanished: a zip of plots and notes only
            refusal = Refusal(
                "not_a_table", f"a zip with no measurement table in it ({inner_sidecars} plots, notes or other files)."
            )
            return [_refused(tag, rel, refusal)], []
    else:
        candidates = [Candidate(rel, PurePosixPath(rel).name, lambda: data)]
    entries: list[LightCurveEntry] = []
    written: list[tuple[Path, int]] = []
    for candidate in candidates:
        if candidate.refusal is not None:
            entries.append(_refused(tag, candidate.key, candidate.refusal))
            continue
        try:
            member = data if candidate.key == rel else candidate.read()
            member_sha = sha if candidate.key == rel else hashlib.sha256(member).hexdigest()
            file_entries, files = extract_table(
                ctx, tag, candidate, member, member_sha, _output_stem(prefix, candidate.key)
            )
        except Refusal as refusal:
            entries.append(_refused(tag, candidate.key, refusal))
            continue
        except AtomicWriteError as exc:  # the table was read; its light curve could not be written
            entries.append(_refused(tag, candidate.key, Refusal("write_failed", f"{exc.message} {exc.hint or ''}")))
            continue
        except SandboxEscapeError as exc:
            entries.append(_refused(tag, candidate.key, Refusal("write_refused", str(exc))))
            continue
        except FileLimitError as exc:  # past its time budget, or a table past a cap
            entries.append(_refused(tag, candidate.key, Refusal("over_limit", exc.message)))
            continue
        except Exception as exc:  # a bug or a table stranger than any seen: this file fails, the others go on
            log.exception("light curve extraction failed for %s", candidate.key)
            entries.append(
                _refused(
                    tag,
                    candidate.key,
                    Refusal(
                        "unexpected_error",
                        f"the table could not be read ({type(exc).__name__}); the others are not affected.",
                    ),
                )
            )
            continue
        entries += file_entries
        written += files
    return entries, written

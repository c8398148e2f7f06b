"""Short human-readable summaries of results, shared by the MCP tools and the command line."""

from __future__ import annotations

from exofop_mcp.auth.login_status import LoginStatus
from exofop_mcp.downloads.inventory import DownloadsInventory
from exofop_mcp.downloads.jobs import DownloadReport
from exofop_mcp.downloads.request_models import FINAL_OK, TagResult
from exofop_mcp.lightcurves.reports import ExtractionReport
from exofop_mcp.site.observations import ObservationPage
from exofop_mcp.site.resolver import ResolvedSystem
from exofop_mcp.text_format import format_bytes


def _num(value: float | None, fmt: str) -> str:
    return "?" if value is None else format(value, fmt)


def system_summary(s: ResolvedSystem) -> str:
    lines = [f"{s.canonical_name} = TIC {s.tic_id} (matched by {s.matched_by.replace('_', ' ')})"]
    if s.matched_name:
        lines[0] += f" via the name {s.matched_name!r}"
    if s.ra_deg is not None and s.dec_deg is not None:
        lines.append(f"RA {s.ra_deg:.5f} deg, Dec {s.dec_deg:+.5f} deg, Tmag {_num(s.tess_mag, '.2f')}")
    elif s.tess_mag is not None:
        lines.append(f"Tmag {s.tess_mag:.2f}")
    if s.other_names:
        lines.append(f"Also known as: {', '.join(s.other_names)}")
    if s.planets:
        lines.append(f"{len(s.planets)} planet candidate(s) (TFOPWG / TESS disposition):")
    for p in s.planets:
        lines.append(
            f"  TOI-{p.toi}: {p.tfopwg_disposition or '?'} / {p.tess_disposition or '?'}, "
            f"P = {_num(p.period_days, '.4f')} d, dur = {_num(p.duration_hours, '.2f')} h, "
            f"depth = {_num(p.depth_ppm, '.0f')} ppm, Rp = {_num(p.planet_radius_earth, '.2f')} R_Earth"
            + (f", epoch {p.epoch_bjd:.4f} BJD" if p.epoch_bjd is not None else "")
            + (f", named {p.name}" if p.name else "")
        )
        if p.comments:
            lines.append(f"    comment: {p.comments}")
    if s.observation_counts:
        c = s.observation_counts
        lines.append(
            f"Catalog summary counts (TOI table): {c.time_series or 0} time series, {c.spectroscopy or 0} "
            f"spectroscopy, {c.imaging or 0} imaging (the catalog's own numbers, which can differ from the "
            "observation tables; list_observations has the rows)"
        )
    if s.catalog is not None:
        cat = s.catalog
        stale = " (STALE: ExoFOP could not be reached)" if cat.stale else ""
        lines.append(f"Catalog: {cat.source}, {cat.age_hours:.1f} h old{stale}")
    lines.append(f"ExoFOP page: {s.exofop_url}")
    lines.extend(f"Note: {n}" for n in s.notes)
    return "\n".join(lines)


#: The text of a page stays under this many characters (the structured half has its own budget).
PAGE_TEXT_BUDGET = 19_000
NOTE_CHARS = 60

#: The columns of each kind's text table: (heading, attribute names tried in order).
_COLUMNS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "time_series": [
        ("tag", ("tag",)),
        ("date", ("obs_date",)),
        ("telescope", ("telescope",)),
        ("filter", ("filter",)),
        ("observer", ("user",)),
        ("coverage", ("transit_coverage",)),
        ("toi", ("toi",)),
        ("notes", ("notes",)),
    ],
    "spectroscopy": [
        ("tag", ("tag",)),
        ("date", ("obs_date",)),
        ("telescope", ("telescope",)),
        ("instrument", ("instrument",)),
        ("observer", ("user",)),
        ("resolution", ("spectral_resolution",)),
        ("snr", ("snr_per_resolution",)),
        ("notes", ("notes",)),
    ],
    "imaging": [
        ("tag", ("tag",)),
        ("date", ("obs_date",)),
        ("telescope", ("telescope",)),
        ("instrument", ("instrument",)),
        ("filter", ("filter",)),
        ("observer", ("user",)),
        ("type", ("image_type",)),
        ("contrast", ("contrast",)),
        ("notes", ("notes",)),
    ],
    "stellar_companions": [
        ("tag", ("tag",)),
        ("date", ("obs_date", "date")),
        ("sep_arcsec", ("separation_arcsec",)),
        ("pa_deg", ("position_angle_deg",)),
        ("filter", ("filter",)),
        ("delta_mag", ("delta_mag",)),
        ("observer", ("user",)),
        ("notes", ("notes",)),
    ],
    "nearby_targets": [
        ("tic", ("tic_id",)),
        ("sep_arcsec", ("separation_arcsec",)),
        ("pa_deg", ("position_angle_deg",)),
        ("tmag", ("tess_mag",)),
        ("gaia_mag", ("gaia_mag",)),
        ("distance_pc", ("distance_pc",)),
        ("toi", ("toi",)),
    ],
    "stellar_parameters": [
        ("source", ("source",)),
        ("date", ("date",)),
        ("user", ("user",)),
        ("tag", ("tag",)),
        ("parameters", ("parameters",)),
    ],
    "files": [
        ("tag", ("tag",)),
        ("date", ("date",)),
        ("type", ("type",)),
        ("file", ("file_name",)),
        ("user", ("user",)),
        ("description", ("description",)),
    ],
    "observing_notes": [
        ("tag", ("tag",)),
        ("date", ("date",)),
        ("observer", ("user",)),
        ("notes", ("text",)),
    ],
}


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cell(row: object, attrs: tuple[str, ...], heading: str) -> str:
    for attr in attrs:
        value = getattr(row, attr, None)
        if value is None or value == "" or value == {}:
            continue
        if isinstance(value, dict):
            shown = [(k, v) for k, v in value.items() if "err" not in k.lower() and k != "TIC ID"]
            return _short(", ".join(f"{k}={v}" for k, v in shown[:6]), 100)
        if isinstance(value, float):
            return format(value, ".4g")
        text = str(value)
        if heading == "date":
            return text[:10]
        return _short(text, NOTE_CHARS if heading in ("notes", "description") else 40)
    return "-"


def rows_table(p: ObservationPage) -> list[str]:
    """The page's rows as a compact ``|``-separated table: a heading line, then one line per row."""
    columns = _COLUMNS.get(p.kind, [])
    lines = [" | ".join(h for h, _ in columns)]
    lines.extend(" | ".join(_cell(row, attrs, h) for h, attrs in columns) for row in p.rows)
    return lines


def page_summary(p: ObservationPage) -> str:
    kind = p.kind.replace("_", " ")
    filters = ", ".join(f"{k}={v}" for k, v in p.filters.items())
    head = f"{p.system} (TIC {p.tic_id}): {p.total} {kind} row(s)" + (f" matching {filters}" if filters else "")
    if p.total == 0:
        return "\n".join([head + ".", *(f"Note: {n}" for n in p.notes)])
    if p.returned == 0:
        lines = [head + f"; none shown (offset {p.offset} is past the last row)."]
    else:
        lines = [head + f"; rows {p.offset + 1}-{p.offset + p.returned} shown:"]
    tail: list[str] = []
    if p.tags:
        shown = ", ".join(map(str, p.tags[:60])) + (f" … ({len(p.tags) - 60} more)" if len(p.tags) > 60 else "")
        tail.append(f"{len(p.tags)} distinct tag(s) of all matching rows: {shown}")
    if p.next_offset is not None:
        tail.append(f"More rows: call again with offset={p.next_offset}.")
    tail.extend(f"Note: {n}" for n in p.notes)
    if p.returned:
        table = rows_table(p)
        used = sum(len(x) + 1 for x in lines + tail) + 200
        kept: list[str] = []
        for line in table:
            if used + len(line) + 1 > PAGE_TEXT_BUDGET:
                break
            kept.append(line)
            used += len(line) + 1
        lines.extend(kept)
        if len(kept) < len(table):
            lines.append(f"(text cut to {len(kept) - 1} of {p.returned} rows; the structured result has all of them)")
    return "\n".join(lines + tail)


def login_summary(s: LoginStatus) -> str:
    return s.message


#: How a status reads in the totals of a download's text.
_STATUS_WORDS = {"pending": "queued", "already_present": "already present"}


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def tag_result_line(t: TagResult) -> str:
    """One tag of a download: its status (the structured result's code) and its files, or what to do."""
    head = f"tag {t.tag}" + (f" ({t.kind})" if t.kind else "")
    if t.status == "downloaded":
        return f"{head}: downloaded, {_files(t.file_count)}, {format_bytes(t.bytes)} in {t.directory}"
    if t.status == "already_present":
        return f"{head}: already_present, {_files(t.file_count)} in {t.directory}"
    if t.status == "downloading":
        return f"{head}: downloading (transferring, unpacking or being recorded)"
    if t.status == "pending":
        return f"{head}: pending ({t.message or 'queued for a transfer slot'})"
    return f"{head}: {t.status} - {t.message or 'no details'}"


def download_summary(r: DownloadReport, budget: int | None = PAGE_TEXT_BUDGET) -> str:
    """A download report as text: the totals, one line per tag of the page, and what to do next.

    ``budget`` bounds the text (a tool result); ``None`` shows every line (a terminal).
    """
    counts = ", ".join(
        f"{n} {_STATUS_WORDS.get(status, status.replace('_', ' '))}" for status, n in sorted(r.totals.items())
    )
    tags = "tag" if r.tags_total == 1 else "tags"
    if r.state == "cancelled":  # cancelled tags have a final status, but they are not done
        ok = sum(r.totals.get(s, 0) for s in FINAL_OK)
        progress = f"{ok} of {r.tags_total} {tags} complete"
    else:
        progress = f"{r.tags_done}/{r.tags_total} {tags} done"
    lines = [
        f"{r.system}: {r.state}, {progress}"
        + (f" ({counts})" if counts else "")
        + f"; {format_bytes(r.bytes_downloaded)} in {r.elapsed_seconds:.1f} s.",
        f"Directory: {r.directory}",
    ]
    if r.results and budget is None:  # the complete report, in the requested order
        lines.append("Tags:")
    elif r.results:
        first, last = r.results_offset + 1, r.results_offset + len(r.results)
        which = "every tag" if len(r.results) == r.results_total else f"tags {first}-{last} of {r.results_total}"
        lines.append(f"Results, {which}, attention first:")
    tail = [r.message]
    used = sum(len(x) + 1 for x in lines + tail) + 200
    shown = 0
    for t in r.results:
        line = "  " + tag_result_line(t)
        if budget is not None and used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    if shown < len(r.results):
        lines.append(
            f"  (text cut to {shown} of the {len(r.results)} results of this page; the structured result has all "
            f"of them, or page on with results_offset={r.results_offset + shown})"
        )
    return "\n".join(lines + tail)


def inventory_summary(inv: DownloadsInventory) -> str:
    lines = [inv.message]
    for s in inv.systems:
        kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(s.by_kind.items())) or "none complete"
        lines.append(f"  {s.system} (TIC {s.tic_id}): {s.tags_complete} complete tag(s): {kinds} - {s.directory}")
    return "\n".join(lines)


def extraction_summary(r: ExtractionReport) -> str:
    totals = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in r.totals.items()) or "nothing to do"
    lines = [
        f"{r.system}: {r.light_curves} light curves from {r.tags_done}/{len(r.tags)} tags ({totals}); "
        f"{r.sidecars} sidecar files left alone",
        r.message,
    ]
    for e in r.results:
        name = e.source_file.rsplit("/", 1)[-1]
        if e.status in ("extracted", "already_extracted"):
            lines.append(
                f"  {e.tag} {name}: {e.status.replace('_', ' ')}, {e.rows} rows, {_num(e.span_hours, '.2f')} h at "
                f"{_num(e.cadence_seconds, '.1f')} s; time {e.time_source}; flux {e.flux_source} -> {e.ecsv}"
                + (f" [{'; '.join(e.warnings)}]" if e.warnings else "")
            )
            if e.fit is not None:
                lines.append(f"    transit: {e.fit.verdict}")
        else:
            lines.append(f"  {e.tag} {name or '-'}: {e.status} ({e.reason}): {e.message}")
    return "\n".join(lines)

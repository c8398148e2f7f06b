"""Short human-readable summaries of results, shared by the MCP tools and the command line."""

from __future__ import annotations

from exofop_mcp.auth.login_status import LoginStatus
from exofop_mcp.downloads.inventory import DownloadsInventory
from exofop_mcp.downloads.jobs import DownloadReport
from exofop_mcp.lightcurves.reports import ExtractionReport
from exofop_mcp.site.observations import ObservationPage
from exofop_mcp.site.resolver import ResolvedSystem


def _num(value: float | None, fmt: str) -> str:
    return "?" if value is None else format(value, fmt)


def system_summary(s: ResolvedSystem) -> str:
    lines = [f"{s.canonical_name} = TIC {s.tic_id} (matched by {s.matched_by.replace('_', ' ')})"]
    if s.ra_deg is not None and s.dec_deg is not None:
        lines.append(f"RA {s.ra_deg:.5f} deg, Dec {s.dec_deg:+.5f} deg, Tmag {_num(s.tess_mag, '.2f')}")
    for p in s.planets:
        lines.append(
            f"  TOI-{p.toi}: {p.tfopwg_disposition or p.tess_disposition or '?'}, "
            f"P = {_num(p.period_days, '.4f')} d, dur = {_num(p.duration_hours, '.2f')} h, "
            f"depth = {_num(p.depth_ppm, '.0f')} ppm, Rp = {_num(p.planet_radius_earth, '.2f')} R_Earth"
            + (f" ({p.name})" if p.name else "")
        )
    if s.observation_counts:
        c = s.observation_counts
        lines.append(
            f"Observations: {c.time_series or 0} time series, {c.spectroscopy or 0} spectroscopy, "
            f"{c.imaging or 0} imaging"
        )
    lines.append(f"ExoFOP page: {s.exofop_url}")
    lines.extend(f"Note: {n}" for n in s.notes)
    return "\n".join(lines)


def page_summary(p: ObservationPage) -> str:
    kind = p.kind.replace("_", " ")
    filters = ", ".join(f"{k}={v}" for k, v in p.filters.items())
    head = f"{p.system} (TIC {p.tic_id}): {p.total} {kind} row(s)" + (f" matching {filters}" if filters else "")
    if p.total == 0:
        return head + "."
    lines = [head + f"; rows {p.offset + 1}-{p.offset + p.returned} shown."]
    if p.tags:
        shown = ", ".join(map(str, p.tags[:30])) + (" …" if len(p.tags) > 30 else "")
        lines.append(f"{len(p.tags)} distinct tag(s): {shown}")
    if p.next_offset is not None:
        lines.append(f"More rows: call again with offset={p.next_offset}.")
    lines.extend(f"Note: {n}" for n in p.notes)
    lines.append("Full rows are in the structured result.")
    return "\n".join(lines)


def login_summary(s: LoginStatus) -> str:
    return s.message


def download_summary(r: DownloadReport) -> str:
    counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(r.totals.items()))
    lines = [
        f"{r.system}: {r.state}, {r.tags_done}/{r.tags_total} tags done ({counts}); "
        f"{r.bytes_downloaded / 2**20:.1f} MiB in {r.elapsed_seconds:.1f} s.",
        f"Directory: {r.directory}",
    ]
    problems = [t for t in r.results if t.status not in ("downloaded", "already_present", "pending", "downloading")]
    for t in problems[:10]:
        lines.append(f"  tag {t.tag}: {t.status} - {t.message or ''}")
    if len(problems) > 10:
        lines.append(f"  ... and {len(problems) - 10} more; see the structured result.")
    lines.append(r.message)
    return "\n".join(lines)


def inventory_summary(inv: DownloadsInventory) -> str:
    lines = [inv.message]
    for s in inv.systems:
        kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(s.by_kind.items())) or "none complete"
        lines.append(f"  {s.system} (TIC {s.tic_id}): {s.tags_complete} complete tag(s): {kinds} - {s.directory}")
    return "\n".join(lines)


def extraction_summary(r: ExtractionReport) -> str:
    totals = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in r.totals.items()) or "nothing to do"
    lines = [f"{r.system}: {r.light_curves} light curves from {r.tags_done}/{len(r.tags)} tags ({totals}); "
             f"{r.sidecars} sidecar files left alone", r.message]
    for e in r.results:
        name = e.source_file.rsplit("/", 1)[-1]
        if e.status in ("extracted", "already_extracted"):
            lines.append(
                f"  {e.tag} {name}: {e.status.replace('_', ' ')}, {e.rows} rows, {_num(e.span_hours, '.2f')} h at "
                f"{_num(e.cadence_seconds, '.1f')} s; time {e.time_source}; flux {e.flux_source} -> {e.ecsv}"
                + (f" [{'; '.join(e.warnings)}]" if e.warnings else "")
            )
        else:
            lines.append(f"  {e.tag} {name or '-'}: {e.status} ({e.reason}): {e.message}")
    return "\n".join(lines)

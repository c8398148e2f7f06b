"""The doctor's report as text: one line per check, what went wrong, and a block to paste into a bug report."""

from __future__ import annotations

from exofop_mcp.doctor.report import SITE_CHECKS, DoctorReport, scrub


def shapes_lines(report: DoctorReport) -> list[str]:
    """``name: shape`` lines for what the site answered where its behaviour is not documented."""
    return [f"{name}: {value}" for name, value in report.shapes.items()]


def report_block(report: DoctorReport) -> str | None:
    """A ready-to-paste description of the site checks that failed or warned (``None`` when none did)."""
    items = [c for c in report.checks if c.name in SITE_CHECKS and c.status in ("FAIL", "WARN")]
    if not items:
        return None
    v = report.versions
    lines = [
        "----- exofop-mcp doctor report -----",
        f"exofop-mcp {v.get('exofop-mcp')}; Python {v.get('python')}; httpx {v.get('httpx')}; "
        f"pydantic {v.get('pydantic')}; astropy {v.get('astropy')}; mcp {v.get('mcp')}",
        f"platform: {v.get('platform')}",
        f"base URL: {report.base_url}",
        f"run at: {report.started_at.strftime('%Y-%m-%d %H:%M:%S UTC')}",
    ]
    for c in items:
        lines.append("")
        lines.append(f"{c.status} {c.name}: {c.summary}")
        if c.url:
            lines.append(f"  url: {c.url}")
        if c.expected:
            lines.append(f"  expected: {c.expected}")
        if c.got:
            lines.append(f"  got: {c.got}")
        lines.extend(f"  {d}" for d in c.details)
    if report.shapes:
        lines.append("")
        lines.append("shapes seen:")
        lines.extend(f"  {line}" for line in shapes_lines(report))
    lines.append("----- end of report -----")
    return scrub("\n".join(lines))


def render_text(report: DoctorReport) -> str:
    """The report for a terminal: one line per check, then what went wrong and what to report."""
    width = max(len(c.name) for c in report.checks) if report.checks else 10
    lines = [f"exofop-mcp {report.version} doctor: checking {report.base_url}", ""]
    for c in report.checks:
        lines.append(f"{c.status:<4}  {c.name:<{width}}  {c.summary}")
        if c.status in ("FAIL", "WARN"):
            indent = " " * (width + 8)
            if c.expected:
                lines.append(f"{indent}expected: {c.expected}")
            if c.got:
                lines.append(f"{indent}got:      {c.got}")
            if c.url:
                lines.append(f"{indent}url:      {c.url}")
            lines.extend(f"{indent}{d}" for d in c.details)
            if c.hint:
                lines.append(f"{indent}what to do: {c.hint}")
    counts = report.counts
    lines.append("")
    lines.append(
        f"{report.status}: {counts.get('FAIL', 0)} failed, {counts.get('WARN', 0)} warning(s), "
        f"{counts.get('PASS', 0)} passed, {counts.get('SKIP', 0)} skipped in {report.seconds:.1f} s."
    )
    if report.shapes:
        lines.append("")
        lines.append("How ExoFOP answered where its behaviour is not documented (paste these when asked):")
        lines.extend(f"  {line}" for line in shapes_lines(report))
    if report.report_text:
        lines.append("")
        lines.append(
            "ExoFOP answered differently from what exofop-mcp expects. To report it, paste this block "
            "(it holds no cookies or passwords):"
        )
        lines.append("")
        lines.append(report.report_text)
    return "\n".join(lines) + "\n"

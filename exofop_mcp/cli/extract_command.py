"""``exofop-mcp extract SYSTEM [TAG ...] [--json]``: the ``extract_light_curves`` tool, run to the end."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from exofop_mcp.settings import Settings

EXTRACT_DESCRIPTION = """\
Turn the downloaded time-series tags of a system into standardised light curves: one ECSV file
(bjd_tdb in BJD_TDB, flux, flux_err and the detrending columns) and one PNG plot with the predicted
transit window per measurement table, under <data dir>/<system>/light_curves/<tag>/. Files that
give no light curve are listed with a reason; they never stop the others. A second run rewrites
nothing; --overwrite extracts again."""

EXTRACT_EPILOG = """\
examples:
  exofop-mcp download TOI-1130 --kind time_series
  exofop-mcp extract TOI-1130                 # every downloaded time-series tag
  exofop-mcp extract TOI-1130 18598 19121 --json

exit status: 0 when every table gave a light curve (or there was nothing to do), 1 when some files
could not be read (the others are extracted) or on an error, 2 for bad arguments."""


def add_extract_command(
    sub: Any,
    add_settings: Callable[[argparse.ArgumentParser], None],
    add_json: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    extract = sub.add_parser(
        "extract",
        usage="%(prog)s QUERY [TAG ...] [--overwrite] [--json] [settings]",
        help="standardised light curves from the downloaded time-series tags",
        description=EXTRACT_DESCRIPTION,
        epilog=EXTRACT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    extract.add_argument("query", metavar="QUERY", help="the system: anything `resolve` accepts")
    extract.add_argument("tags", metavar="TAG", nargs="*", help="downloaded time-series tags (default: all)")
    extract.add_argument("--overwrite", action="store_true", help="extract again even unchanged files")
    add_json(extract, "extract_light_curves")
    add_settings(extract)
    extract.set_defaults(command_parser=extract)


#: Reasons of refused files that never were light curves: they do not make ``extract`` fail.
NOT_LIGHT_CURVES = frozenset({"empty_file", "no_time_column", "not_a_table", "binary_file"})


def run_extract(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    from exofop_mcp.api import Exofop
    from exofop_mcp.cli.data_commands import EXIT_FAILED, EXIT_OK, _build, _print, _run, parse_tags
    from exofop_mcp.cli.terminal_output import for_terminal
    from exofop_mcp.lightcurves.reports import ExtractLightCurvesRequest
    from exofop_mcp.mcp_server.summaries import extraction_summary

    out, err = stdout or sys.stdout, stderr or sys.stderr
    tags = parse_tags(args.tags)
    request: ExtractLightCurvesRequest = _build(
        ExtractLightCurvesRequest, {"system": args.query, "tags": tags or None, "overwrite": args.overwrite}
    )

    async def main() -> int:
        async with Exofop(settings) as exofop:
            report = await exofop.extract_light_curves(request.system, tags=request.tags, overwrite=request.overwrite)
            text = for_terminal(extraction_summary(report), report.system)
            _print(out, report.model_dump_json(exclude_none=True) if args.json else text)
        # Files that were never light curves (a comparison-star list, an empty extra file) are listed with their
        # reason; the exit code speaks of light curves that could not be read.
        read = {e.tag for e in report.results if e.status in ("extracted", "already_extracted")}
        failed = [
            e
            for e in report.results
            if e.status == "failed"
            and e.reason not in NOT_LIGHT_CURVES
            and not (e.reason == "excel_binary" and e.tag in read)  # its text twin was read
        ]
        return EXIT_FAILED if failed or report.state != "completed" else EXIT_OK

    return _run(main(), err)

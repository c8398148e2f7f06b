"""``exofop-mcp doctor``: check that the configured ExoFOP site answers the way exofop-mcp expects.

``exofop_mcp.cli.main`` adds the command with :func:`add_doctor_command` and runs it with
:func:`run_doctor_command`; :func:`main` runs it on its own (``python -m exofop_mcp.cli.doctor_command``).
The checks themselves live in :mod:`exofop_mcp.doctor`, imported only when the command runs, so
adding the command to a parser costs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from exofop_mcp.cli.arguments import add_settings_options, bounded, settings_from_args
from exofop_mcp.errors import ConfigurationError, ExofopMcpError
from exofop_mcp.text_format import visible_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DOCTOR_COMMAND = "doctor"
# The defaults of exofop_mcp.doctor.report.DoctorOptions, repeated here so that building the parser (at every
# start of `exofop-mcp`) does not import the checks.
DEFAULT_TOI = 1130
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 1

_DESCRIPTION = """\
Check the configured ExoFOP site (EXOFOP_BASE_URL or --base-url) and print one line per item:
PASS, WARN (works, but differs from what is documented), FAIL or SKIP.

  reachable            the base URL answers (DNS, refused connection, TLS and timeouts told apart)
  toi_table            download_toi.php?toi=N&output=pipe parses, has the host's rows, RA/Dec convert
  toi_table_full       with --full: the whole TOI table parses and has thousands of rows
  name_resolver        gototicid.php?target=...&json answers {"status":"OK","num":1,"TIC":"..."}
  name_shapes          how gototicid answers a name matching several stars (--multi-target) and a TIC
                       target: the shapes are listed at the end of the report
  time_series, spectroscopy, imaging, stellar_companions
                       the star's observation tables parse with the documented columns
  tag_download         one public tag downloads as a valid zip (checked in a temporary directory)
  login, session       the stored login and its expiry; with --check-session, whether the site accepts it
  login_answer         with --try-login: where a login lands (redirect to index.php, to /tess/, a page)
  settings             the data, cache and config directories are usable

A failure says what was expected, what came back (HTTP status, first bytes, columns) and ends with
a block to paste into a bug report: versions, base URL and evidence, never cookies or passwords.
Nothing is written outside a temporary directory that is removed afterwards.

Exit status: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 for usage errors."""

_EPILOG = """\
examples:
  exofop-mcp doctor                                   # the configured site, the usual checks
  exofop-mcp doctor --full                            # also download and parse the whole TOI table
  exofop-mcp doctor --toi 700 --tag 18598             # another host TOI, a chosen tag
  exofop-mcp doctor --target WASP-46                  # ask the name resolver for another name
  exofop-mcp doctor --check-session                   # ask the site whether the stored login still works
  exofop-mcp doctor --try-login --credential-file ~/.exofop.txt   # where a login lands (not stored)
  exofop-mcp doctor --json > doctor.json              # machine-readable report
  exofop-mcp doctor --base-url http://127.0.0.1:8000  # a replica (see `exofop-mcp replica`)"""


def add_doctor_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``doctor`` to an ``argparse`` sub-parsers object; returns its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        DOCTOR_COMMAND,
        help="check that the ExoFOP site answers the way exofop-mcp expects",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--toi",
        type=bounded(int, 1),
        default=DEFAULT_TOI,
        metavar="N",
        help=f"a host TOI whose rows, tables and tags are checked (default {DEFAULT_TOI})",
    )
    parser.add_argument("--target", metavar="NAME", help="what the name resolver is asked (default TOI-<N>)")
    parser.add_argument(
        "--tag",
        type=bounded(int, 1),
        metavar="N",
        help="the tag to download (default: the first tag of the time-series table)",
    )
    parser.add_argument("--full", action="store_true", help="also download and parse the whole TOI table (~3.6 MB)")
    parser.add_argument(
        "--check-session",
        action="store_true",
        help="when logged in, ask the site once whether the stored session is accepted",
    )
    parser.add_argument(
        "--multi-target",
        metavar="NAME",
        help="a name matching several stars, to see how gototicid answers it (default CPD-58 7912)",
    )
    parser.add_argument(
        "--try-login",
        action="store_true",
        help="log in once (not stored) to see where the site lands; uses --credential-file or EXOFOP_USERNAME "
        "and EXOFOP_PASSWORD, never a prompt",
    )
    parser.add_argument("--credential-file", type=Path, metavar="FILE", help="the account for --try-login")
    parser.add_argument(
        "--timeout",
        type=bounded(float, 0.0, 3600.0, exclusive_low=True),
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time each check may take (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--retries",
        type=bounded(int, 0, 10),
        default=DEFAULT_RETRIES,
        metavar="N",
        help=f"extra attempts after a transient failure: connection error, 429, 5xx (default {DEFAULT_RETRIES})",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON (the DoctorReport model)")
    add_settings_options(parser)
    return parser


def run_doctor_command(
    args: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``exofop-mcp doctor`` with parsed ``args``; return the exit status (0, 1 or 2)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ
    try:
        settings = settings_from_args(args, env)
    except ConfigurationError as exc:
        print(f"exofop-mcp doctor: {exc}", file=err)
        return EXIT_USAGE
    from exofop_mcp.doctor import DoctorOptions, render_text, run_doctor

    options = DoctorOptions(
        toi=getattr(args, "toi", None) or DEFAULT_TOI,
        target=getattr(args, "target", None) or None,
        tag=getattr(args, "tag", None),
        full=bool(getattr(args, "full", False)),
        timeout=getattr(args, "timeout", None) or DEFAULT_TIMEOUT,
        retries=DEFAULT_RETRIES if getattr(args, "retries", None) is None else args.retries,
        check_session=bool(getattr(args, "check_session", False)),
        try_login=bool(getattr(args, "try_login", False)),
        credential_file=getattr(args, "credential_file", None),
    )
    if getattr(args, "multi_target", None):
        options = replace(options, multi_target=args.multi_target)
    try:
        report = asyncio.run(run_doctor(settings, options, environ=env))
    except ConfigurationError as exc:
        print(f"exofop-mcp doctor: {exc}", file=err)
        return EXIT_USAGE
    except ExofopMcpError as exc:
        print(f"exofop-mcp doctor: {exc}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nexofop-mcp doctor: cancelled.", file=err)
        return EXIT_INTERRUPTED
    if getattr(args, "json", False):
        print(report.model_dump_json(indent=2), file=out)
    else:
        out.write(visible_text(render_text(report)))
    out.flush()
    return report.exit_code


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone ``exofop-mcp`` parser that knows only ``doctor``."""
    from exofop_mcp import __version__

    parser = argparse.ArgumentParser(prog="exofop-mcp")
    parser.add_argument("--version", action="version", version=f"exofop-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_doctor_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``exofop-mcp doctor [options]`` without the rest of the command line (``argv``: the options)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args([DOCTOR_COMMAND, *arguments])
    logging.basicConfig(
        level=getattr(logging, args.log_level, logging.WARNING),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run_doctor_command(args)


if __name__ == "__main__":
    sys.exit(main())

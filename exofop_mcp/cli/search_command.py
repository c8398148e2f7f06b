"""``exofop-mcp search``: the ``search_tois`` tool at a terminal, with the same filters and ``--json``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO, get_args

from pydantic import ValidationError

from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.settings import Settings
from exofop_mcp.site.toi_search import SearchToisRequest, SortKey
from exofop_mcp.text_format import visible_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

LIST_FIELDS = ("tfopwg_disposition", "tess_disposition")

SEARCH_EPILOG = """\
examples:
  exofop-mcp search --tfopwg-disposition PC APC --tess-mag-max 11 --time-series-max 0
  exofop-mcp search --period-max-days 5 --planet-radius-max-earth 4 --sort-by tess_mag
  exofop-mcp search --tfopwg-disposition PC --sort-by=-depth_ppm --limit 50 --json | jq '.rows[].toi'

The observation counts are the ones the TOI table gives; `exofop-mcp list SYSTEM` shows the rows.
exit codes: 0 done (also when nothing matches), 1 ExoFOP unreachable with no cached catalog, 2 bad flags"""


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_search_command(
    sub: Any,
    add_settings_options: Callable[[argparse.ArgumentParser], None],
    add_json_option: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    search = sub.add_parser(
        "search",
        help="search the TOI catalog (dispositions, magnitude, period, depth, radius, follow-up counts)",
        description="Search the cached TOI catalog, e.g. for TOIs that still need follow-up. Filters combine "
        "with AND; the catalog is fetched only when the cache is missing or out of date.",
        epilog=SEARCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = search.add_argument_group("filters (as the search_tois tool)")
    for name, field in SearchToisRequest.model_fields.items():
        if name in ("sort_by", "limit", "offset"):
            continue
        help_text = (field.description or name).replace("%", "%%")
        if name in LIST_FIELDS:
            group.add_argument(flag(name), nargs="+", metavar="DISP", help=help_text + "; several, or comma-separated")
        else:
            group.add_argument(flag(name), metavar="N", help=help_text)
    search.add_argument(
        "--sort-by",
        choices=get_args(SortKey),
        metavar="KEY",
        help="sort key, '-' for descending (--sort-by=-depth_ppm): "
        + ", ".join(k for k in get_args(SortKey) if not k.startswith("-")),
    )
    search.add_argument("--limit", metavar="N", help="rows per page (default 25, at most 200)")
    search.add_argument("--offset", metavar="N", help="rows to skip (the previous page's next offset)")
    add_json_option(search, "search_tois")
    add_settings_options(search)
    search.set_defaults(command_parser=search)


def search_request(args: argparse.Namespace) -> SearchToisRequest:
    values: dict[str, Any] = {}
    for name in SearchToisRequest.model_fields:
        value = getattr(args, name, None)
        if value is None:
            continue
        if name in LIST_FIELDS:
            value = [part.strip() for item in value for part in item.split(",") if part.strip()]
        values[name] = value
    return SearchToisRequest.model_validate(values)


def _usage(exc: ValidationError) -> str:
    from exofop_mcp.cli.terminal_output import for_terminal

    parts = []
    for err in exc.errors(include_url=False):
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        for name in SearchToisRequest.model_fields:
            msg = msg.replace(f"'{name}'", flag(name))
        loc = err.get("loc", ())
        parts.append(f"{flag(str(loc[0]))} {err.get('input')!r}: {msg}" if loc else msg)
    return for_terminal("; ".join(parts))


def run_search_command(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    from exofop_mcp.api import Exofop
    from exofop_mcp.cli.terminal_output import for_terminal
    from exofop_mcp.mcp_server.search_tools import search_summary
    from exofop_mcp.site.toi_search import search_tois

    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        request = search_request(args)
    except ValidationError as exc:
        args.command_parser.error(_usage(exc))  # prints the usage and the message, exits 2

    async def main() -> str:
        async with Exofop(settings) as exofop:
            result = await search_tois(exofop.catalog, request)
        return result.model_dump_json(exclude_none=True) if args.json else for_terminal(search_summary(result))

    try:
        text = asyncio.run(main())
        out.write(visible_text(text) + "\n")
        out.flush()
    except ExofopMcpError as exc:
        err.write(f"exofop-mcp: {visible_text(for_terminal(str(exc)))}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.write("exofop-mcp: interrupted.\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`: stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return EXIT_OK

"""``exofop-mcp search``: the ``search_tois`` tool at a terminal, with the same filters and ``--json``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO, get_args

from pydantic import ValidationError

from exofop_mcp.cli.answer_printing import print_answer
from exofop_mcp.settings import Settings
from exofop_mcp.site.toi_search import SearchToisRequest, SortKey, ToiFilters

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
    add_toi_filter_flags(search.add_argument_group("filters (as the search_tois tool)"))
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


def add_toi_filter_flags(group: Any) -> None:
    """A flag per catalog filter (``search``, and the saved searches of ``watch add-search``)."""
    for name, field in ToiFilters.model_fields.items():
        help_text = (field.description or name).replace("%", "%%")
        if name in LIST_FIELDS:
            group.add_argument(flag(name), nargs="+", metavar="DISP", help=help_text + "; several, or comma-separated")
        else:
            group.add_argument(flag(name), metavar="N", help=help_text)


def toi_filter_values(args: argparse.Namespace, fields: Any = None) -> dict[str, Any]:
    """The filter flags given, as the request model takes them (lists split at commas too)."""
    values: dict[str, Any] = {}
    for name in fields or ToiFilters.model_fields:
        value = getattr(args, name, None)
        if value is None:
            continue
        if name in LIST_FIELDS:
            value = [part.strip() for item in value for part in item.split(",") if part.strip()]
        values[name] = value
    return values


def search_request(args: argparse.Namespace) -> SearchToisRequest:
    return SearchToisRequest.model_validate(toi_filter_values(args, SearchToisRequest.model_fields))


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

    return print_answer(main(), out, err)

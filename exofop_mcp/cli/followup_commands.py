"""``exofop-mcp follow-up``, ``whats-new`` and ``watch``: the follow-up desk at a terminal."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any, TextIO

from pydantic import ValidationError

from exofop_mcp.cli.answer_printing import print_answer
from exofop_mcp.cli.search_command import add_toi_filter_flags, toi_filter_values
from exofop_mcp.settings import Settings
from exofop_mcp.site.toi_search import ToiFilters
from exofop_mcp.text_format import counted

FOLLOWUP_COMMANDS = ("follow-up", "whats-new", "watch")

FOLLOW_UP_EPILOG = """\
examples:
  exofop-mcp follow-up TOI-1130
  exofop-mcp follow-up TOI-1130 --observatory lco-ctio --notes 20
  exofop-mcp follow-up "WASP-46" --json | jq '.missing'
exit codes: 0 done, 1 unknown system or ExoFOP unreachable, 2 bad flags"""

WHATS_NEW_EPILOG = """\
examples:
  exofop-mcp whats-new --since 2025-01-01                     # the systems of the watch list
  exofop-mcp whats-new --since 2025-01-01 TOI-1130 WASP-46    # these systems
  exofop-mcp watch add TOI-1130 TOI-101 && exofop-mcp watch list
exit codes: 0 done (also when nothing changed), 1 ExoFOP unreachable or a damaged watch list, 2 bad flags"""


def add_followup_commands(
    sub: Any,
    add_settings_options: Callable[[argparse.ArgumentParser], None],
    add_json_option: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    status = sub.add_parser(
        "follow-up",
        aliases=["status-of"],
        help="where a TOI's follow-up stands: dispositions, priorities, observations, notes, nearby stars, "
        "what is missing",
        description="Where a system's follow-up stands, in one answer: dispositions and priorities per candidate, "
        "what each kind of follow-up holds (transits covered by filter), the observing notes, nearby stars bright "
        "enough to cause the event, the next transits and the facts of what is missing, each with its rule.",
        epilog=FOLLOW_UP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("system", metavar="SYSTEM", help="a TIC id, TOI or star name")
    status.add_argument("--observatory", metavar="SITE", help="list the next transits this site can observe")
    status.add_argument("--notes", metavar="N", type=int, default=10, help="observing notes shown (default 10)")
    add_json_option(status, "follow_up_status")
    add_settings_options(status)
    status.set_defaults(command_parser=status)

    news = sub.add_parser(
        "whats-new",
        help="what changed on your targets since a date (the watch list, or the systems given)",
        description="New uploads, observing notes and TOI table changes since --since, on the systems given or "
        "on the watch list (edit it with `exofop-mcp watch`).",
        epilog=WHATS_NEW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    news.add_argument("systems", nargs="*", metavar="SYSTEM", help="systems (default: the watch list)")
    news.add_argument("--since", required=True, metavar="YYYY-MM-DD", help="changes on or after this date")
    news.add_argument("--limit", metavar="N", type=int, default=50, help="changes per page (default 50)")
    news.add_argument("--offset", metavar="N", type=int, default=0, help="changes to skip (the next page's offset)")
    add_json_option(news, "whats_new")
    add_settings_options(news)
    news.set_defaults(command_parser=news)

    watch = sub.add_parser(
        "watch",
        help="the watch list whats-new reports on: add, remove, list",
        description="Edit the watch list (watch_list.json in the configuration directory); the MCP server's "
        "whats_new reads it when no systems are given.",
    )
    action = watch.add_subparsers(dest="watch_action", metavar="ACTION", required=True)
    for name, text in (("add", "add systems (any name; kept as canonical names)"), ("remove", "remove systems")):
        one = action.add_parser(name, help=text)
        one.add_argument("names", nargs="+", metavar="SYSTEM")
        add_settings_options(one)
        one.set_defaults(command_parser=one)
    search = action.add_parser(
        "add-search",
        help="save TOI search filters: TOIs alerted since --since that match them are news",
        description="Save a search under NAME; whats-new on the watch list then reports the TOIs alerted since "
        "its --since date that pass these filters (the flags of `exofop-mcp search`).",
    )
    search.add_argument("search_name", metavar="NAME")
    add_toi_filter_flags(search.add_argument_group("filters (as `exofop-mcp search` takes them)"))
    add_settings_options(search)
    search.set_defaults(command_parser=search)
    forget = action.add_parser("remove-search", help="forget a saved search")
    forget.add_argument("search_name", metavar="NAME")
    add_settings_options(forget)
    forget.set_defaults(command_parser=forget)
    listing = action.add_parser("list", help="show the watched systems and saved searches")
    add_settings_options(listing)
    listing.set_defaults(command_parser=listing)


def _usage(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = "--" + "-".join(str(p) for p in err.get("loc", ())).replace("_", "-")
        parts.append(f"{where}: {str(err.get('msg', 'invalid value')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def run_followup_command(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    status_command = args.command in ("follow-up", "status-of")
    if args.command == "watch":
        return _watch(args, settings, out, err)
    from exofop_mcp.api import Exofop
    from exofop_mcp.followup.status import FollowUpStatusRequest
    from exofop_mcp.followup.whats_new import WhatsNewRequest
    from exofop_mcp.mcp_server.followup_tools import status_summary, whats_new_summary

    try:
        if status_command:
            status_request = FollowUpStatusRequest(
                system=args.system, observatory=args.observatory, notes_limit=args.notes
            )
        else:
            news_request = WhatsNewRequest.model_validate(
                {"since": args.since, "systems": args.systems or None, "limit": args.limit, "offset": args.offset}
            )
    except ValidationError as exc:
        args.command_parser.error(_usage(exc))

    async def main() -> str:
        async with Exofop(settings) as exofop:
            if status_command:
                status = await exofop.follow_up_status_for(status_request)
                return status.model_dump_json(exclude_none=True) if args.json else status_summary(status, terminal=True)
            news = await exofop.whats_new_for(news_request)
            return news.model_dump_json(exclude_none=True) if args.json else whats_new_summary(news, terminal=True)

    return print_answer(main(), out, err)


def _watch(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from exofop_mcp.api import Exofop
    from exofop_mcp.followup.watch_list import (
        add_system,
        load_watch_list,
        remove_search,
        remove_system,
        save_search,
        save_watch_list,
        watch_list_path,
    )

    if args.watch_action == "add-search":
        try:
            filters = ToiFilters.model_validate(toi_filter_values(args)).model_dump(exclude_none=True)
        except ValidationError as exc:
            args.command_parser.error(_usage(exc))

    async def main() -> str:
        watch = load_watch_list(settings.config_dir)
        path = watch_list_path(settings.config_dir)
        if args.watch_action == "list":
            if not watch.systems and not watch.searches:
                return f"The watch list is empty ({path}); add systems with `exofop-mcp watch add SYSTEM`."
            lines = [f"{counted(len(watch.systems), 'watched system')} ({path}):"]
            for e in watch.systems:
                lines.append(f"  {e.system}  (added {e.added}" + (f" as {e.query!r})" if e.query else ")"))
            for saved in watch.searches:
                lines.append(
                    f"  saved search {saved.name!r}: " + ", ".join(f"{k}={v}" for k, v in saved.filters.items())
                )
            return "\n".join(lines)
        if args.watch_action in ("add-search", "remove-search"):
            if args.watch_action == "add-search":
                new = save_search(watch, args.search_name, filters)
                done = f"{'saved' if new else 'replaced'} search {args.search_name!r}"
            else:
                done = f"{'removed' if remove_search(watch, args.search_name) else 'no'} search {args.search_name!r}"
            save_watch_list(settings.config_dir, watch)
            return f"{done}; {len(watch.searches)} saved search(es) ({path})."
        lines = []
        async with Exofop(settings) as exofop:
            for name in args.names:
                canonical = (await exofop.resolve_system(name, other_names=False)).canonical_name
                if args.watch_action == "add":
                    added = add_system(watch, canonical, name, dt.date.today())
                    lines.append(f"{'added' if added else 'already watched'}: {canonical}")
                else:
                    removed = remove_system(watch, canonical)
                    lines.append(f"{'removed' if removed else 'not watched'}: {canonical}")
        save_watch_list(settings.config_dir, watch)
        lines.append(f"{counted(len(watch.systems), 'system')} watched ({path}).")
        return "\n".join(lines)

    return print_answer(main(), out, err)

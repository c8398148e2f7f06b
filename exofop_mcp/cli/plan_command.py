"""``exofop-mcp plan``: the ``plan_transits`` tool at a terminal, with the same options and ``--json``."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO, get_args

from pydantic import ValidationError

from exofop_mcp.cli.answer_printing import print_answer
from exofop_mcp.planning.models import PlanSortKey, PlanTransitsRequest
from exofop_mcp.settings import Settings

LIST_FIELDS = ("tfopwg_disposition", "tess_disposition", "systems")
#: Options that get their own flags below (not the generic one per field).
OWN_FLAGS = ("sort_by", "limit", "offset", "chart", "start_date", "observatory")

PLAN_EPILOG = """\
examples:
  exofop-mcp plan lco-ctio 2026-12-07
  exofop-mcp plan muscat2 2026-12-07 --nights 7 --tfopwg-disposition PC APC --sg1a-priority-max 2
  exofop-mcp plan --latitude-deg -31.27 --longitude-deg 149.06 --elevation-m 1165 2026-12-07 --systems TOI-1130
  exofop-mcp plan el-sauce 2026-12-07 --systems TOI-1130 --chart --min-observable-fraction 0

Sites: lco-coj lco-cpt lco-ctio lco-elp lco-tfn lco-ogg muscat muscat2 muscat3 muscat4 trappist-north
trappist-south speculoos-south speculoos-north saint-ex extra ngts el-sauce pest keplercam mearth-north
mearth-south teide kitt-peak mt-lemmon ohp calar-alto mcdonald ctio saao sso la-silla paranal haleakala
oukaimeden okayama lick palomar (see the README for their sources).
exit codes: 0 done (also when nothing is observable), 1 unknown site or ExoFOP unreachable with no cached
catalog, 2 bad flags"""


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_plan_command(
    sub: Any,
    add_settings_options: Callable[[argparse.ArgumentParser], None],
    add_json_option: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    plan = sub.add_parser(
        "plan",
        help="plan transit observations: which TOI transits a site can observe over one or more nights",
        description="Every predicted TOI transit observable from a site (a named observatory, or --latitude-deg "
        "--longitude-deg --elevation-m) over the nights from START_DATE (the first evening's local date).",
        epilog=PLAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("observatory", nargs="?", metavar="SITE", help="a named site (omit with --latitude-deg ...)")
    plan.add_argument("start_date", metavar="START_DATE", help="the first evening's local date, YYYY-MM-DD")
    group = plan.add_argument_group("site, nights, constraints and filters (as the plan_transits tool)")
    for name, field in PlanTransitsRequest.model_fields.items():
        if name in OWN_FLAGS:
            continue
        help_text = terminal_words(field.description or name).replace("%", "%%")
        if name in LIST_FIELDS:
            group.add_argument(flag(name), nargs="+", metavar="NAME", help=help_text + "; several, or comma-separated")
        else:
            group.add_argument(flag(name), metavar="N" if name != "timezone" else "ZONE", help=help_text)
    plan.add_argument(
        "--sort-by",
        choices=get_args(PlanSortKey),
        metavar="KEY",
        help="order of the events ('-' first: largest first, e.g. --sort-by=-observable_fraction): "
        + ", ".join(get_args(PlanSortKey)),
    )
    plan.add_argument("--chart", action="store_true", help="draw a PNG per event shown (under DATA_DIR/SYSTEM/plans)")
    plan.add_argument("--limit", metavar="N", help="events per page (default 25, at most 200)")
    plan.add_argument("--offset", metavar="N", help="events to skip (the previous page's next offset)")
    add_json_option(plan, "plan_transits")
    add_settings_options(plan)
    plan.set_defaults(command_parser=plan)


def plan_request(args: argparse.Namespace) -> PlanTransitsRequest:
    values: dict[str, Any] = {}
    for name in PlanTransitsRequest.model_fields:
        value = getattr(args, name, None)
        if value is None or value is False:
            continue
        if name in LIST_FIELDS:
            value = [part.strip() for item in value for part in item.split(",") if part.strip()]
        values[name] = value
    return PlanTransitsRequest.model_validate(values)


#: The arguments given by position, as the usage line names them.
POSITIONAL = {"observatory": "SITE", "start_date": "START_DATE"}


def option(name: str) -> str:
    return POSITIONAL.get(name) or flag(name)


def terminal_words(text: str) -> str:
    """A core note or argument message worded for the terminal: argument names become flags."""
    text = re.sub(r"offset=(\d+)", r"--offset \1", text)
    for name in PlanTransitsRequest.model_fields:
        text = re.sub(rf"'?(?<![\w-]){name}(?!\w)'?", option(name), text)
    return text


def _usage(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        msg = terminal_words(str(err.get("msg", "invalid value")).removeprefix("Value error, "))
        loc = err.get("loc", ())
        parts.append(f"{option(str(loc[0]))} {err.get('input')!r}: {msg}" if loc else msg)
    return "; ".join(parts)


def run_plan_command(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    from exofop_mcp.api import Exofop
    from exofop_mcp.mcp_server.plan_tools import plan_summary

    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        request = plan_request(args)
    except ValidationError as exc:
        args.command_parser.error(_usage(exc))  # prints the usage and the message, exits 2

    async def main() -> str:
        async with Exofop(settings) as exofop:
            result = await exofop.plan_transits_for(request)
        if args.json:
            return result.model_dump_json(exclude_none=True)
        result.notes = [terminal_words(n) for n in result.notes]
        return plan_summary(result, terminal=True, data_dir=settings.data_dir)

    return print_answer(main(), out, err)

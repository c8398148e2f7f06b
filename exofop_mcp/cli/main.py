"""The ``exofop-mcp`` command line: the parser, and dispatch to each command.

``exofop-mcp`` alone (or ``exofop-mcp serve``) runs the MCP server on stdio,
which is what MCP clients such as Claude Desktop start.  ``resolve``, ``list``
and ``download`` run the MCP tools' operations at a terminal (implemented in
:mod:`exofop_mcp.cli.data_commands`); ``login``, ``logout`` and ``status`` manage the
ExoFOP login (:mod:`exofop_mcp.cli.login_commands`); ``doctor`` checks the site
(:mod:`exofop_mcp.cli.doctor_command`); the other commands run the offline demo, serve
the ExoFOP replica, and regenerate the JSON Schemas.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args

from exofop_mcp import __version__
from exofop_mcp.cli.arguments import LOG_LEVELS, add_settings_options, settings_from_args
from exofop_mcp.errors import ConfigurationError, ExofopMcpError, UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

RAW = argparse.RawDescriptionHelpFormatter

EXIT_CODES_HELP = """\
exit codes:
  0    done (download: every tag downloaded or already present)
  1    ExoFOP said no or was unreachable (unknown or ambiguous target), or some tags failed
  2    malformed arguments (bad flag value, impossible identifier, filter the table cannot answer)
  130  interrupted (Ctrl-C); a download is cancelled and nothing partial is kept"""

MAIN_EPILOG = f"""\
With no command, runs the MCP server on stdio (what Claude Desktop starts).

examples:
  exofop-mcp resolve TOI-1130
  exofop-mcp list TOI-1130 --kind time_series --telescope LCO
  exofop-mcp download TOI-1130 --kind time_series --telescope LCO --since 2020-01-01
  exofop-mcp download TOI-1130 18598 19121 --json > report.json
  exofop-mcp <command> --help

{EXIT_CODES_HELP}"""

RESOLVE_DESCRIPTION = """\
Resolve any TIC id, TOI, planet candidate or star name, in any usual spelling, to one canonical
system: TIC id, host TOI, canonical name (also its download directory), planet candidates with
period, duration, depth and radius, coordinates, TESS magnitude and observation counts.
The same operation as the resolve_system MCP tool; --json prints its structured output."""

RESOLVE_EPILOG = f"""\
examples:
  exofop-mcp resolve TOI-1130
  exofop-mcp resolve "TIC 254113311"          # quote names with spaces
  exofop-mcp resolve toi_1130.02
  exofop-mcp resolve WASP-46 --json | jq .tic_id

{EXIT_CODES_HELP}"""

LIST_DESCRIPTION = """\
List what ExoFOP holds for a system, one kind at a time, as a table (or --json: exactly the
list_observations MCP tool's structured output). Filters combine with AND. Pages hold --limit rows;
the footer gives the command for the next page, and the tags of ALL matching rows, ready for
`exofop-mcp download` with the same flags."""

LIST_EPILOG = f"""\
examples:
  exofop-mcp list TOI-1130                                   # time series (the default kind)
  exofop-mcp list TOI-1130 --kind spectroscopy
  exofop-mcp list TOI-1130 --telescope LCO --filter zs --since 2020-01-01
  exofop-mcp list TOI-1130 --planet TOI-1130.02 --limit 10 --offset 10
  exofop-mcp list "TIC 254113311" --kind nearby_targets
  exofop-mcp list TOI-1130 --kind imaging --json | jq '.tags'

{EXIT_CODES_HELP}"""

DOWNLOAD_DESCRIPTION = """\
Download observation tags of a system into the sandbox (EXOFOP_MCP_DATA_DIR/<system>/<kind>/<tag>/),
verified and safely unpacked. Name the TAGs (from `exofop-mcp list`), or give --kind to fetch every
tag of that kind after the same filters as `list` (so the same flags fetch exactly what `list`
showed), or both to check the tags against the kind. Filters cannot be combined with TAGs.
Complete tags are never fetched twice (unless --overwrite); a rerun fetches only what is missing.
Progress goes to stderr (redrawn in place on a terminal, one line per finished tag otherwise); the
summary (or --json: the download_tags MCP tool's structured output) goes to stdout. Ctrl-C cancels
cleanly: finished tags stay, nothing partial is kept."""

DOWNLOAD_EPILOG = f"""\
examples:
  exofop-mcp download TOI-1130 18598 19121                   # these tags
  exofop-mcp download TOI-1130 --kind time_series --telescope LCO --since 2024-01-01
  exofop-mcp download TOI-1130 --kind spectroscopy --keep-zip
  exofop-mcp download TOI-1130 18598 --kind time_series      # check that 18598 is a time series
  exofop-mcp download TOI-1130 --kind imaging --json > report.json

{EXIT_CODES_HELP}
  (SIGTERM exits 143 after the same clean cancellation)"""

#: Placeholders of the filter flags in --help.
FILTER_METAVARS = {"filter": "BAND", "user": "NAME", "planet": "TOI", "since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    """One flag per field of ObservationFilters (the list_observations filters), with its description."""
    from exofop_mcp.site.observations import ObservationFilters

    group = parser.add_argument_group("filters (as list_observations; they combine with AND)")
    for name, field in ObservationFilters.model_fields.items():
        group.add_argument(
            f"--{name}",
            metavar=FILTER_METAVARS.get(name, "TEXT"),
            help=(field.description or name).replace("%", "%%"),
        )


def add_json_option(parser: argparse.ArgumentParser, tool: str) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print exactly the {tool} tool's structured output (schemas/{tool}.output.json) instead of text",
    )


def build_parser(*, replica_arguments: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``replica_arguments=False`` leaves out the ``replica`` command's own flags,
    whose definitions import the replica (numpy and its dataset): :func:`main` does so unless asked for it."""
    parser = argparse.ArgumentParser(
        prog="exofop-mcp",
        description="ExoFOP-TESS follow-up data for MCP clients, scripts and the terminal.",
        epilog=MAIN_EPILOG,
        formatter_class=RAW,
    )
    parser.add_argument("--version", action="version", version=f"exofop-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_data_commands(sub)
    from exofop_mcp.cli.extract_command import add_extract_command

    add_extract_command(sub, add_settings_options, add_json_option)

    from exofop_mcp.cli.doctor_command import add_doctor_command
    from exofop_mcp.cli.login_commands import add_login_commands
    from exofop_mcp.cli.search_command import add_search_command

    add_search_command(sub, add_settings_options, add_json_option)
    from exofop_mcp.cli.plan_command import add_plan_command

    add_plan_command(sub, add_settings_options, add_json_option)
    from exofop_mcp.cli.followup_commands import add_followup_commands

    add_followup_commands(sub, add_settings_options, add_json_option)
    add_login_commands(sub)
    add_doctor_command(sub)

    serve = sub.add_parser(
        "serve",
        help="run the MCP server (stdio by default)",
        description="Run the MCP server. stdio is what desktop clients start; --http serves streamable "
        "HTTP on 127.0.0.1 for clients that connect by URL.",
        epilog="examples:\n  exofop-mcp serve\n  exofop-mcp serve --http               # http://127.0.0.1:8766/mcp\n\n"
        "exit codes: 0 stopped, 1 the HTTP port is in use, 2 bad settings or flags",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (loopback only; default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=HTTP_PORT, help=f"HTTP port (default {HTTP_PORT}; the replica uses 8765)"
    )
    add_settings_options(serve)

    demo = sub.add_parser(
        "demo",
        help="run an offline end-to-end demo against a local ExoFOP replica",
        description="Starts an ExoFOP replica on 127.0.0.1, starts the MCP server, connects a real MCP\n"
        "client, resolves a system and lists its observations, printing the transcript.",
        epilog='examples:\n  exofop-mcp demo\n  exofop-mcp demo --target "TIC 254113311"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--target", default="TOI-1130", help="what to resolve (default TOI-1130)")
    demo.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS)

    replica = sub.add_parser(
        "replica",
        help="serve the offline ExoFOP replica on 127.0.0.1 (for tests, demos, benchmarks)",
        description="Serve a local replica of ExoFOP-TESS, with switches for latency, bandwidth and faults.",
        epilog="examples:\n"
        "  exofop-mcp replica                                # http://127.0.0.1:8765\n"
        "  EXOFOP_BASE_URL=http://127.0.0.1:8765 exofop-mcp list TOI-1130   # (in another terminal)\n"
        "  exofop-mcp replica --port 0 --latency 0.2 --bandwidth 1MiB --tag-size 4MiB\n"
        "  exofop-mcp replica --error-rate 0.1 --faults 5xx,reset\n"
        "  exofop-mcp replica --account alice:secret",
        formatter_class=RAW,
    )
    if replica_arguments:
        from exofop_mcp.replica.cli import add_arguments as add_replica_arguments

        add_replica_arguments(replica)

    schemas = sub.add_parser(
        "schemas",
        help="write the tools' JSON Schemas (or check them with --check)",
        description="Regenerate schemas/*.json from the tool models.",
        epilog="examples:\n  exofop-mcp schemas\n  exofop-mcp schemas --check    # in CI: exit 1 if a file is stale",
        formatter_class=RAW,
    )
    schemas.add_argument("--dir", type=Path, default=Path("schemas"), help="output directory (default schemas/)")
    schemas.add_argument("--check", action="store_true", help="exit 1 if the files are stale, write nothing")
    return parser


def _add_data_commands(sub: Any) -> None:
    """``resolve``, ``list`` and ``download``: the MCP tools' operations (see :mod:`exofop_mcp.cli.data_commands`)."""
    from exofop_mcp.site.observations import DEFAULT_LIMIT, MAX_LIMIT, TAG_KINDS
    from exofop_mcp.site.records import ObservationKind

    resolve = sub.add_parser(
        "resolve",
        usage="%(prog)s QUERY [--json] [settings]",
        help="resolve a TIC id, TOI or star name to one system",
        description=RESOLVE_DESCRIPTION,
        epilog=RESOLVE_EPILOG,
        formatter_class=RAW,
    )
    resolve.add_argument("query", metavar="QUERY", help="TIC id, TOI, planet candidate or star name")
    add_json_option(resolve, "resolve_system")
    add_settings_options(resolve)
    resolve.set_defaults(command_parser=resolve)

    listing = sub.add_parser(
        "list",
        usage="%(prog)s QUERY [--kind KIND] [filters] [--limit N] [--offset N] [--json] [settings]",
        help="list a system's observations of one kind, as a table",
        description=LIST_DESCRIPTION,
        epilog=LIST_EPILOG,
        formatter_class=RAW,
    )
    listing.add_argument("query", metavar="QUERY", help="the system: anything `resolve` accepts")
    listing.add_argument(
        "--kind",
        choices=get_args(ObservationKind),
        default="time_series",
        metavar="KIND",
        help=f"which table: {', '.join(get_args(ObservationKind))} (default: time_series)",
    )
    _add_filter_options(listing)
    paging = listing.add_argument_group("paging")
    paging.add_argument(
        "--limit", type=int, metavar="N", help=f"rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"
    )
    paging.add_argument("--offset", type=int, metavar="N", help="rows to skip: the next page's offset (default 0)")
    add_json_option(listing, "list_observations")
    add_settings_options(listing)
    listing.set_defaults(command_parser=listing)

    download = sub.add_parser(
        "download",
        usage="%(prog)s QUERY [TAG ...] [--kind KIND] [filters] [--no-unzip] [--overwrite] [--keep-zip]\n"
        "       [--json] [-q] [settings]",
        help="download observation tags into the sandbox",
        description=DOWNLOAD_DESCRIPTION,
        epilog=DOWNLOAD_EPILOG,
        formatter_class=RAW,
    )
    download.add_argument("query", metavar="QUERY", help="the system: anything `resolve` accepts")
    download.add_argument("tags", metavar="TAG", nargs="*", help="tag numbers from `exofop-mcp list` (or commas)")
    download.add_argument(
        "--kind",
        choices=TAG_KINDS,
        metavar="KIND",
        help=f"fetch every tag of this kind, after the filters ({', '.join(TAG_KINDS)}); with TAGs, check them",
    )
    _add_filter_options(download)
    what = download.add_argument_group("what to keep")
    what.add_argument("--no-unzip", action="store_true", help="keep the verified archives in archives/, unpack nothing")
    what.add_argument("--overwrite", action="store_true", help="fetch again even tags that are already complete")
    what.add_argument("--keep-zip", action="store_true", help="keep each archive in archives/<tag>.zip after unpacking")
    what.add_argument(
        "--verify",
        action="store_true",
        help="check the SHA-256 of every file already on disk; tags whose files changed are fetched again",
    )
    add_json_option(download, "download_tags")
    download.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    add_settings_options(download)
    download.set_defaults(command_parser=download)


@contextlib.contextmanager
def _logging_to_stderr(level: str) -> Iterator[None]:
    """Log at ``level`` and above to the current stderr for one run of :func:`main`, then put the root
    logger back as it was, so that ``main`` can run again in the same process with its own level."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous = root.level
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.WARNING))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(argv if argv is not None else sys.argv[1:])
    parser = build_parser(replica_arguments="replica" in arguments)  # the server starts without the replica
    args, extras = parser.parse_known_args(arguments)
    if extras:
        # argparse stops filling `TAG ...` at the first option: `download TOI-1130 --kind time_series 18598`
        # leaves 18598 over. Such TAGs are taken; anything else is an error, as with parse_args.
        if args.command in ("download", "extract") and not any(e.startswith("-") for e in extras):
            args.tags = [*args.tags, *extras]
        else:
            (getattr(args, "command_parser", None) or parser).error(f"unrecognized arguments: {' '.join(extras)}")
    command = args.command or "serve"
    if args.command is None:
        args = parser.parse_args(["serve", *arguments])
    with _logging_to_stderr(getattr(args, "log_level", "WARNING") or "WARNING"):
        code = _run_command(parser, command, args)
    try:
        sys.stdout.flush()  # a reader that went away is found here when the output fitted in the buffer
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILED
    return code


def _run_command(parser: argparse.ArgumentParser, command: str, args: argparse.Namespace) -> int:
    try:
        from exofop_mcp.cli.login_commands import LOGIN_COMMANDS, run_login_command

        if command in LOGIN_COMMANDS:
            return run_login_command(args)
        if command in DATA_COMMANDS:
            return _data_command(command, args)
        if command == "search":
            from exofop_mcp.cli.search_command import run_search_command

            return run_search_command(args, settings_from_args(args))
        if command == "plan":
            from exofop_mcp.cli.plan_command import run_plan_command

            return run_plan_command(args, settings_from_args(args))
        if command in ("follow-up", "status-of", "whats-new", "watch"):
            from exofop_mcp.cli.followup_commands import run_followup_command

            return run_followup_command(args, settings_from_args(args))
        if command == "doctor":
            from exofop_mcp.cli.doctor_command import run_doctor_command

            return run_doctor_command(args)
        if command == "serve":
            return _serve(args)
        if command == "demo":
            from exofop_mcp.cli.demo import run_demo

            return run_demo(target=args.target)
        if command == "replica":
            from exofop_mcp.replica.cli import run as run_replica

            return run_replica(args)
        if command == "schemas":
            return _schemas(args)
    except ExofopMcpError as exc:
        print(f"exofop-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigurationError | UsageError) else EXIT_FAILED
    except KeyboardInterrupt:
        print("\nexofop-mcp: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`exofop-mcp status --json | head`): stop quietly, as Unix tools do.
        _silence_stdout()
        return EXIT_FAILED
    parser.error(f"unknown command {command!r}")
    return EXIT_USAGE


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


DATA_COMMANDS = ("resolve", "list", "download", "extract")


def _data_command(command: str, args: argparse.Namespace) -> int:
    from exofop_mcp.cli import data_commands as cli_commands
    from exofop_mcp.cli.extract_command import run_extract

    run = {
        "resolve": cli_commands.run_resolve,
        "list": cli_commands.run_list,
        "download": cli_commands.run_download,
        "extract": run_extract,
    }
    try:
        return run[command](args, settings_from_args(args))
    except UsageError as exc:
        args.command_parser.error(str(exc))  # prints the usage and the message, exits 2
        raise AssertionError("unreachable") from exc


#: Default port of ``serve --http``: not the replica's 8765, so both can run side by side.
HTTP_PORT = 8766


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or ``None`` when it can."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    from exofop_mcp.mcp_server.server import build_server

    server = build_server(settings)
    if args.http:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print("exofop-mcp: --host must be a loopback address (127.0.0.1, localhost or ::1).", file=sys.stderr)
            return EXIT_USAGE
        problem = _port_in_use(args.host, args.port)
        if problem is not None:
            print(
                f"exofop-mcp: cannot listen on {args.host}:{args.port}: {problem}. Another program (an "
                "`exofop-mcp replica`, another server) holds that port: pass --port N.",
                file=sys.stderr,
            )
            return EXIT_FAILED
        print(f"exofop-mcp: serving MCP over streamable HTTP at http://{args.host}:{args.port}/mcp", file=sys.stderr)
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        if sys.stdin.isatty():
            print(
                "exofop-mcp: speaking MCP on stdio, for an MCP client that starts this command (Ctrl-C to stop). "
                "For the command line, see `exofop-mcp --help`.",
                file=sys.stderr,
            )
        server.run()
    return EXIT_OK


def _schemas(args: argparse.Namespace) -> int:
    from exofop_mcp.mcp_server.schema_export import stale_files, write_schemas

    if args.check:
        if not args.dir.is_dir():
            print(
                f"exofop-mcp: no schemas directory at {args.dir}: run this in a checkout of exofop-mcp, "
                "or pass --dir DIR.",
                file=sys.stderr,
            )
            return EXIT_FAILED
        stale = stale_files(args.dir)
        if stale:
            print(f"stale schema files in {args.dir}: {', '.join(stale)}; run `exofop-mcp schemas`.")
            return EXIT_FAILED
        print(f"{args.dir}: up to date")
        return EXIT_OK
    for name in write_schemas(args.dir):
        print(args.dir / name)
    return EXIT_OK

"""The ``exofop-mcp`` command line.

``exofop-mcp`` alone (or ``exofop-mcp serve``) runs the MCP server on stdio,
which is what MCP clients such as Claude Desktop start.  Other commands run
the offline demo, serve the ExoFOP replica, and regenerate the JSON Schemas.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from exofop_mcp import __version__
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override the EXOFOP_* environment variables)")
    group.add_argument("--base-url", help="ExoFOP base URL (EXOFOP_BASE_URL)")
    group.add_argument("--data-dir", type=Path, help="download sandbox root (EXOFOP_MCP_DATA_DIR)")
    group.add_argument("--cache-dir", type=Path, help="catalog cache directory (EXOFOP_MCP_CACHE_DIR)")
    group.add_argument("--config-dir", type=Path, help="login sessions directory (EXOFOP_MCP_CONFIG_DIR)")
    group.add_argument("--concurrency", type=int, help="simultaneous downloads (EXOFOP_MCP_CONCURRENCY)")
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="stderr log level"
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment settings with this command's flags applied on top (validated)."""
    base = Settings.from_env()
    overrides: dict[str, object] = {}
    if getattr(args, "base_url", None):
        from exofop_mcp.settings import _parse_base_url

        overrides["base_url"] = _parse_base_url(args.base_url, "--base-url")
    for attr in ("data_dir", "cache_dir", "config_dir"):
        value = getattr(args, attr, None)
        if value is not None:
            overrides[attr] = value.expanduser().resolve()
    if getattr(args, "concurrency", None) is not None:
        overrides["concurrency"] = args.concurrency
    return base.with_overrides(**overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exofop-mcp",
        description="ExoFOP-TESS follow-up data for MCP clients, scripts and the terminal.",
        epilog="With no command, runs the MCP server on stdio (what Claude Desktop starts).",
    )
    parser.add_argument("--version", action="version", version=f"exofop-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the MCP server (stdio by default)",
        description="Run the MCP server. stdio is what desktop clients start; --http serves streamable "
        "HTTP on 127.0.0.1 for clients that connect by URL.",
        epilog="examples:\n  exofop-mcp serve\n  exofop-mcp serve --http --port 8765",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (loopback only; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    _add_settings_options(serve)

    demo = sub.add_parser(
        "demo",
        help="run an offline end-to-end demo against a local ExoFOP replica",
        description="Starts an ExoFOP replica on 127.0.0.1, starts the MCP server, connects a real MCP "
        "client, resolves a system and lists its observations, printing the transcript.",
        epilog="example:\n  exofop-mcp demo --target TOI-1130",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--target", default="TOI-1130", help="what to resolve (default TOI-1130)")
    demo.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    replica = sub.add_parser(
        "replica",
        help="serve the offline ExoFOP replica on 127.0.0.1 (for tests, demos, benchmarks)",
        description="Serve a local replica of ExoFOP-TESS, with switches for latency, bandwidth and faults.",
    )
    from exofop_mcp.replica.cli import add_arguments as add_replica_arguments

    add_replica_arguments(replica)

    schemas = sub.add_parser(
        "schemas",
        help="write the tools' JSON Schemas (or check them with --check)",
        description="Regenerate schemas/*.json from the tool models.",
    )
    schemas.add_argument("--dir", type=Path, default=Path("schemas"), help="output directory (default schemas/)")
    schemas.add_argument("--check", action="store_true", help="exit 1 if the files are stale, write nothing")

    from exofop_mcp.login_cli import add_login_commands

    add_login_commands(sub)
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    if args.command is None:
        args = parser.parse_args(["serve", *(argv if argv is not None else sys.argv[1:])])
    _configure_logging(getattr(args, "log_level", "WARNING") or "WARNING")
    try:
        from exofop_mcp.login_cli import LOGIN_COMMANDS, run_login_command

        if command in LOGIN_COMMANDS:
            return run_login_command(args)
        if command == "serve":
            return _serve(args)
        if command == "demo":
            from exofop_mcp.demo import run_demo

            return run_demo(target=args.target)
        if command == "replica":
            from exofop_mcp.replica.cli import run as run_replica

            return run_replica(args)
        if command == "schemas":
            return _schemas(args)
    except ExofopMcpError as exc:
        print(f"exofop-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.code == "configuration" else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {command!r}")
    return EXIT_USAGE


def _serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from exofop_mcp.server import build_server

    server = build_server(settings)
    if args.http:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print("exofop-mcp: --host must be a loopback address (127.0.0.1, localhost or ::1).", file=sys.stderr)
            return EXIT_USAGE
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run()
    return EXIT_OK


def _schemas(args: argparse.Namespace) -> int:
    from exofop_mcp.schema_export import stale_files, write_schemas

    if args.check:
        stale = stale_files(args.dir)
        if stale:
            print(f"stale schema files in {args.dir}: {', '.join(stale)}; run `exofop-mcp schemas`.")
            return EXIT_FAILED
        print(f"{args.dir}: up to date")
        return EXIT_OK
    for name in write_schemas(args.dir):
        print(args.dir / name)
    return EXIT_OK

"""``list-downloads``, ``preview`` and ``download-status``: what is on disk, one file, a download under way."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from exofop_mcp.settings import Settings

LIST_DOWNLOADS_EPILOG = """\
examples:
  exofop-mcp list-downloads                        # every system, with its first tags
  exofop-mcp list-downloads TOI-1130               # its tags, each with its key files and sizes
  exofop-mcp list-downloads TOI-1130 --tag 18598   # every file of one tag
  exofop-mcp list-downloads TOI-1130 --json | jq '.systems[0].tags[].files[].path'"""

PREVIEW_EPILOG = """\
examples:
  exofop-mcp preview TOI-1130 time_series/18598/TIC254113311-02_20200330_LCO-SSO-1.0m1m_zs_measurements.tbl
  exofop-mcp preview TOI-1130 time_series/18598/TIC254113311-02_20200330_LCO-SSO-1.0m1m_zs_notes.txt --offset 8000
Paths are relative to the system's directory, as `exofop-mcp list-downloads QUERY --tag TAG` prints them."""

STATUS_EPILOG = """\
examples:
  exofop-mcp download-status TOI-1130     # while `exofop-mcp download TOI-1130 ...` runs in another terminal"""

AddOptions = Callable[[argparse.ArgumentParser], None]
AddJson = Callable[[argparse.ArgumentParser, str], None]


def add_files_commands(sub: Any, add_settings: AddOptions, add_json: AddJson) -> None:
    listing = sub.add_parser(
        "list-downloads",
        usage="%(prog)s [QUERY] [--tag TAG] [--offset N] [--json] [settings]",
        help="list what is already downloaded: systems, a system's tags, or a tag's files",
        description="What is in the sandbox, from each system's manifest: every system, one system's tags (each "
        "with its key files: extracted light curves, measurement tables, plots, spectra, images, with sizes), or "
        "every file of one tag. The same operation as the list_downloads MCP tool.",
        epilog=LIST_DOWNLOADS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("query", metavar="QUERY", nargs="?", help="only this system: anything `resolve` accepts")
    listing.add_argument("--tag", type=int, metavar="TAG", help="every file of this tag (needs QUERY)")
    listing.add_argument("--offset", type=int, metavar="N", default=0, help="skip this many systems, tags or files")
    add_json(listing, "list_downloads")
    add_settings(listing)
    listing.set_defaults(command_parser=listing)

    preview = sub.add_parser(
        "preview",
        usage="%(prog)s QUERY PATH [--offset N] [--max-chars N] [--json] [settings]",
        help="look at one downloaded file: a table's columns and rows, a FITS header, a text, an image's size",
        description="A look at one downloaded file, read-only and only inside the system's directory: tables as "
        "their columns with ranges and first and last rows, FITS files as a header summary, notes as text (paged "
        "with --offset). The same operation as the preview_file MCP tool.",
        epilog=PREVIEW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preview.add_argument("query", metavar="QUERY", help="the system: anything `resolve` accepts")
    preview.add_argument("path", metavar="PATH", help="the file, relative to the system's directory")
    preview.add_argument("--offset", type=int, metavar="N", default=0, help="text: the character to start at")
    preview.add_argument("--max-chars", type=int, metavar="N", help="text: characters per page (default 8000)")
    add_json(preview, "preview_file")
    add_settings(preview)
    preview.set_defaults(command_parser=preview)

    status = sub.add_parser(
        "download-status",
        usage="%(prog)s QUERY [settings]",
        help="how far a download of a system has come (also one running in another terminal)",
        description="What a system's sandbox holds now: the complete tags and the archives being received, with "
        "the bytes received so far, so a download running in another terminal or server can be followed.",
        epilog=STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("query", metavar="QUERY", help="the system: anything `resolve` accepts")
    add_settings(status)
    status.set_defaults(command_parser=status)


def run_list_downloads(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    from exofop_mcp.api import Exofop
    from exofop_mcp.cli.data_commands import EXIT_OK, _build, _print, _run
    from exofop_mcp.cli.terminal_output import for_terminal
    from exofop_mcp.downloads.inventory import ListDownloadsRequest
    from exofop_mcp.mcp_server.summaries import inventory_summary

    out, err = stdout or sys.stdout, stderr or sys.stderr
    request: ListDownloadsRequest = _build(
        ListDownloadsRequest, {"system": args.query, "tag": args.tag, "offset": args.offset}
    )

    async def main() -> int:
        async with Exofop(settings) as exofop:
            inventory = await exofop.list_downloads(request.system, request.tag, request.offset)
        system = inventory.systems[0].system if request.system and inventory.systems else request.system
        text = for_terminal(inventory_summary(inventory, budget=None), system)
        _print(out, inventory.model_dump_json(exclude_none=True) if args.json else text)
        return EXIT_OK

    return _run(main(), err)


def run_preview(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    import asyncio

    from exofop_mcp.api import Exofop
    from exofop_mcp.cli.data_commands import EXIT_OK, _build, _print, _run
    from exofop_mcp.cli.terminal_output import for_terminal
    from exofop_mcp.mcp_server.preview_tools import preview_summary, system_directory
    from exofop_mcp.previews import PreviewFileRequest, preview_file

    out, err = stdout or sys.stdout, stderr or sys.stderr
    values = {"system": args.query, "path": args.path, "offset": args.offset}
    if args.max_chars is not None:
        values["max_chars"] = args.max_chars
    request: PreviewFileRequest = _build(PreviewFileRequest, values)

    async def main() -> int:
        async with Exofop(settings) as exofop:
            directory = await system_directory(exofop, request.system)
            kwargs: dict[str, Any] = {"offset": request.offset, "max_chars": request.max_chars}
            preview = await asyncio.to_thread(preview_file, directory, request.path, **kwargs)
        if args.json:
            _print(out, preview.model_dump_json(exclude_none=True))
            return EXIT_OK
        text = for_terminal(preview_summary(preview), preview.system)
        if preview.image is not None:  # a terminal shows no picture: say where it is
            text = text.replace(" (attached).", f"; open {directory.path / preview.image.source_path} to see it.")
        _print(out, text)
        return EXIT_OK

    return _run(main(), err)


def run_download_status(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    from exofop_mcp.api import Exofop
    from exofop_mcp.cli.data_commands import EXIT_OK, _print, _run
    from exofop_mcp.cli.terminal_output import command_line, partial_archive_sizes, plural
    from exofop_mcp.downloads.sandbox import SystemDirectory
    from exofop_mcp.text_format import format_bytes

    out, err = stdout or sys.stdout, stderr or sys.stderr

    async def main() -> int:
        async with Exofop(settings) as exofop:
            system = await exofop.resolve_system(args.query)
            inventory = await exofop.list_downloads(system.canonical_name)
        name = system.canonical_name
        directory = SystemDirectory(settings.data_dir, name)
        receiving = partial_archive_sizes(directory.archives_dir) if directory.path.is_dir() else {}
        lines: list[str] = []
        if inventory.systems:
            s = inventory.systems[0]
            kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in s.by_kind.items()) or "none"
            lines.append(
                f"{name}: {s.tags_complete} of {plural(s.tags_recorded, 'recorded tag')} complete ({kinds}) "
                f"in {s.directory}."
            )
        else:
            lines.append(f"{name}: nothing downloaded yet (sandbox: {settings.data_dir}).")
        if receiving:
            total = sum(receiving.values())
            lines.append(
                f"Being received now: {plural(len(receiving), 'tag')}, {format_bytes(total)} so far: "
                + ", ".join(f"{tag} ({format_bytes(size)})" for tag, size in sorted(receiving.items()))
            )
        else:
            lines.append("No archive is being received for it now.")
        lines.append(f"Its files: {command_line('list-downloads', name)}")
        _print(out, "\n".join(lines))
        return EXIT_OK

    return _run(main(), err)

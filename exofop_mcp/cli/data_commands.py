"""``exofop-mcp resolve``, ``list`` and ``download``: the MCP tools' operations at a terminal.

Each command builds the very request model its MCP tool takes
(:class:`~exofop_mcp.site.resolver.ResolveSystemRequest`,
:class:`~exofop_mcp.site.observations.ListObservationsRequest`,
:class:`~exofop_mcp.downloads.request_models.DownloadTagsRequest`) from the parsed
arguments, runs it through the Python API (:class:`~exofop_mcp.api.Exofop`),
and prints either the tool's structured output (``--json``: the same model,
``model_dump_json(exclude_none=True)``) or a rendering for people
(:mod:`exofop_mcp.cli.terminal_output`).  The parser itself lives in
:mod:`exofop_mcp.cli.main`.

Exit codes:

* 0: done (for ``download``: every tag downloaded or already present);
* 1: ExoFOP said no or could not be reached (unknown or ambiguous target,
  network trouble), or some tags did not succeed (listed on stderr);
* 2: the arguments are malformed (bad flag values, an impossible identifier,
  a filter the chosen table cannot answer);
* 130 (143 for SIGTERM): interrupted; a download is cancelled first, and
  nothing partial is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError

from exofop_mcp.api import Exofop
from exofop_mcp.cli.terminal_output import (
    ProgressDisplay,
    command_line,
    ellipsis_for,
    filter_flags,
    for_terminal,
    observation_table,
    output_width,
    page_heading,
    page_hints,
    plural,
    progress_display,
)
from exofop_mcp.downloads.jobs import DownloadJob, DownloadReport
from exofop_mcp.downloads.request_models import FINAL_OK, RETRYABLE, DownloadTagsRequest
from exofop_mcp.errors import (
    ConfigurationError,
    ExofopMcpError,
    InvalidIdentifierError,
    InvalidRequestError,
    UsageError,
)
from exofop_mcp.mcp_server.summaries import download_summary, system_summary
from exofop_mcp.settings import Settings
from exofop_mcp.site.observations import TAG_KINDS, ListObservationsRequest, ObservationFilters
from exofop_mcp.site.resolver import ResolveSystemRequest
from exofop_mcp.text_format import visible_text

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: How long a command waits, after printing its answer, for a TOI catalog refresh it started to be stored.
WARM_UP_SECONDS = 30.0

#: Errors that mean "your arguments are malformed" (exit 2); every other error of the core exits 1.
USAGE_ERRORS: tuple[type[ExofopMcpError], ...] = (
    InvalidIdentifierError,
    InvalidRequestError,
    ConfigurationError,
    UsageError,
)

FILTER_NAMES: tuple[str, ...] = tuple(ObservationFilters.model_fields)

#: How request fields are spelled on the command line, for error messages.
FLAG_NAMES: dict[str, str] = {
    "query": "QUERY",
    "system": "QUERY",
    "tags": "TAG",
    "kind": "--kind",
    "limit": "--limit",
    "offset": "--offset",
    "unzip": "--no-unzip",
    "overwrite": "--overwrite",
    "verify": "--verify",
    "keep_zip": "--keep-zip",
    "tag": "--tag",
    "max_chars": "--max-chars",
    "latest_first": "--latest",
    **{name: f"--{name}" for name in FILTER_NAMES},
}
_QUOTED_FIELD = re.compile(r"'(\w+)'")


def exit_code_for(exc: ExofopMcpError) -> int:
    return EXIT_USAGE if isinstance(exc, USAGE_ERRORS) else EXIT_FAILED


# ------------------------------------------------------------------------------------------------
# Arguments → request models
# ------------------------------------------------------------------------------------------------


def usage_message(exc: ValidationError) -> str:
    """A request model's validation errors in command-line terms (``--since '2024-13-01': ...``)."""
    parts = []
    for err in exc.errors(include_url=False):
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        msg = _QUOTED_FIELD.sub(lambda m: _flag_words(m.group(1), m.group(0)), msg)
        loc = err.get("loc", ())
        if not loc:
            parts.append(msg)
            continue
        name = FLAG_NAMES.get(str(loc[0]), str(loc[0]))
        value = err.get("input")
        if isinstance(value, str | int | float) and not isinstance(value, bool) and len(str(value)) <= 40:
            parts.append(f"{name} {str(value)!r}: {msg}" if isinstance(value, str) else f"{name} {value}: {msg}")
        else:
            parts.append(f"{name}: {msg}")
    return for_terminal("; ".join(parts))


def _flag_words(field: str, original: str) -> str:
    if field == "tags":
        return "TAG numbers"
    return FLAG_NAMES.get(field, original)


def _build(model: type[BaseModel], values: dict[str, Any], hint: str | None = None) -> Any:
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise UsageError(usage_message(exc) + (f"\n{hint}" if hint else "")) from None


def filter_values(args: argparse.Namespace) -> dict[str, Any]:
    """The filter flags that were given, by request field name."""
    return {name: value for name in FILTER_NAMES if (value := getattr(args, name, None)) is not None}


def parse_tags(values: list[str]) -> list[int]:
    """``["18598", "19121,19188"]`` → ``[18598, 19121, 19188]`` (spaces or commas separate tags)."""
    tags: list[int] = []
    for value in values:
        for item in value.replace(",", " ").split():
            if not item.isdigit():
                hint = f"; to fetch every tag of a kind, use --kind {item}" if item in TAG_KINDS else ""
                raise UsageError(f"TAG must be a tag number such as 18598, got {item!r}{hint}.")
            tags.append(int(item))
    return tags


def resolve_request(args: argparse.Namespace) -> ResolveSystemRequest:
    request: ResolveSystemRequest = _build(ResolveSystemRequest, {"query": args.query})
    return request


def list_request(args: argparse.Namespace) -> ListObservationsRequest:
    values = {
        "system": args.query,
        "kind": args.kind,
        "limit": args.limit,
        "offset": args.offset,
        "latest_first": bool(getattr(args, "latest", False)),
    }
    request: ListObservationsRequest = _build(ListObservationsRequest, {**values, **filter_values(args)})
    return request


def download_request(args: argparse.Namespace) -> DownloadTagsRequest:
    tags = parse_tags(args.tags)
    filters = filter_values(args)
    hint = None
    if tags and filters:
        flags = " ".join(f"--{name}" for name in filters)
        example = command_line("download", args.query, "--kind", args.kind or "time_series", *filter_flags(filters))
        hint = (
            f"Filters ({flags}) choose tags from a table, so they cannot be combined with TAG numbers. Either drop "
            f"the TAG numbers to fetch every matching tag, exactly as `list` shows them:\n  {example}\n"
            "or drop the filters to fetch just the tags you named."
        )
    elif not tags and args.kind is None:
        hint = "Give TAG numbers (see `exofop-mcp list QUERY`) or --kind time_series|spectroscopy|imaging."
    values = {
        "system": args.query,
        "tags": tags or None,
        "kind": args.kind,
        "unzip": not args.no_unzip,
        "overwrite": args.overwrite,
        "keep_zip": args.keep_zip,
        "verify": args.verify,
        **filters,
    }
    request: DownloadTagsRequest = _build(DownloadTagsRequest, values, hint)
    return request


# ------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------


def _print(stream: TextIO, text: str) -> None:
    """Write a line; control and bidi characters (from the site or a file) are shown as escapes, never run."""
    stream.write(visible_text(text) + "\n")
    stream.flush()


def _run(main: Coroutine[Any, Any, int], err: TextIO) -> int:
    """Run a command's coroutine; report the core's errors in one line with the right exit code."""
    try:
        return asyncio.run(main)
    except ExofopMcpError as exc:
        message = str(exc)
        if isinstance(exc, InvalidRequestError):  # it names request fields: say which flags
            message = _QUOTED_FIELD.sub(lambda m: _flag_words(m.group(1), m.group(0)), message)
        _print(err, f"exofop-mcp: {for_terminal(message)}")
        return exit_code_for(exc)
    except ValidationError as exc:
        _print(err, f"exofop-mcp: {usage_message(exc)}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _print(err, "exofop-mcp: interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python from complaining at exit.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as exc:
        _print(err, f"exofop-mcp: {exc}")
        return EXIT_FAILED


def run_resolve(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """``exofop-mcp resolve QUERY``: the ``resolve_system`` tool."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    request = resolve_request(args)

    async def main() -> int:
        async with Exofop(settings) as exofop:
            system = await exofop.resolve_system(request.query)
            text = for_terminal(system_summary(system), system.canonical_name)
            _print(out, system.model_dump_json(exclude_none=True) if args.json else text)
            await exofop.catalog.wait_for_warm_up(WARM_UP_SECONDS)
        return EXIT_OK

    return _run(main(), err)


def run_list(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """``exofop-mcp list QUERY``: the ``list_observations`` tool, as a table or as JSON."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    request = list_request(args)

    async def main() -> int:
        async with Exofop(settings) as exofop:
            page = await exofop.list_observations_for(request)
            if args.json:
                _print(out, page.model_dump_json(exclude_none=True))
            else:
                lines = [page_heading(page)]
                if page.rows:
                    lines += ["", *observation_table(page, width=output_width(out), mark=ellipsis_for(out))]
                lines += ["", *page_hints(page, limit=args.limit, latest=request.latest_first)]
                _print(out, "\n".join(lines))
            await exofop.catalog.wait_for_warm_up(WARM_UP_SECONDS)
        return EXIT_OK

    return _run(main(), err)


def run_download(
    args: argparse.Namespace, settings: Settings, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """``exofop-mcp download QUERY [TAG ...]``: the ``download_tags`` tool, followed to the end."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    request = download_request(args)

    async def main() -> int:
        async with Exofop(settings) as exofop:
            job = await exofop.start_download(request)
            display = progress_display(err, quiet=args.quiet)
            with stop_signals() as stop:
                display.start(job)
                await follow(job, display, stop)
            if stop.signum is not None and job.state == "running":
                report = await exofop.cancel_download(job.id)
            else:
                report = job.report()
            # A signal that came as the job ended cancelled nothing: the outcome is the job's own.
            interrupted = stop.signum if report.state == "cancelled" else None
            display.finish(report)
            if args.json:
                _print(out, report.model_dump_json(exclude_none=True))
            elif report.tags_total:
                _print(out, for_terminal(download_summary(report, budget=None), report.system))
            code = _download_outcome(report, interrupted, err)
            if interrupted is None:
                await exofop.catalog.wait_for_warm_up(WARM_UP_SECONDS)
        return code

    return _run(main(), err)


def _download_outcome(report: DownloadReport, signum: int | None, err: TextIO) -> int:
    """Exit code of a finished download, with what went wrong on stderr."""
    ok = sum(1 for r in report.results if r.status in FINAL_OK)
    total = plural(report.tags_total, "tag")
    if signum is not None:
        _print(
            err,
            f"exofop-mcp: interrupted: the download was cancelled; {ok} of {total} "
            f"{'is' if report.tags_total == 1 else 'are'} complete and nothing partial was kept. Run the same "
            "command again to fetch the rest.",
        )
        return 128 + signum
    if report.tags_total == 0:
        _print(err, f"exofop-mcp: no tag of {report.system} matches these arguments; nothing to download.")
        return EXIT_OK
    problems = [r for r in report.results if r.status not in FINAL_OK]
    if problems:
        _print(err, f"exofop-mcp: {len(problems)} of {total} did not succeed:")
        for r in problems:
            message = for_terminal(r.message or "no details", report.system)
            _print(err, f"  tag {r.tag} ({r.kind or 'other'}): {r.status} - {message}")
        if any(r.status in RETRYABLE for r in problems):
            _print(err, "Running the same command again retries only what is missing.")
        return EXIT_FAILED
    if report.state != "completed":
        _print(err, f"exofop-mcp: {for_terminal(report.message, report.system)}")
        return EXIT_FAILED
    return EXIT_OK


class StopRequest:
    """Set by SIGINT (Ctrl-C) or SIGTERM while a download runs."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signum: int | None = None

    def set(self, signum: int) -> None:
        if self.signum is None:
            self.signum = signum
        self.event.set()


@contextlib.contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """Turn the first SIGINT/SIGTERM into a :class:`StopRequest`; a second one interrupts as usual.

    Where the loop cannot take signal handlers (Windows), Ctrl-C still arrives, as the cancellation
    of the main task by ``asyncio.run``; :func:`follow` turns that into a stop request too.
    """
    stop = StopRequest()
    loop = asyncio.get_running_loop()
    installed: list[int] = []

    def release() -> None:
        for signum in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
        installed.clear()

    def on_signal(signum: int) -> None:
        stop.set(signum)
        release()  # a second Ctrl-C no longer waits for the clean stop

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, int(signum))
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(signum)
    try:
        yield stop
    finally:
        release()


async def follow(job: DownloadJob, display: ProgressDisplay, stop: StopRequest) -> None:
    """Show the job's progress until it ends or a stop is requested."""
    assert job.task is not None
    stopper = asyncio.create_task(stop.event.wait())
    try:
        while job.state == "running" and not stop.event.is_set():
            await asyncio.wait({job.task, stopper}, timeout=display.tick, return_when=asyncio.FIRST_COMPLETED)
            display.update(job)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        stop.set(signal.SIGINT)
    finally:
        stopper.cancel()

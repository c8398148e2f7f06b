"""What the command line shows a person: observation tables, next-step hints and download progress.

Presentation only: every number shown comes from the core's result models
(:class:`~exofop_mcp.site.observations.ObservationPage`,
:class:`~exofop_mcp.downloads.jobs.DownloadJob`); nothing here decides anything.

* :func:`observation_table` renders a page as an aligned text table (columns
  chosen per kind, long text shortened with an ellipsis to fit the width);
  :func:`page_hints` adds the total, the next page's command and the tags.
* :func:`progress_display` picks how a download is followed:
  :class:`LiveProgress` redraws a small block on a terminal with plain ANSI
  escapes (overall tags, bytes, rate; one line per active tag), and
  :class:`PlainProgress` writes one log line per finished tag when the output
  is a file or a pipe.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from exofop_mcp.atomic_files import TEMP_SUFFIX, is_temp_name
from exofop_mcp.downloads.jobs import DownloadJob, DownloadReport
from exofop_mcp.downloads.request_models import IN_FLIGHT, TagResult
from exofop_mcp.site.observations import TAG_KINDS, ObservationPage
from exofop_mcp.text_format import format_bytes, visible_text

PROGRAM = "exofop-mcp"
DEFAULT_WIDTH = 120
#: Plain (non-terminal) progress also writes a line this often while nothing finishes, so logs show life.
HEARTBEAT_SECONDS = 60.0
#: Seconds of byte counts used for the transfer rate.
RATE_WINDOW_SECONDS = 5.0
MAX_TAGS_SHOWN = 20

# ------------------------------------------------------------------------------------------------
# Small formatting helpers
# ------------------------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """``75.2`` → ``1:15``; hours when needed (``1:02:03``)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ellipsis_for(stream: TextIO | None) -> str:
    """``…`` where the stream can encode it, else ``~``."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "…".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "~"
    return "…"


def shorten(text: str, width: int, mark: str = "…") -> str:
    """``text`` cut to ``width`` characters, the cut marked with ``mark``."""
    if len(text) <= width:
        return text
    if width <= len(mark):
        return text[:width]
    return text[: width - len(mark)].rstrip() + mark


def command_line(*parts: object) -> str:
    """A shell-quoted ``exofop-mcp ...`` command a person can paste."""
    return " ".join([PROGRAM, *(shlex.quote(str(p)) for p in parts)])


def filter_flags(filters: dict[str, str]) -> list[str]:
    """``{"telescope": "LCO"}`` → ``["--telescope", "LCO"]`` (the flags that gave these filters)."""
    flags: list[str] = []
    for name, value in filters.items():
        flags += [f"--{name}", value]
    return flags


def plural(n: int, word: str) -> str:
    """``1 tag``, ``2 tags``, ``0 tags``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


#: How the core's advice, worded for an assistant and its tools, reads at a terminal.
_TOOL_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"To log in, the user runs `([^`]+)` in a terminal \(the password is never sent through the "
            r"assistant\)\."
        ),
        r"To log in, run `\1` (it asks for the password itself).",
    ),
    (
        re.compile(r"The user runs `([^`]+)`(?: again)? in a terminal, then asks again"),
        r"Run `\1`, then run this command again",
    ),
    (
        re.compile(r"the user runs `([^`]+)`(?: again)? in a terminal, then asks again"),
        r"run `\1`, then run this command again",
    ),
    (re.compile(r"The user runs `([^`]+)`(?: again)? in a terminal"), r"Run `\1`"),
    (re.compile(r"the user runs `([^`]+)`(?: again)? in a terminal"), r"run `\1`"),
    (
        re.compile(r"Asking for the same tags again retries only what is missing\."),
        "Running the same command again retries only what is missing.",
    ),
)


def for_terminal(text: str, system: str | None = None) -> str:
    """``text`` with tool calls and "the user runs ... in a terminal" turned into commands to run.

    ``list_observations(kind='spectroscopy')`` becomes ``exofop-mcp list TOI-1130 --kind spectroscopy``
    (``QUERY`` when the system is not known); ``download_tags(overwrite=true)`` the ``download`` command
    with ``--overwrite``.
    """
    target = system or "QUERY"
    for pattern, replacement in _TOOL_PHRASES:
        text = pattern.sub(replacement, text)
    text = re.sub(r"list_observations\(system=\.\.\.\)", "`exofop-mcp list SYSTEM`", text)
    text = re.sub(
        r"list_observations\(kind='(\w+)'\)", lambda m: f"`{command_line('list', target, '--kind', m.group(1))}`", text
    )
    text = re.sub(r"\blist_observations\b", f"`{command_line('list', target)}`", text)
    text = re.sub(r"call resolve_system\('([^']+)'\)", lambda m: f"run `{command_line('resolve', m.group(1))}`", text)
    text = re.sub(r"download_tags\(overwrite=true\)", f"`{command_line('download', target)} TAG --overwrite`", text)
    return _calls_for_terminal(text, target)


def _list_downloads_command(arguments: str) -> str:
    """``list_downloads(system='TOI-1130', tag=18598, offset=20)`` as its ``list-downloads`` command."""
    values = {name: quoted or bare for name, quoted, bare in re.findall(r"(\w+)=(?:'([^']*)'|([^,\s)]+))", arguments)}
    parts: list[object] = ["list-downloads"]
    if "system" in values:
        parts.append(values["system"] if values["system"] != "..." else "QUERY")
    for name in ("tag", "offset"):
        if name in values:
            parts += [f"--{name}", values[name] if values[name] != "..." else name.upper()]
    return f"`{command_line(*parts)}`"


def _calls_for_terminal(text: str, target: str) -> str:
    """The tool calls the core's advice names (for an assistant), as the commands that do the same."""
    text = re.sub(r"[Cc]all again with offset=(\d+)", r"run the same command with --offset \1", text)
    text = re.sub(r"ask for the rest with offset=(\d+)", r"run the same command with --offset \1", text)
    text = re.sub(  # an other_star tag: the command alone
        r"download_tags\(system='([^']+)', tags=\[(\d+)\]\) \(CLI: [^)]*\)",
        lambda m: f"`{command_line('download', m.group(1), m.group(2))}`",
        text,
    )
    text = text.replace(
        "ask for the tag again with unzip=false (the command line's --no-unzip)",
        "run the command again with --no-unzip",
    )
    text = re.sub(r"list_downloads\(([^)]*)\)", lambda m: _list_downloads_command(m.group(1)), text)
    text = re.sub(
        r"download_tags\(kind='(\w+)'\)", lambda m: f"`{command_line('download', target, '--kind', m.group(1))}`", text
    )
    text = re.sub(r"extraction_status\(job_id='\w+'(?:, offset=\d+)?\)", f"`{command_line('extract', target)}`", text)
    text = re.sub(
        r"download_status\(job_id='\w+'(?:, results_offset=\d+)?\)", f"`{command_line('download', target)}`", text
    )
    for tool, command in (
        ("extract_light_curves", command_line("extract", target)),
        ("extraction_status", command_line("extract", target)),
        ("download_status", command_line("download", target)),
        ("download_tags", command_line("download", target)),
        ("list_downloads", command_line("list-downloads")),
        ("preview_file", command_line("preview", target, "PATH")),
        ("search_tois", "exofop-mcp search"),
        ("resolve_system", "exofop-mcp resolve"),
        ("login_status", "exofop-mcp status"),
    ):
        text = re.sub(rf"`?\b{tool}\b`?", f"`{command}`", text)
    text = re.sub(r"`?\bcancel_download\b`?", "Ctrl-C", text)
    return text


# ------------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One table column: its header, how to read a cell from a row, and how it may be squeezed."""

    header: str
    value: Callable[[Any], Any]
    fmt: str = ""
    align: Literal["<", ">"] = "<"
    #: Columns are shortened to fit the width in increasing order of this number (0: never).
    shrink: int = 0
    min_width: int = 4
    #: Left out when no row on the page has a value.
    optional: bool = False

    def cell(self, row: Any) -> str:
        value = self.value(row)
        if value is None or value == "":
            return ""
        if self.fmt and isinstance(value, int | float):
            return format(value, self.fmt)
        return " ".join(str(value).split())  # one line per row, whatever the cell holds


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name, None)


def _planet(row: Any) -> str | None:
    toi = getattr(row, "toi", None)
    return toi.replace("TOI", "").strip() if toi else None


def _param(*names: str) -> Callable[[Any], Any]:
    def read(row: Any) -> Any:
        params = getattr(row, "parameters", {}) or {}
        for name in names:
            if name in params:
                return params[name]
        return None

    return read


_DATE = Column("date", _attr("obs_date"), min_width=10)
_TELESCOPE = Column("telescope", _attr("telescope"), shrink=3, min_width=10)
_INSTRUMENT = Column("instrument", _attr("instrument"), shrink=4, min_width=8)
_FILTER = Column("filter", _attr("filter"), shrink=5, min_width=6)
_PLANET = Column("planet", _planet, shrink=6, min_width=7, optional=True)
_TAG = Column("tag", _attr("tag"), align=">", min_width=3, optional=True)
_USER = Column("user", _attr("user"), shrink=7, min_width=6, optional=True)
_NOTES = Column("notes", _attr("notes"), shrink=1, min_width=5, optional=True)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "time_series": (
        _DATE,
        _TELESCOPE,
        Column("instrument", _attr("camera"), shrink=4, min_width=8),
        _FILTER,
        Column("coverage", _attr("transit_coverage"), shrink=9, min_width=4, optional=True),
        _PLANET,
        _TAG,
        _USER,
        _NOTES,
    ),
    "spectroscopy": (
        _DATE,
        _TELESCOPE,
        _INSTRUMENT,
        Column("R", _attr("spectral_resolution"), ".0f", ">", optional=True),
        Column("SNR", _attr("snr_per_resolution"), ".0f", ">", optional=True),
        _PLANET,
        _TAG,
        _USER,
        _NOTES,
    ),
    "imaging": (
        _DATE,
        _TELESCOPE,
        _INSTRUMENT,
        _FILTER,
        Column("type", _attr("image_type"), shrink=8, min_width=4, optional=True),
        Column("contrast", _attr("contrast"), shrink=2, min_width=8, optional=True),
        _TAG,
        _USER,
        _NOTES,
    ),
    "stellar_companions": (
        _DATE,
        Column('sep(")', _attr("separation_arcsec"), ".3f", ">"),
        Column("PA(deg)", _attr("position_angle_deg"), ".1f", ">", optional=True),
        _FILTER,
        Column("dmag", _attr("delta_mag"), ".2f", ">", optional=True),
        _PLANET,
        _TAG,
        _USER,
        _NOTES,
    ),
    "nearby_targets": (
        Column("TIC", _attr("tic_id"), align=">"),
        Column('sep(")', _attr("separation_arcsec"), ".2f", ">"),
        Column("PA(deg)", _attr("position_angle_deg"), ".1f", ">", optional=True),
        Column("Tmag", _attr("tess_mag"), ".3f", ">"),
        Column("Gmag", _attr("gaia_mag"), ".3f", ">", optional=True),
        Column("dist(pc)", _attr("distance_pc"), ".1f", ">", optional=True),
        Column("RA", _attr("ra"), optional=True),
        Column("Dec", _attr("dec"), optional=True),
        Column("TOI", _attr("toi"), shrink=1, min_width=5, optional=True),
    ),
    "stellar_parameters": (
        Column("source", _attr("source"), shrink=3, min_width=6),
        Column("date", _attr("date"), min_width=10),
        Column("Teff(K)", _param("Teff (K)"), ".0f", ">", optional=True),
        Column("logg", _param("log(g) (cm/s^2)", "logg"), ".2f", ">", optional=True),
        Column("R(Rsun)", _param("Radius (R_Sun)"), ".3f", ">", optional=True),
        Column("M(Msun)", _param("Mass (M_Sun)"), ".3f", ">", optional=True),
        Column("[M/H]", _param("Metallicity"), ".2f", ">", optional=True),
        Column("dist(pc)", _param("Distance (pc)"), ".1f", ">", optional=True),
        _TAG,
        _USER,
        _NOTES,
    ),
    "files": (
        Column("date", _attr("date"), min_width=10),
        Column("type", _attr("type"), shrink=3, min_width=6),
        Column("file name", _attr("file_name"), shrink=2, min_width=30),
        _TAG,
        _USER,
        Column("description", _attr("description"), shrink=1, min_width=8, optional=True),
    ),
}


def render_table(
    columns: Sequence[Column],
    rows: Sequence[Any],
    *,
    first_index: int = 1,
    width: int = DEFAULT_WIDTH,
    mark: str = "…",
    row_marks: Sequence[str] | None = None,
) -> list[str]:
    """Rows as aligned text lines (an index column first, counting from ``first_index``, each index followed
    by its ``row_marks`` entry; a dashed rule under the headers)."""
    index = Column("#", lambda row: None, align=">")
    marks = row_marks or [""] * len(rows)
    cells = [[f"{first_index + i}{marks[i]}", *(c.cell(row) for c in columns)] for i, row in enumerate(rows)]
    chosen = [0] + [j + 1 for j, c in enumerate(columns) if not c.optional or any(line[j + 1] for line in cells)]
    all_columns = [index, *columns]
    cols = [all_columns[j] for j in chosen]
    body = [[line[j] for j in chosen] for line in cells]
    widths = [max([len(c.header), *(len(line[k]) for line in body)]) for k, c in enumerate(cols)]

    # Too wide: trim the widest squeezable column, one character at a time, until the table fits or
    # every such column is at its minimum; ties go to the column with the lowest shrink order (notes first).
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    squeezable = [k for k, c in enumerate(cols) if c.shrink]
    while excess > 0:
        room = [k for k in squeezable if widths[k] > cols[k].min_width]
        if not room:
            break
        k = max(room, key=lambda k: (widths[k], -cols[k].shrink))
        widths[k] -= 1
        excess -= 1

    def line(values: Iterable[str]) -> str:
        parts = [f"{shorten(v, w, mark):{c.align}{w}}" for v, w, c in zip(values, widths, cols, strict=True)]
        return "  ".join(parts).rstrip()

    lines = [line(c.header for c in cols), "  ".join("-" * w for w in widths)]
    lines.extend(line(values) for values in body)
    return lines


def observation_table(page: ObservationPage, *, width: int = DEFAULT_WIDTH, mark: str = "…") -> list[str]:
    """A page's rows as a table whose columns suit its kind (e.g. TIC, separation and Tmag for nearby targets)."""
    recent = set(page.recent_tags)
    marks = [RECENT_MARK if getattr(row, "tag", None) in recent else "" for row in page.rows]
    return render_table(
        COLUMNS[page.kind], page.rows, first_index=page.offset + 1, width=width, mark=mark, row_marks=marks
    )


def page_heading(page: ObservationPage) -> str:
    kind = page.kind.replace("_", " ")
    filters = ", ".join(f"{k}={v}" for k, v in page.filters.items())
    return f"{page.system} (TIC {page.tic_id}): {plural(page.total, kind + ' row')}" + (
        f" matching {filters}" if filters else ""
    )


#: After a row's number: the row was observed less than 12 months ago, so its data may be proprietary.
RECENT_MARK = "*"


def page_hints(page: ObservationPage, *, limit: int | None = None, latest: bool = False) -> list[str]:
    """What follows the table: which rows these are, the next page's command, the tags and how to fetch them."""
    flags = filter_flags(page.filters)
    order = ["--latest"] if latest else []
    lines: list[str] = []
    if page.total == 0:
        lines.append("No rows match." + (" Try fewer filters." if page.filters else ""))
    elif page.returned:
        lines.append(f"Rows {page.offset + 1}-{page.offset + page.returned} of {page.total}.")
    else:  # the core's note says the offset is past the end; the first page is one command away
        paging = ["--limit", limit] if limit is not None else []
        lines.append(
            f"No rows shown: {plural(page.total, 'row')} match and --offset {page.offset} is past the end. First "
            "page: " + command_line("list", page.system, "--kind", page.kind, *flags, *order, *paging)
        )
    if page.next_offset is not None:
        paging = ["--offset", page.next_offset] + (["--limit", limit] if limit is not None else [])
        lines.append("Next page: " + command_line("list", page.system, "--kind", page.kind, *flags, *order, *paging))
    if page.tags:
        shown = " ".join(map(str, page.tags[:MAX_TAGS_SHOWN])) + (" ..." if len(page.tags) > MAX_TAGS_SHOWN else "")
        lines.append(f"{plural(len(page.tags), 'tag')} in all {plural(page.total, 'matching row')}: {shown}")
        if page.kind in TAG_KINDS:
            lines.append("Download them: " + command_line("download", page.system, "--kind", page.kind, *flags))
        elif len(page.tags) <= MAX_TAGS_SHOWN:
            lines.append("Download them: " + command_line("download", page.system, *page.tags))
    if page.recent_tags and any(getattr(row, "tag", None) in set(page.recent_tags) for row in page.rows):
        lines.append(
            f"{RECENT_MARK} observed less than 12 months ago: TFOP data stays proprietary for 12 months, so it may "
            "need a login (`exofop-mcp status` says whether you are logged in)."
        )
    lines.extend(f"Note: {for_terminal(note, page.system)}" for note in page.notes)
    return lines


# ------------------------------------------------------------------------------------------------
# Download progress
# ------------------------------------------------------------------------------------------------


def tag_line(result: TagResult, done: int, total: int, system: str | None = None) -> str:
    """One finished tag, e.g. ``[2/4] tag 18598 downloaded: 4 MiB, 3 files in time_series/18598``."""
    head = f"[{done}/{total}] tag {result.tag}"
    status = result.status.replace("_", " ")
    if result.status == "downloaded":
        files = f"{result.file_count} file{'s' if result.file_count != 1 else ''}"
        return f"{head} downloaded: {format_bytes(result.bytes)}, {files} in {result.directory}"
    if result.status == "already_present":
        return f"{head} already present in {result.directory}"
    return f"{head} {status}: {for_terminal(result.message or 'no details', system)}"


class ProgressDisplay(Protocol):
    """How a running download is shown; the command calls these from its event loop."""

    #: Seconds between two calls of :meth:`update`.
    tick: float

    def start(self, job: DownloadJob) -> None: ...

    def update(self, job: DownloadJob) -> None: ...

    def finish(self, report: DownloadReport) -> None: ...


class _Progress:
    """What both displays track: which finished tags were shown, and the recent transfer rate."""

    tick = 0.5

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.shown: set[int] = set()
        self.samples: deque[tuple[float, int]] = deque()

    def _finished_lines(self, results: Iterable[TagResult], total: int, system: str | None = None) -> list[str]:
        """A line for each tag that reached a final status since the last call (cancelled ones are left to
        the summary: they did not finish)."""
        lines = []
        for result in results:
            if result.status not in (*IN_FLIGHT, "cancelled") and result.tag not in self.shown:
                self.shown.add(result.tag)
                lines.append(tag_line(result, len(self.shown), total, system))
        return lines

    def _rate(self, job: DownloadJob) -> float:
        now = self.clock()
        self.samples.append((now, job.bytes))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW_SECONDS:
            self.samples.popleft()
        first_time, first_bytes = self.samples[0]
        return (job.bytes - first_bytes) / (now - first_time) if now > first_time else 0.0

    def _start_line(self, job: DownloadJob) -> str:
        n = len(job.results)
        name = job.plan.system.canonical_name
        return f"{name}: {n} tag{'s' if n != 1 else ''}, into {job.plan.directory.path}"


class PlainProgress(_Progress):
    """For files and pipes: a start line, one line per finished tag, a heartbeat when nothing finishes."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
        heartbeat_seconds: float | None = HEARTBEAT_SECONDS,
    ) -> None:
        super().__init__(stream, clock)
        self.heartbeat_seconds = heartbeat_seconds
        self.last_line = clock()

    def _write(self, lines: Iterable[str]) -> None:
        wrote = False
        for text in lines:
            self.stream.write(visible_text(text) + "\n")
            wrote = True
        if wrote:
            self.stream.flush()
            self.last_line = self.clock()

    def start(self, job: DownloadJob) -> None:
        self._write([self._start_line(job)])

    def update(self, job: DownloadJob) -> None:
        rate = self._rate(job)
        lines = self._finished_lines(job.results.values(), len(job.results), job.plan.system.canonical_name)
        if not lines and self.heartbeat_seconds is not None and self.clock() - self.last_line >= self.heartbeat_seconds:
            lines = [
                f"... {job.done_count}/{len(job.results)} tags done, {format_bytes(job.bytes)} "
                f"at {format_bytes(rate)}/s"
            ]
        self._write(lines)

    def finish(self, report: DownloadReport) -> None:
        # tags that ended with the job (cancelled ones) get their line too
        self._write(self._finished_lines(report.results, len(report.results), report.system))


class LiveProgress(_Progress):
    """For a terminal: finished tags scroll by as log lines; below them a block is redrawn in place.

    The block is the overall line (tags done/total, a bar, bytes, rate, elapsed time) and one line per
    tag being transferred (bytes so far, read from its temporary archive file, and time since it started).
    Redraws use only ``ESC[nF`` (up n lines) and ``ESC[J`` (clear below), so no dependency is needed.
    """

    tick = 0.2

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(stream, clock)
        self.width = width or (lambda: _terminal_width(stream))
        self.block_lines = 0
        self.started_at: dict[int, float] = {}

    def start(self, job: DownloadJob) -> None:
        self._draw([self._start_line(job)], self._block(job))

    def update(self, job: DownloadJob) -> None:
        finished = self._finished_lines(job.results.values(), len(job.results), job.plan.system.canonical_name)
        self._draw(finished, self._block(job))

    def finish(self, report: DownloadReport) -> None:
        self._draw(self._finished_lines(report.results, len(report.results), report.system), [])

    def _draw(self, permanent: list[str], block: list[str]) -> None:
        width = max(20, self.width() - 1)  # never let a line wrap: the cursor arithmetic depends on it
        out = []
        if self.block_lines:
            out.append(f"\x1b[{self.block_lines}F\x1b[J")
        else:
            out.append("\r")
        out.extend(visible_text(text) + "\n" for text in permanent)
        out.extend(shorten(visible_text(text), width) + "\n" for text in block)
        self.stream.write("".join(out))
        self.stream.flush()
        self.block_lines = len(block)

    def _block(self, job: DownloadJob) -> list[str]:
        total = len(job.results)
        done = job.done_count
        now = self.clock()
        rate = self._rate(job)
        bar_width = 20
        filled = round(bar_width * done / total) if total else bar_width
        head = (
            f"{job.plan.system.canonical_name} [{'#' * filled}{'-' * (bar_width - filled)}] {done}/{total} tags  "
            f"{format_bytes(job.bytes)}  {format_bytes(rate)}/s  {format_duration(now - job.started)}"
        )
        lines = [head]
        active = [r for r in job.results.values() if r.status == "downloading"]
        waiting = sum(1 for r in job.results.values() if r.status == "pending")
        partial = partial_archive_sizes(job.plan.directory.archives_dir) if active else {}
        for r in active:
            began = self.started_at.setdefault(r.tag, now)
            size = partial.get(r.tag)
            got = format_bytes(size) if size is not None else "starting"
            lines.append(f"  tag {r.tag} ({r.kind or 'other'}): {got}, {format_duration(now - began)}")
        if waiting:
            lines.append(f"  {waiting} tag{'s' if waiting != 1 else ''} waiting for a connection")
        return lines


def partial_archive_sizes(archives_dir: Path) -> dict[int, int]:
    """Bytes received so far per tag: the sizes of the archives' temporary files (``.<tag>.zip.<random>.part``)."""
    sizes: dict[int, int] = {}
    try:
        entries = list(os.scandir(archives_dir))
    except OSError:
        return sizes
    for entry in entries:
        name = entry.name
        if not (name.endswith(TEMP_SUFFIX) and is_temp_name(name)):
            continue
        stem = name[1:].split(".", 1)[0]
        if not stem.isdigit() or not name[1:].startswith(f"{stem}.zip."):
            continue
        try:
            sizes[int(stem)] = sizes.get(int(stem), 0) + entry.stat().st_size
        except OSError:
            continue
    return sizes


class QuietProgress:
    """Shows nothing (``--quiet``)."""

    tick = 0.5

    def start(self, job: DownloadJob) -> None:
        pass

    def update(self, job: DownloadJob) -> None:
        pass

    def finish(self, report: DownloadReport) -> None:
        pass


def _terminal_width(stream: TextIO) -> int:
    """``COLUMNS`` if set, else the terminal's width, else :data:`DEFAULT_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return DEFAULT_WIDTH
    return width if width > 0 else DEFAULT_WIDTH


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (ValueError, AttributeError):
        return False


def progress_display(stream: TextIO, *, quiet: bool = False) -> ProgressDisplay:
    """Live redraws on a terminal, plain lines otherwise, nothing when ``quiet``."""
    if quiet:
        return QuietProgress()
    if is_terminal(stream):
        return LiveProgress(stream)
    return PlainProgress(stream)


def output_width(stream: TextIO) -> int:
    """Width for tables on ``stream``: ``COLUMNS``, else the terminal's, else :data:`DEFAULT_WIDTH`."""
    if is_terminal(stream):
        return _terminal_width(stream)
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else DEFAULT_WIDTH

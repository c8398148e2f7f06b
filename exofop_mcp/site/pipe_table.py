"""Reading ExoFOP's pipe-separated text tables.

A pipe table is a header of column names, then one line per row, cells
separated by ``|``, empty cells empty, no quoting.  This module turns it into
plain Python rows: empty cells become ``None``, a column whose every cell spells
an integer becomes ``int``, one whose every cell spells a number becomes
``float``, and columns the caller names as text stay exactly as written (TOIs
like ``1130.10`` must not become floats, and free-text notes keep their commas
and quotes).  It is plain Python with no heavy import: a one-star table costs
milliseconds and nothing is loaded for it.

The real site's free text is not clean: a note may hold a literal ``|`` (kept inside the free-text
column, never shifting the cells after it) or raw newlines (the lines that continue it are joined back
to their row, see :class:`RowStart`), so one broken row never splits, shifts, or retypes a column of
the whole table.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from exofop_mcp.errors import ExofopResponseError

Row = dict[str, Any]

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)", re.IGNORECASE)


def split_header(text: str) -> list[str]:
    """The column names of a pipe table (its first line)."""
    first = text.split("\n", 1)[0].rstrip("\r")
    return [name.strip() for name in first.split("|")]


def _shown(name: str, most: int = 60) -> str:
    """A column name as quoted in a message: at most ``most`` characters (a hostile header may be huge)."""
    return name if len(name) <= most else name[:most] + "…"


def check_pipe_table(text: str, required: Collection[str], *, page: str) -> list[str]:
    """Verify that ``text`` looks like a pipe table holding ``required`` columns; return the header."""
    stripped = text.lstrip()
    if not stripped:
        raise ExofopResponseError(f"ExoFOP's {page} returned an empty answer instead of a table.")
    if stripped[:1] == "<":
        raise ExofopResponseError(
            f"ExoFOP's {page} returned an HTML page instead of a pipe table.",
            hint="The site may be down for maintenance or its interface changed; run `exofop-mcp doctor`.",
        )
    header = split_header(stripped)
    missing = [c for c in required if c not in header]
    if missing:
        raise ExofopResponseError(
            f"ExoFOP's {page} table lacks the expected column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(repr(_shown(name)) for name in header[:12])}{'…' if len(header) > 12 else ''}.",
            hint="ExoFOP may have changed its format; run `exofop-mcp doctor` and report the result.",
        )
    return header


#: Longest row kept when continuation lines are joined (a note of this size is already absurd).
MAX_JOINED_ROW_CHARS = 256 * 1024


class RowStart:
    """How a row of one table begins, so that a line that does not is joined to the row before it.

    Free text (notes, comments, descriptions) may hold raw newlines: the rest of a note then comes on
    the next physical lines.  A line starts a row when the cell of ``key_column`` (a column that is a
    whole number in every row, such as ``TIC ID``) spells one, and the line holds at least half the
    header's separators; any other line continues the row before it (joined with ``\\n``).  Without a
    ``key_column`` in the header, every non-blank line is a row.
    """

    def __init__(self, header: list[str], key_column: str | None) -> None:
        self.width = len(header)
        self.key_index = header.index(key_column) if key_column and key_column in header else None
        self.least_separators = max(1, (self.width - 1) // 2)

    @property
    def joins(self) -> bool:
        return self.key_index is not None

    def starts_row(self, line: str) -> bool:
        if self.key_index is None:
            return True
        if line.count("|") < self.least_separators:
            return False
        cells = line.split("|", self.key_index + 1)
        return self.key_index < len(cells) and _INTEGER.fullmatch(cells[self.key_index].strip()) is not None


class RowJoiner:
    """Physical lines in, logical rows out: continuation lines joined, blank lines between rows dropped.

    ``joined`` counts the continuation lines put back into their rows (the doctor reports it).
    """

    def __init__(self, start: RowStart) -> None:
        self.start = start
        self.joined = 0
        self._row: str | None = None

    def feed(self, lines: Iterable[str]) -> list[str]:
        """The rows completed by ``lines`` (the last row is held until the next one starts)."""
        out: list[str] = []
        for line in lines:
            line = line.rstrip("\r\n")
            if not self.start.joins:
                if line.strip():
                    out.append(line)
                continue
            if self._row is not None and not self.start.starts_row(line):
                if line.strip():
                    self.joined += 1
                if len(self._row) < MAX_JOINED_ROW_CHARS:
                    self._row = (self._row + "\n" + line)[:MAX_JOINED_ROW_CHARS]
                continue
            if self._row is not None:
                out.append(self._row)
                self._row = None
            if line.strip():
                self._row = line
        return out

    def finish(self) -> list[str]:
        """The row still held, if any."""
        row, self._row = self._row, None
        return [row] if row is not None else []


def free_text_index(header: list[str], free_text: Collection[str]) -> int:
    """The column that takes a row's extra separators: the last of ``free_text`` in the header, else the last."""
    named = [i for i, name in enumerate(header) if name in free_text]
    return named[-1] if named else len(header) - 1


def split_row(line: str, width: int, free_index: int) -> list[str]:
    """A row's ``width`` cells: extra separators stay inside the free-text column, missing cells are empty.

    A trailing empty separator (ExoFOP sometimes adds one) is dropped first.
    """
    cells = line.split("|")
    while len(cells) > width and not cells[-1].strip():
        cells.pop()
    if len(cells) > width:
        after = width - 1 - free_index
        tail = cells[len(cells) - after :] if after else []
        middle = "|".join(cells[free_index : len(cells) - after])
        return [*cells[:free_index], middle, *tail]
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    return cells


def read_pipe_table(
    text: str,
    *,
    text_columns: Collection[str] = (),
    columns: Collection[str] | None = None,
    key_column: str | None = None,
    free_text: Collection[str] = (),
) -> list[Row]:
    """Parse a pipe table into rows of plain Python values.

    ``text_columns`` keep their text verbatim (stripped); other columns become
    ``int`` or ``float`` when every non-empty cell of the column spells one.
    With ``columns``, only those columns are parsed and returned (the TOI table
    has 63; the catalog reads half of them).  With ``key_column``, continuation
    lines of free text are joined to their row (see :class:`RowStart`);
    ``free_text`` names the columns that may hold a literal ``|`` (default: the last).
    """
    text = text.replace("\r\n", "\n").strip("\n")
    if not text:
        return []
    lines = text.split("\n")
    header = [name.strip() for name in lines[0].split("|")]
    joiner = RowJoiner(RowStart(header, key_column))
    body = joiner.feed(lines[1:]) + joiner.finish()
    if not body:
        return []
    width = len(header)
    free_index = free_text_index(header, free_text)
    if columns is None:
        cells = [split_row(line, width, free_index) for line in body]
    else:  # keep only the wanted cells of each line: the others never outlive their line
        keep = {i for i, name in enumerate(header) if name in columns}
        header = [name for i, name in enumerate(header) if i in keep]
        cells = [[cell for i, cell in enumerate(split_row(line, width, free_index)) if i in keep] for line in body]
        width = len(keep)
        if not width:
            return [{} for _ in cells]

    text_idx = {i for i, name in enumerate(header) if name in text_columns}
    parsed: list[list[Any]] = []
    for i in range(width):
        stripped = [row[i].strip() for row in cells]
        if i not in text_idx:
            filled = [cell for cell in stripped if cell]
            if filled and all(_INTEGER.fullmatch(cell) for cell in filled):
                parsed.append([int(cell) if cell else None for cell in stripped])
                continue
            if filled and all(_NUMBER.fullmatch(cell) for cell in filled):
                parsed.append([float(cell) if cell else None for cell in stripped])
                continue
        parsed.append([cell or None for cell in stripped])
    return [dict(zip(header, row, strict=True)) for row in zip(*parsed, strict=True)]


class PipeRowReader:
    """Rows of a pipe table read a few lines at a time (a table streamed as it arrives).

    Cells are typed one by one (``int`` if the cell spells an integer, ``float`` if a number, else the
    text), not column by column as :func:`read_pipe_table` does, since the rest of the column is not
    known yet; typed records built from either are the same.  With ``key_column``, a row is given out
    once the next row begins (its free text may continue on the next lines): pass ``final=True`` with
    the last lines.
    """

    def __init__(
        self,
        header_line: str,
        *,
        text_columns: Collection[str] = (),
        columns: Collection[str] | None = None,
        key_column: str | None = None,
        free_text: Collection[str] = (),
    ):
        header = [name.strip() for name in header_line.rstrip("\r\n").split("|")]
        self.width = len(header)
        self._free_index = free_text_index(header, free_text)
        self._keep = [i for i, name in enumerate(header) if columns is None or name in columns]
        self._names = [header[i] for i in self._keep]
        self._text = [header[i] in text_columns for i in self._keep]
        self.joiner = RowJoiner(RowStart(header, key_column))

    def rows(self, lines: list[str], *, final: bool = False) -> list[Row]:
        """The rows completed by ``lines`` (body lines; blank ones are skipped)."""
        out: list[Row] = []
        complete = self.joiner.feed(lines)
        if final:
            complete += self.joiner.finish()
        for line in complete:
            cells = split_row(line, self.width, self._free_index)
            row: Row = {}
            for name, index, text in zip(self._names, self._keep, self._text, strict=True):
                cell = cells[index].strip()
                if not cell:
                    row[name] = None
                elif text:
                    row[name] = cell
                elif _INTEGER.fullmatch(cell):
                    row[name] = int(cell)
                elif _NUMBER.fullmatch(cell):
                    row[name] = float(cell)
                else:
                    row[name] = cell
            out.append(row)
        return out

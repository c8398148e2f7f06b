"""Reading ExoFOP's pipe-separated text tables.

A pipe table is a header of column names, then one line per row, cells
separated by ``|``, empty cells empty, no quoting.  This module turns it into
plain Python rows: empty cells become ``None``, a column whose every cell spells
an integer becomes ``int``, one whose every cell spells a number becomes
``float``, and columns the caller names as text stay exactly as written (TOIs
like ``1130.10`` must not become floats, and free-text notes keep their commas
and quotes).  It is plain Python with no heavy import: a one-star table costs
milliseconds and nothing is loaded for it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
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


def read_pipe_table(
    text: str, *, text_columns: Collection[str] = (), columns: Collection[str] | None = None
) -> list[Row]:
    """Parse a pipe table into rows of plain Python values.

    ``text_columns`` keep their text verbatim (stripped); other columns become
    ``int`` or ``float`` when every non-empty cell of the column spells one.
    With ``columns``, only those columns are parsed and returned (the TOI table
    has 63; the catalog reads half of them).
    """
    text = text.replace("\r\n", "\n").strip("\n")
    if not text:
        return []
    lines = text.split("\n")
    header = [name.strip() for name in lines[0].split("|")]
    body = [line for line in lines[1:] if line.strip()]
    if not body:
        return []
    width = len(header)
    # Rows with a trailing extra separator or missing trailing cells are fitted to the header width,
    # as ExoFOP's pages occasionally do both.
    if columns is None:
        cells = [_fit(line.split("|"), width) for line in body]
    else:  # keep only the wanted cells of each line: the others never outlive their line
        keep = {i for i, name in enumerate(header) if name in columns}
        header = [name for i, name in enumerate(header) if i in keep]
        cells = [[cell for i, cell in enumerate(_fit(line.split("|"), width)) if i in keep] for line in body]
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


def _fit(cells: list[str], width: int) -> list[str]:
    if len(cells) > width:
        if all(not c.strip() for c in cells[width:]):
            return cells[:width]
        # a stray separator inside free text: keep it in the last column
        return [*cells[: width - 1], "|".join(cells[width - 1 :])]
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    return cells


class PipeRowReader:
    """Rows of a pipe table read a few lines at a time (a table streamed as it arrives).

    Cells are typed one by one (``int`` if the cell spells an integer, ``float`` if a number, else the
    text), not column by column as :func:`read_pipe_table` does, since the rest of the column is not
    known yet; typed records built from either are the same.
    """

    def __init__(self, header_line: str, *, text_columns: Collection[str] = (), columns: Collection[str] | None = None):
        header = [name.strip() for name in header_line.rstrip("\r\n").split("|")]
        self.width = len(header)
        self._keep = [i for i, name in enumerate(header) if columns is None or name in columns]
        self._names = [header[i] for i in self._keep]
        self._text = [header[i] in text_columns for i in self._keep]

    def rows(self, lines: list[str]) -> list[Row]:
        """The rows of ``lines`` (body lines; blank ones are skipped)."""
        out: list[Row] = []
        for line in lines:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cells = _fit(line.split("|"), self.width)
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

"""Reading ExoFOP's pipe-separated text tables.

A pipe table is a header of column names, then one line per row, cells
separated by ``|``, empty cells empty, no quoting.  astropy's ``ascii`` reader
does the parsing (its C fast reader handles the 3.6 MB TOI table in a fraction
of a second); this module turns its columns into plain Python rows: empty cells
become ``None``, numeric columns become ``int``/``float``, and columns the caller
names as text stay exactly as written (TOIs like ``1130.10`` must not become
floats, and free-text notes keep their commas and quotes).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection
from typing import Any

from exofop_mcp.errors import ExofopResponseError

Row = dict[str, Any]

# Characters Python's str.splitlines() treats as line breaks besides "\n": astropy would split rows on them.
# The quote character handed to astropy (pipe tables have no quoting) is blanked too.
_QUOTE = "\x01"
_LINE_BREAKS = str.maketrans({c: " " for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029" + _QUOTE})


_preloading: threading.Thread | None = None


def preload_parser() -> None:
    """Import astropy's table reader in a background thread (once per process).

    The import takes about half a second; started just before a table is requested, it overlaps the
    network round trip instead of following it.
    """
    global _preloading
    if _preloading is not None:
        return

    def load() -> None:
        # Any problem is reported by the real import, in read_pipe_table.
        with contextlib.suppress(Exception):
            import astropy.io.ascii  # noqa: F401

    _preloading = threading.Thread(target=load, name="exofop-preload-astropy", daemon=True)
    _preloading.start()


def split_header(text: str) -> list[str]:
    """The column names of a pipe table (its first line)."""
    first = text.split("\n", 1)[0].rstrip("\r")
    return [name.strip() for name in first.split("|")]


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
            f"it has {', '.join(map(repr, header[:12]))}{'…' if len(header) > 12 else ''}.",
            hint="ExoFOP may have changed its format; run `exofop-mcp doctor` and report the result.",
        )
    return header


def read_pipe_table(
    text: str, *, text_columns: Collection[str] = (), columns: Collection[str] | None = None
) -> list[Row]:
    """Parse a pipe table into rows of plain Python values.

    ``text_columns`` keep their text verbatim (stripped); other columns take
    the numeric type astropy infers when every cell of the column is numeric.
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

    from astropy.io import ascii as astropy_ascii  # heavy import, only when a table is parsed

    names = [f"c{i}" for i in range(width)]
    text_idx = {i for i, name in enumerate(header) if name in text_columns}
    try:
        table = astropy_ascii.read(
            # Text columns are taken verbatim below; astropy only infers the numeric ones.
            ["|".join("" if i in text_idx else c for i, c in enumerate(row)).translate(_LINE_BREAKS) for row in cells],
            format="no_header",
            delimiter="|",
            names=names,
            guess=False,
            fast_reader=True,
            quotechar=_QUOTE,  # pipe tables have no quoting: a '"' in notes is just a character
            comment=None,
        )
    except Exception as exc:  # astropy raises several types for malformed input
        raise ExofopResponseError(f"ExoFOP returned a table that cannot be parsed: {exc}") from None
    # A cell made only of characters blanked for astropy (line breaks, the quote character) is text,
    # not a missing number: its column keeps its cells verbatim.
    blanked = {i for row in cells for i, c in enumerate(row) if c.strip() and not c.translate(_LINE_BREAKS).strip()}
    parsed: list[list[Any]] = []
    for i, name in enumerate(names):
        if i in text_idx or i in blanked or table[name].dtype.kind in "SU":
            parsed.append([row[i].strip() or None for row in cells])
            continue
        col = table[name]
        mask = getattr(col, "mask", None)
        if mask is not None and mask.any():
            values = col.filled(col.dtype.type()).tolist()
            parsed.append([None if m else v for v, m in zip(values, mask.tolist(), strict=True)])
        else:
            parsed.append(col.tolist())
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

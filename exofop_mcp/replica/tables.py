"""Rendering tables the way ExoFOP's download pages do: pipe (exact), csv and text."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

OUTPUT_FORMATS = ("pipe", "csv", "text")


def pipe_columns(header: str) -> tuple[str, ...]:
    """Column names from a pipe header line, so column lists read exactly as the site prints them."""
    return tuple(header.split("|"))


def render(columns: Sequence[str], rows: Sequence[Sequence[str]], output: str) -> bytes:
    """A header line then one line per row, each line ending with a newline.

    ``pipe``: cells joined by ``|``, no quoting (free text never holds ``|``).
    ``csv``: RFC 4180 quoting where needed.  ``text`` (the site's default): tab-separated.
    """
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")
    separator = "|" if output == "pipe" else "\t"
    lines = [separator.join(columns), *(separator.join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def pipe_lines_to(output: str, lines: Sequence[bytes]) -> bytes:
    """Convert exact pipe lines (such as the TOI table snapshot) to another output format."""
    if output == "pipe":
        return b"".join(line + b"\n" for line in lines)
    table = [line.decode("utf-8").split("|") for line in lines]
    return render(table[0], table[1:], output)

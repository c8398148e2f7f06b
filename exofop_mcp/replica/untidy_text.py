"""Text as the real site serves it, behind two switches (see ``ReplicaConfig``).

``broken_free_text``: what observers type goes into the tables unescaped, so some notes, TOI comments
and file descriptions carry a literal ``|``, a raw newline (the text goes on on the next physical line,
which may even begin with digits) or HTML.  ``untidy_tables``: header cells with stray spaces, decimals
without a leading zero, several blank lines at the end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: One row in this many has its free text broken (the first of each group: rows 1, 1 + EVERY, ...).
EVERY = 4


def broken(note: str, index: int) -> str:
    """``note`` as the real site may hold it; ``index`` picks the way it is broken."""
    base = note or "on target"
    variant = index % 4
    if variant == 0:
        return f"{base} | egress only, clouds"  # a literal separator inside the text
    if variant == 1:
        return f"{base}\nsecond night: full transit, on target"  # a raw newline
    if variant == 2:
        return f"{base}<br>depth&nbsp;consistent &amp; achromatic"  # HTML
    return f"{base}\n3|4 of the transit observed"  # a continuation line that begins like a number


def break_rows(rows: Sequence[Sequence[str]], column: int) -> list[list[str]]:
    """Rows with the free text of every :data:`EVERY`-th one broken (the others unchanged)."""
    out = [list(row) for row in rows]
    for number, row in enumerate(out):
        if number % EVERY == 0 and column < len(row):
            row[column] = broken(row[column], number // EVERY)
    return out


def break_table_lines(lines: Sequence[bytes]) -> list[bytes]:
    """Exact pipe lines (header first) with the last cell (the free text) of every :data:`EVERY`-th row broken."""
    out = [lines[0]]
    for number, line in enumerate(lines[1:]):
        if number % EVERY == 0 and b"|" in line:
            head, _, last = line.rpartition(b"|")
            line = head + b"|" + broken(last.decode("utf-8"), number // EVERY).encode("utf-8")
        out.append(line)
    return out


_LEADING_ZERO = re.compile(rb"(?<=\|)(-?)0\.(?=[0-9])")


def untidy(body: bytes) -> bytes:
    """A pipe table as the real site may print it: stray spaces around some header cells, no leading zero
    before decimals (``0.389`` -> ``.389``), blank lines at the end."""
    header, newline, rest = body.partition(b"\n")
    cells = header.split(b"|")
    for index in range(len(cells)):
        if index % 4 == 2:
            cells[index] = b" " + cells[index]
        elif index % 5 == 3:
            cells[index] = cells[index] + b" "
    rest = _LEADING_ZERO.sub(rb"\1.", rest)
    return b"|".join(cells) + newline + rest.rstrip(b"\n") + b"\n\n\n\n"

"""A tolerant reader of the text tables observers upload as light curves.

Tab, comma, semicolon and whitespace separators; decimal commas; ``# AIJ_`` metadata lines; a
row-number column (AstroImageJ's header cell is a single space); CRLF; a byte-order mark; a header
line that starts with ``#``; no header at all (three columns: time, flux, error); ``NaN``,
``Infinity``, ``-`` and empty cells as missing.  AstroImageJ's ``.xls`` is such text; a real Excel
workbook is refused with a reason.  Columns are converted to numbers only when asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from exofop_mcp.lightcurves.discovery import MAX_TABLE_BYTES
from exofop_mcp.lightcurves.reports import Refusal

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
HEADERLESS_NAMES = ("time", "flux", "flux_err")
MISSING = {
    "",
    "-",
    "--",
    "nan",
    "+nan",
    "-nan",
    "na",
    "n/a",
    "null",
    "none",
    "inf",
    "+inf",
    "-inf",
    "infinity",
    "+infinity",
    "-infinity",
}
MIN_ROWS = 3
#: Tables wider than this are refused (real light curves have tens to a few hundred columns).
MAX_COLUMNS = 10_000
#: Caps that bound the memory one table takes: the longest line, and the cells of all rows together.
MAX_LINE_CHARS = 1 << 20
MAX_CELLS = 5_000_000
#: ``# AIJ_`` metadata lines kept (the first ones), and the characters kept of each key and value.
MAX_METADATA = 200
MAX_METADATA_CHARS = 500

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")
_KEY_VALUE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]{0,40})=(.*)$")


@dataclass
class TextTable:
    """Columns of a text table, by name, as the cells' text; numbers on demand."""

    names: list[str]
    cells: list[list[str]]  # one list per column
    separator: str
    has_header: bool
    decimal_comma: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    _numbers: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def rows(self) -> int:
        return len(self.cells[0]) if self.cells else 0

    def number(self, name: str) -> np.ndarray:
        """The column as float64, missing cells as NaN (a text cell is NaN too)."""
        cached = self._numbers.get(name)
        if cached is None:
            cached = _to_float(self.cells[self.names.index(name)], self.decimal_comma)
            self._numbers[name] = cached
        return cached

    def is_numeric(self, name: str) -> bool:
        return bool(np.isfinite(self.number(name)).any())


def _to_float(cells: list[str], decimal_comma: bool) -> np.ndarray:
    values = [c.replace(",", ".") for c in cells] if decimal_comma else cells
    try:
        array = np.array(list(map(float, values)), dtype=np.float64)  # float() ignores the cells' spaces
    except ValueError:
        array = np.array([_one(v.strip()) for v in values], dtype=np.float64)
    array[~np.isfinite(array)] = np.nan
    return array


def _one(text: str) -> float:
    if text.lower() in MISSING:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split(line: str, separator: str) -> list[str]:
    return line.split() if separator == " " else line.split(separator)


def _separator(lines: list[str]) -> str:
    sample = lines[:20]
    for candidate in ("\t", ";", ","):
        counts = {line.count(candidate) for line in sample}
        if min(counts) > 0 and len(counts) == 1:
            return candidate
    for candidate in ("\t", ";", ","):
        if all(candidate in line for line in sample):
            return candidate
    return " "


def _numeric_cell(text: str, decimal_comma: bool) -> bool:
    t = text.strip()
    if t.lower() in MISSING:
        return True
    return bool(_NUMBER.match(t) or (decimal_comma and _DECIMAL_COMMA.match(t)))


def refuse_binary(data: bytes, name: str) -> None:
    """Raise a :class:`Refusal` for a file that is not text (an Excel workbook, a FITS or image file...)."""
    if data.startswith(OLE2_MAGIC) or (data.startswith(ZIP_MAGIC) and name.lower().endswith((".xlsx", ".xls"))):
        raise Refusal(
            "excel_binary",
            "a real Excel workbook, not AstroImageJ's tab-separated text; save it as a .tbl or .csv table.",
        )
    if b"\0" in data[:4096]:
        raise Refusal("binary_file", "a binary file, not a text table.")


def read_text_table(data: bytes, name: str = "") -> TextTable:
    """Parse ``data`` as a text table; raises :class:`Refusal` when it is not one."""
    if len(data) > MAX_TABLE_BYTES:
        raise Refusal("over_limit", f"{len(data):,} bytes, more than the {MAX_TABLE_BYTES >> 20} MiB a table may have.")
    if not data.strip():
        raise Refusal("empty_file", "the file is empty.")
    refuse_binary(data, name)
    text = _decode(data)
    metadata: dict[str, str] = {}
    comments: list[str] = []
    all_lines = text.splitlines()
    longest = max(map(len, all_lines), default=0)
    if longest > MAX_LINE_CHARS:
        raise Refusal(
            "over_limit", f"a line of {longest:,} characters, more than {MAX_LINE_CHARS:,}: not a light-curve table."
        )
    start = 0
    while start < len(all_lines):  # leading blank and comment lines: metadata, a "#" header
        stripped = all_lines[start].strip()
        if stripped and not stripped.startswith("#"):
            break
        comment = stripped.lstrip("#").strip()
        if comment.startswith("AIJ_"):
            key, _, value = comment.partition(" ")
            if len(metadata) < MAX_METADATA or key[:MAX_METADATA_CHARS] in metadata:  # copied into the ECSV header
                metadata[key[:MAX_METADATA_CHARS]] = value.strip()[:MAX_METADATA_CHARS]
        elif keyed := _KEY_VALUE.match(comment):  # "#DATE_TYPE=BJD_TDB": an AAVSO exoplanet report's metadata
            key = keyed.group(1).upper()[:MAX_METADATA_CHARS]
            if len(metadata) < MAX_METADATA or key in metadata:
                metadata[key] = keyed.group(2).strip()[:MAX_METADATA_CHARS]
        elif comment:
            comments.append(comment)
        start += 1
    lines = [line for line in all_lines[start:] if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise Refusal("not_a_table", "no table rows in the file.")
    separator = _separator(lines[1:] if len(lines) > 1 else lines)
    first = _split(lines[0], separator)
    data_fields = _split(lines[1], separator) if len(lines) > 1 else first
    decimal_comma = separator != "," and any(_DECIMAL_COMMA.match(c.strip()) for c in data_fields)
    header_is_data = all(_numeric_cell(c, decimal_comma) for c in first if c.strip()) or _same_kinds(
        first, data_fields, decimal_comma
    )
    if header_is_data:
        header: list[str] | None = None
        if comments:  # "# BJD_TDB flux err": the last comment line, when it has the columns' count
            named = _header_fields(comments[-1], separator, len(first))
            if len(named) == len(first) and not all(_numeric_cell(c, decimal_comma) for c in named):
                header = named
        body = lines
    else:
        header, body = _header_fields(lines[0], separator, len(data_fields)), lines[1:]
    if len(first) > MAX_COLUMNS:
        raise Refusal(
            "over_limit", f"{len(first):,} columns, more than the {MAX_COLUMNS:,} a light curve is read with."
        )
    rows = []
    cells = 0
    for line in body:  # row by row, so that a table past the caps is refused before it is held whole
        row = _split(line, separator)
        cells += len(row)
        if len(row) > MAX_COLUMNS or cells > MAX_CELLS:
            raise Refusal(
                "over_limit",
                f"more than {MAX_COLUMNS:,} cells in a row or {MAX_CELLS:,} in all: not a light-curve table.",
            )
        rows.append(row)
    width = max((len(r) for r in rows), default=0)
    if width > MAX_COLUMNS:
        raise Refusal(
            "over_limit", f"a row of {width:,} cells, more than the {MAX_COLUMNS:,} a light curve is read with."
        )
    if header is None:
        if width < 2:
            raise Refusal("not_a_table", "a single column of numbers: no time and flux pair.")
        names = [*HEADERLESS_NAMES, *(f"col{index}" for index in range(4, width + 1))][:width]
        has_header = False
    else:
        names = [h.strip() for h in header]
        if names and names[0] == "":
            names[0] = "row"
        if len(names) == width - 1:  # a row number with no header cell of its own
            names.insert(0, "row")
        has_header = True
    if width < 2 or len(names) < 2:
        raise Refusal("not_a_table", "fewer than two columns: not a light-curve table.")
    names = _unique(names)
    count = len(names)
    if any(len(row) < count for row in rows):
        rows = [row + [""] * (count - len(row)) if len(row) < count else row for row in rows]
    columns = [list(column) for column in zip(*rows, strict=False)][:count] if rows else [[] for _ in names]
    first_row = rows[0] if rows else []
    numeric = sum(1 for cell in first_row if cell.strip() and _numeric_cell(cell, decimal_comma))
    if has_header and (numeric < 2 or numeric * 2 < len(first_row)):
        raise Refusal("not_a_table", "too few numbers under the header: text, not a measurement table.")
    return TextTable(names, columns, separator, has_header, decimal_comma, metadata)


def _same_kinds(first: list[str], second: list[str], decimal_comma: bool) -> bool:
    """A first line that is a row like the next (numbers and text in the same places), not a header.

    A header is names; a row ending in a text column (a frame id) is still a row when the line after
    it has text in the same place and numbers everywhere else.
    """
    if len(first) != len(second) or first is second:
        return False
    numbers = 0
    for mine, theirs in zip(first, second, strict=True):  # stops at the first difference (a header's names)
        kind = _numeric_cell(mine, decimal_comma)
        if kind != _numeric_cell(theirs, decimal_comma):
            return False
        numbers += bool(kind and mine.strip())
    return numbers >= 2 and numbers * 2 >= len(first)


def _header_fields(line: str, separator: str, width: int) -> list[str]:
    """A header line's names: split as the data are, or (a space-separated header over tab-separated
    data, as some pipelines write) by whatever separator gives the data's column count."""
    fields = _split(line, separator)
    if len(fields) in (width, width - 1) or width < 2:
        return fields
    for other in ("\t", ",", ";", " "):
        if other != separator and len(candidate := _split(line, other)) in (width, width - 1):
            return candidate
    return fields


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out

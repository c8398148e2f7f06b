"""An ECSV file's header, checked before :mod:`astropy.table` is let near it.

The header is YAML in ``#`` lines, written by whoever made the file.  Before astropy reads the file,
the header is read here with caps: at most :data:`MAX_HEADER_BYTES` and :data:`MAX_HEADER_LINES`,
no YAML anchors, aliases or tags (they let a few lines stand for millions of nodes), at most
:data:`MAX_YAML_EVENTS` YAML events, at most ``max_columns`` columns, and a column's ``subtype``
shape (``float64[3,2]``) at most :data:`MAX_CELL_ELEMENTS` elements.  Files larger than
:data:`MAX_ECSV_BYTES` are not given to astropy at all (it reads a file whole).
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import IO, Any

from exofop_mcp.errors import FileLimitError
from exofop_mcp.file_work import check_budget

MAX_HEADER_BYTES = 1 * 2**20
MAX_HEADER_LINES = 20_000
MAX_YAML_EVENTS = 200_000
MAX_CELL_ELEMENTS = 10_000
#: ECSV files larger than this are summarized as plain whitespace-separated tables (astropy reads a file whole).
MAX_ECSV_BYTES = 32 * 2**20
_SHAPE = re.compile(r"\[([^\]]*)\]")
_COLUMN_LINE = re.compile(r"^\s*-\s*\{?\s*name\s*:", re.M)


class EcsvHeaderError(ValueError):
    """The header is not ECSV's YAML (the preview says the file cannot be read as a table)."""


def _header_text(path: Path, source: IO[bytes] | None = None) -> str:
    lines: list[str] = []
    size = 0
    opened = (
        path.open("r", encoding="utf-8", errors="replace", newline="")
        if source is None
        else io.TextIOWrapper(source, encoding="utf-8", errors="replace", newline="")
    )
    with opened as f:
        while True:
            line = f.readline(MAX_HEADER_BYTES + 1)
            if not line.startswith("#"):
                break
            size += len(line)
            if size > MAX_HEADER_BYTES or len(lines) >= MAX_HEADER_LINES:
                raise FileLimitError(
                    f"{path.name}: its ECSV header runs past {MAX_HEADER_BYTES // 2**20} MiB or "
                    f"{MAX_HEADER_LINES:,} lines; it is not read."
                )
            lines.append(line[1:].removeprefix(" ").rstrip("\r\n"))
            if len(lines) % 1000 == 0:
                check_budget()
    if not lines or not lines[0].startswith("%ECSV"):
        raise EcsvHeaderError("it does not start with '# %ECSV'")
    return "\n".join(lines[1:])


#: The YAML tags astropy's own ECSV writer uses (a ``Time`` column, units): read as plain data, nothing built.
ASTROPY_TAGS = ("!astropy.table.SerializedColumn", "!astropy.units.Unit")


def _astropy_loader(yaml: Any) -> Any:
    """A safe YAML loader that reads astropy's own tags as the plain mappings or strings they hold."""
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    def plain(loader: Any, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        return loader.construct_scalar(node)

    for tag in ASTROPY_TAGS:
        Loader.add_constructor(tag, plain)
    return Loader


def check_ecsv_header(path: Path, max_columns: int, source: IO[bytes] | None = None) -> None:
    """Raise :class:`~exofop_mcp.errors.FileLimitError` (past a cap) or :class:`EcsvHeaderError` (not ECSV).

    ``source``: the file already opened (read instead of ``path``, which then only names it)."""
    import yaml

    text = _header_text(path, source)
    declared = len(_COLUMN_LINE.findall(text))  # counted before any YAML is parsed
    if declared > max_columns:
        raise FileLimitError(f"{path.name} declares {declared:,} columns, more than the {max_columns:,} read.")
    loader = _astropy_loader(yaml)
    events = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            events += 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise FileLimitError(f"{path.name}: its ECSV header uses YAML anchors or aliases; it is not read.")
            tag = getattr(event, "tag", None)
            if tag and tag.startswith("!") and not tag.startswith("tag:yaml.org,2002:") and tag not in ASTROPY_TAGS:
                raise FileLimitError(f"{path.name}: its ECSV header uses YAML tags ({tag[:40]}); it is not read.")
            if events > MAX_YAML_EVENTS:
                raise FileLimitError(f"{path.name}: its ECSV header is too complex ({MAX_YAML_EVENTS:,} YAML events).")
            if events % 1000 == 0:
                check_budget()
        header = yaml.load(text, Loader=loader)  # a safe loader (the C one when libyaml is there)
    except yaml.YAMLError as exc:
        raise EcsvHeaderError(f"its header is not YAML ({exc.__class__.__name__})") from None
    columns = header.get("datatype") if isinstance(header, dict) else None
    if not isinstance(columns, list):
        raise EcsvHeaderError("its header has no list of columns ('datatype')")
    if len(columns) > max_columns:
        raise FileLimitError(f"{path.name} declares {len(columns):,} columns, more than the {max_columns:,} read.")
    for column in columns:
        subtype = column.get("subtype") if isinstance(column, dict) else None
        if not isinstance(subtype, str):
            continue
        shape = _SHAPE.search(subtype)
        if shape is None:
            continue
        sizes = [part.strip() for part in shape.group(1).split(",")]
        lengths = [int(s) for s in sizes if s.isdigit() and len(s) < 12]
        if len(sizes) > 32 or len(lengths) != len([s for s in sizes if s != "null"]):
            raise FileLimitError(f"{path.name}: a column's shape {subtype[:40]!r} is not a plain list of sizes.")
        if math.prod(lengths) > MAX_CELL_ELEMENTS:
            raise FileLimitError(
                f"{path.name}: a column's cells have shape {subtype[:40]!r}, more than {MAX_CELL_ELEMENTS:,} values."
            )

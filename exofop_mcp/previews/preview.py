"""A look at one downloaded file, in a form an assistant can read: what it is and what it holds.

* PNG, JPEG (and other raster images): the picture, downscaled when large, with its size.
* Measurement tables (AstroImageJ ``.tbl``, ``.csv``, ``.tsv``, ``.dat``, ``.ecsv``): columns,
  row count, first and last rows, and each column's range.
* FITS: a header summary of each HDU (type, shape, the informative cards), read with
  :mod:`astropy.io.fits` without loading the data.
* Notes and other text: the text, paged by characters.
* An extracted light curve (an ``.ecsv`` with a ``.png`` of the same name beside it): its plot
  plus the table summary; see :func:`light_curve_plot`.

The result is a :class:`FilePreview` (JSON, under ~20 kB) carrying the image bytes to show, if any.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError, FileLimitError
from exofop_mcp.file_work import check_budget
from exofop_mcp.previews.ecsv_header import MAX_ECSV_BYTES, EcsvHeaderError, check_ecsv_header
from exofop_mcp.previews.fits_headers import FitsHeaderError, read_fits_headers
from exofop_mcp.previews.locate import locate_file, mime_type_of
from exofop_mcp.sandbox_files import OpenedFile, open_inside

PreviewKind = Literal["image", "table", "fits", "text", "light_curve", "binary"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
TABLE_SUFFIXES = {".tbl", ".csv", ".tsv", ".dat", ".ecsv"}
FITS_SUFFIXES = {".fits", ".fit", ".fts", ".fz"}
TEXT_SUFFIXES = {".txt", ".log", ".md", ".json", ".xml", ".html", ".htm", ".cfg", ".ini", ".yaml", ".yml", ".rst"}

#: An image is shown as it is when it is at most this many pixels on its longer side and this many bytes.
MAX_IMAGE_SIDE = 1024
MAX_IMAGE_BYTES = 750_000
#: Images with more pixels than this are not decoded at all.
MAX_IMAGE_PIXELS = 80_000_000
MAX_TEXT_CHARS = 15_000
#: Image files larger than this are not opened; lines of a delimited table longer than this are refused.
MAX_IMAGE_FILE_BYTES = 256 << 20
MAX_LINE_BYTES = 1 << 20
DEFAULT_TEXT_CHARS = 8_000
#: The largest text offset a preview takes (a billion characters: more than any note or log ExoFOP holds).
MAX_TEXT_OFFSET = 10**9
EDGE_ROWS = 5
MAX_COLUMNS = 40
MAX_CELL_CHARS = 32
MAX_HDUS = 10
#: Threads that read files for previews and resources, the seconds one preview may take, and how long a
#: preview waits for a free thread before it is refused as busy.
PREVIEW_WORKERS = 4
PREVIEW_SECONDS = 20.0
PREVIEW_QUEUE_SECONDS = 5.0
#: Tables with more columns than this (in their header line or ECSV header) are not read.
MAX_TABLE_COLUMNS = 10_000
PRIMARY_CARDS = 60
EXTENSION_CARDS = 25
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
#: FITS structure cards, left out of the summary (the shape and type say the same).
_STRUCTURAL = {"SIMPLE", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "END", "COMMENT", "HISTORY", ""}
#: The cards of a tile-compressed image that describe the compression (left out of its summary).
_COMPRESSION = {"ZIMAGE", "ZBITPIX", "ZCMPTYPE", "ZSIMPLE", "ZTENSION", "ZEXTEND", "ZBLOCKED", "ZPCOUNT", "ZGCOUNT"}
_COMPRESSION_PREFIXES = ("ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "ZQUANTIZ", "ZDITHER")


class PreviewError(ExofopMcpError):
    """A file that cannot be previewed as what its name says it is."""

    code = "unreadable_file"


class PreviewFileRequest(BaseModel):
    """Arguments of ``preview_file``."""

    model_config = ConfigDict(extra="forbid")

    system: Annotated[
        str,
        Field(
            description="the system whose files to read: its canonical name as in download results "
            "(e.g. 'TOI-1130'), or anything resolve_system accepts",
            examples=["TOI-1130"],
            min_length=1,
            max_length=200,
        ),
    ]
    path: Annotated[
        str,
        Field(
            description="the file, relative to the system's directory, exactly as download results and "
            "list_downloads list files (e.g. 'time_series/18598/TIC254113311-02_20200330_LCO_zs_notes.txt')",
            examples=["time_series/18598/TIC254113311-02_20200330_LCO-SSO-1m0_zs_measurements.tbl"],
            min_length=1,
            max_length=1000,
        ),
    ]
    offset: Annotated[
        int,
        Field(
            description="for text: the character to start at (pass the previous preview's next_offset)",
            ge=0,
            le=MAX_TEXT_OFFSET,
        ),
    ] = 0
    max_chars: Annotated[
        int,
        Field(description="for text: characters per page", ge=200, le=MAX_TEXT_CHARS),
    ] = DEFAULT_TEXT_CHARS


class ImageInfo(BaseModel):
    """The picture shown with the preview."""

    source_path: str = Field(description="the image file shown, relative to the system's directory")
    format: str = Field(description="the image file's format, e.g. PNG or JPEG")
    width: int
    height: int
    shown_width: int
    shown_height: int
    shown_mime_type: str
    downscaled: bool = Field(description="true when the picture shown is a smaller copy of the file")


class ColumnSummary(BaseModel):
    name: str
    type: Literal["number", "date", "text"]
    min: float | None = Field(None, description="smallest value (number columns)")
    max: float | None = Field(None, description="largest value (number columns)")
    earliest: str | None = Field(None, description="earliest value (date columns, YYYY-MM-DD...)")
    latest: str | None = Field(None, description="latest value (date columns)")
    empty: int = Field(0, description="empty or unreadable cells")
    example: str | None = Field(None, description="the first value (text columns)")


class TableSummary(BaseModel):
    format: str = Field(description="how the table was read: tab, comma, whitespace or ecsv")
    rows: int = Field(description="data rows in the file")
    column_count: int
    columns: list[ColumnSummary] = Field(description=f"the first {MAX_COLUMNS} columns, with their ranges")
    first_rows: list[list[str]] = Field(default_factory=list, description=f"the first {EDGE_ROWS} rows")
    last_rows: list[list[str]] = Field(default_factory=list, description=f"the last {EDGE_ROWS} rows")


class HduSummary(BaseModel):
    index: int
    name: str
    type: str = Field(description="PrimaryHDU, ImageHDU, BinTableHDU, CompImageHDU, ...")
    shape: list[int] = Field(default_factory=list, description="data shape, NAXISn from last to first (numpy order)")
    bitpix: int | None = None
    card_count: int = Field(description="cards in this HDU's header")
    cards: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="the informative header cards (structure cards left out)"
    )
    columns: list[str] = Field(default_factory=list, description="column names, for tables")


class FitsSummary(BaseModel):
    hdu_count: int
    hdus: list[HduSummary]


class TextPage(BaseModel):
    text: str
    offset: int
    returned_chars: int
    next_offset: int | None = Field(None, description="where the next page starts; null at the end")


class FilePreview(BaseModel):
    """What one downloaded file is and holds."""

    system: str = Field(description="canonical system name")
    path: str = Field(description="the file, relative to the system's directory")
    uri: str = Field(description="the file as an MCP resource (exofop://<system>/<path>)")
    kind: PreviewKind
    mime_type: str
    size_bytes: int
    image: ImageInfo | None = None
    table: TableSummary | None = None
    fits: FitsSummary | None = None
    text: TextPage | None = None
    notes: list[str] = Field(default_factory=list)

    #: The pictures to show with the preview (not part of the JSON).
    _images: list[ImageData] = PrivateAttr(default_factory=list)

    @property
    def images(self) -> list[ImageData]:
        return self._images


@dataclass
class ImageData:
    data: bytes
    mime_type: str


def resource_uri(system: str, relative: str) -> str:
    from urllib.parse import quote

    return f"exofop://{system}/{quote(relative, safe='/')}"


def preview_file(
    system: SystemDirectory, path: str, *, offset: int = 0, max_chars: int = DEFAULT_TEXT_CHARS
) -> FilePreview:
    """Preview one file of ``system``'s directory (blocking: run it in a thread from async code).

    The file is opened once, inside the system's directory (:func:`locate_file`), and every reader
    below reads that descriptor only, never past the size it had when opened."""
    with locate_file(system, path) as opened:
        return _preview(system, opened, offset, max_chars)


def _preview(system: SystemDirectory, opened: OpenedFile, offset: int, max_chars: int) -> FilePreview:
    relative = opened.relative.as_posix()
    result = FilePreview(
        system=system.name,
        path=relative,
        uri=resource_uri(system.name, relative),
        kind="binary",
        mime_type=mime_type_of(relative),
        size_bytes=opened.size,
    )
    name = opened.name.lower()
    suffix = Path(name).suffix
    if suffix == ".gz" and Path(name[:-3]).suffix in FITS_SUFFIXES:
        suffix = Path(name[:-3]).suffix
    if suffix in IMAGE_SUFFIXES:
        result.kind = "image"
        image, info = _image(opened, relative)
        result.images.append(image)
        result.image = info
    elif suffix in TABLE_SUFFIXES:
        result.kind = "table"
        result.table = _table(opened, suffix)
        plot = light_curve_plot(system, opened.relative)
        if plot is not None:
            with plot:
                result.kind = "light_curve"
                plot_relative = plot.relative.as_posix()
                image, info = _image(plot, plot_relative)
            result.images.append(image)
            result.image = info
            result.notes.append(f"An extracted light curve: its plot is {plot_relative}.")
    elif suffix in FITS_SUFFIXES:
        result.kind = "fits"
        result.fits, notes = _fits(opened)
        result.notes.extend(notes)
    elif suffix in TEXT_SUFFIXES or _looks_like_text(opened):
        result.kind = "text"
        result.text = _text(opened, offset, max_chars)
    else:
        result.notes.append(
            f"No preview for this kind of file ({result.mime_type}); read it as the resource {result.uri}."
        )
    return result


# -- light curves ---------------------------------------------------------------------------------


def light_curve_plot(system: SystemDirectory, table: PurePosixPath) -> OpenedFile | None:
    """The plot of an extracted light curve: the ``.png`` of the same name beside its ``.ecsv``, opened.

    This is the hook for light-curve previews: a light curve written as ``<name>.ecsv`` with its
    plot as ``<name>.png`` is shown as the plot plus the table's summary.  The plot is opened as
    every file is (inside the system's directory, a regular file), and only from the same folder.
    """
    if table.suffix.lower() != ".ecsv":
        return None
    for candidate in (table.with_suffix(".png"), table.with_suffix(".PNG")):
        try:
            opened = open_inside(system.path, candidate, root=system.root)
        except (ExofopMcpError, OSError):
            continue
        if opened.relative.parent == table.parent:
            return opened
        opened.close()
    return None


# -- images ----------------------------------------------------------------------------------------


def _image(source: OpenedFile, relative: str) -> tuple[ImageData, ImageInfo]:
    try:
        from PIL import Image
    except ImportError:  # Pillow is a dependency; this keeps a broken install honest
        return _image_without_pillow(source, relative)
    stream = source.binary(MAX_IMAGE_FILE_BYTES, what="an image preview")
    try:
        with warnings.catch_warnings(action="ignore", category=Image.DecompressionBombWarning):
            opened = Image.open(stream)  # our own cap follows at once
        with opened as img:
            width, height = img.size
            fmt = img.format or source.relative.suffix.lstrip(".").upper()
            if width * height > MAX_IMAGE_PIXELS:
                raise FileLimitError(
                    f"{relative} is {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS:,} a preview decodes."
                )
            size = source.size
            if fmt in ("PNG", "JPEG") and max(width, height) <= MAX_IMAGE_SIDE and size <= MAX_IMAGE_BYTES:
                data = source.head(MAX_IMAGE_BYTES + 1)
                mime = "image/png" if fmt == "PNG" else "image/jpeg"
                info = ImageInfo(
                    source_path=relative,
                    format=fmt,
                    width=width,
                    height=height,
                    shown_width=width,
                    shown_height=height,
                    shown_mime_type=mime,
                    downscaled=False,
                )
                return ImageData(data, mime), info
            if fmt == "JPEG":
                img.draft("RGB", (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
            img.load()
            copy = img.copy()
    except (PreviewError, FileLimitError):
        raise
    except Image.DecompressionBombError:  # Pillow's own cap, met before ours when the header claims more
        raise FileLimitError(
            f"{relative} claims more pixels than the {MAX_IMAGE_PIXELS:,} a preview decodes; it is not read."
        ) from None
    except Exception as exc:  # Pillow raises many kinds for damaged files
        raise PreviewError(
            f"{relative} is not a readable image ({exc.__class__.__name__}).",
            hint="It may be damaged or not what its name says; download the tag again with overwrite=true.",
        ) from None
    copy.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    out = io.BytesIO()
    if fmt == "JPEG" or (copy.mode in ("RGB", "CMYK", "YCbCr") and fmt != "PNG"):
        copy.convert("RGB").save(out, "JPEG", quality=85)
        mime = "image/jpeg"
    else:
        if copy.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            copy = copy.convert("RGBA")
        copy.save(out, "PNG", optimize=True)
        mime = "image/png"
    info = ImageInfo(
        source_path=relative,
        format=fmt,
        width=width,
        height=height,
        shown_width=copy.width,
        shown_height=copy.height,
        shown_mime_type=mime,
        downscaled=(copy.width, copy.height) != (width, height),
    )
    return ImageData(out.getvalue(), mime), info


def _image_without_pillow(source: OpenedFile, relative: str) -> tuple[ImageData, ImageInfo]:
    size = source.size
    path = source.relative
    if size > MAX_IMAGE_BYTES or path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise PreviewError(
            f"{relative} cannot be shown: it needs downscaling, and Pillow is not installed.",
            hint="pip install pillow (a dependency of exofop-mcp) in the server's environment.",
        )
    mime = mime_type_of(path)
    data = source.head(MAX_IMAGE_BYTES + 1)
    info = ImageInfo(
        source_path=relative,
        format=path.suffix.lstrip(".").upper(),
        width=0,
        height=0,
        shown_width=0,
        shown_height=0,
        shown_mime_type=mime,
        downscaled=False,
    )
    return ImageData(data, mime), info


# -- tables ----------------------------------------------------------------------------------------


def _short(value: str) -> str:
    value = value.strip()
    return value if len(value) <= MAX_CELL_CHARS else value[: MAX_CELL_CHARS - 1] + "…"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _table(opened: OpenedFile, suffix: str) -> TableSummary:
    try:
        if suffix == ".ecsv":
            header, rows, fmt = _ecsv_rows(opened)
        else:
            header, rows, fmt = _delimited_rows(opened, suffix)
        return _summarize(header, rows, fmt)
    except (PreviewError, FileLimitError):
        raise
    except Exception as exc:
        raise PreviewError(f"{opened.name} could not be read as a table ({exc.__class__.__name__}: {exc}).") from None


def _ecsv_rows(opened: OpenedFile) -> tuple[list[str], Iterator[list[str]], str]:
    from astropy.table import Table

    if opened.size > MAX_ECSV_BYTES:  # astropy reads a file whole: a large one is read line by line
        return _delimited_rows(opened, ".ecsv")
    try:
        check_ecsv_header(Path(opened.name), MAX_TABLE_COLUMNS, opened.binary())
    except EcsvHeaderError as exc:
        raise PreviewError(f"{opened.name} is not a readable ECSV table: {exc}.") from None
    text = opened.read(MAX_ECSV_BYTES, what="an ECSV preview").decode("utf-8", "replace")
    table = Table.read(text.splitlines(), format="ascii.ecsv")  # lines, never a file name
    header = list(table.colnames)

    def rows() -> Iterator[list[str]]:
        for row in table:
            yield [str(row[name]) for name in header]

    return header, rows(), "ecsv"


def _delimited_rows(opened: OpenedFile, suffix: str) -> tuple[list[str], Iterator[list[str]], str]:
    decoded = (raw.decode("utf-8", "replace") for raw in opened.lines(max_line_bytes=MAX_LINE_BYTES))
    lines = (line for line in decoded if line.strip() and not line.lstrip().startswith("#"))
    first = next(lines, None)
    if first is None:
        raise PreviewError(f"{opened.name} holds no table rows.")
    if "\t" in first:
        delimiter, fmt = "\t", "tab"
    elif "," in first:
        delimiter, fmt = ",", "comma"
    else:
        delimiter, fmt = "", "whitespace"

    def split(line: str) -> list[str]:
        if not delimiter:
            return line.split()
        return next(csv.reader([line], delimiter=delimiter))

    raw_header = split(first.rstrip("\r\n"))
    if len(raw_header) > MAX_TABLE_COLUMNS:
        raise FileLimitError(
            f"{opened.name} has {len(raw_header):,} columns, more than the {MAX_TABLE_COLUMNS:,} a preview reads."
        )
    header = [name.strip() or ("row" if index == 0 else f"col{index}") for index, name in enumerate(raw_header)]

    def rows() -> Iterator[list[str]]:
        for line in lines:
            yield split(line.rstrip("\r\n"))

    return header, rows(), fmt


def _summarize(header: list[str], rows: Iterable[list[str]], fmt: str) -> TableSummary:
    width = len(header)
    shown = min(width, MAX_COLUMNS)
    lows: list[float | None] = [None] * shown
    highs: list[float | None] = [None] * shown
    empty = [0] * shown
    texts = [0] * shown
    numbers = [0] * shown
    examples: list[str | None] = [None] * shown
    dates = [0] * shown
    earliest: list[str | None] = [None] * shown
    latest: list[str | None] = [None] * shown
    first: list[list[str]] = []
    last: deque[list[str]] = deque(maxlen=EDGE_ROWS)
    count = 0
    for row in rows:
        count += 1
        if count % 1024 == 0:
            check_budget()
        cells = [_short(c) for c in row[:shown]]
        if len(first) < EDGE_ROWS:
            first.append(cells)
        else:
            last.append(cells)
        for index in range(shown):
            cell = row[index].strip() if index < len(row) else ""
            if not cell:
                empty[index] += 1
                continue
            value = _number(cell)
            if value is None:
                texts[index] += 1
                if examples[index] is None:
                    examples[index] = _short(cell)
                if _DATE.match(cell):
                    dates[index] += 1
                    day = cell[:19]
                    if earliest[index] is None or day < earliest[index]:  # type: ignore[operator]
                        earliest[index] = day
                    if latest[index] is None or day > latest[index]:  # type: ignore[operator]
                        latest[index] = day
                continue
            numbers[index] += 1
            low, high = lows[index], highs[index]
            lows[index] = value if low is None or value < low else low
            highs[index] = value if high is None or value > high else high
    columns = []
    for index in range(shown):
        is_number = numbers[index] > 0 and texts[index] == 0
        is_date = dates[index] > 0 and dates[index] == texts[index] and numbers[index] == 0
        columns.append(
            ColumnSummary(
                name=_short(header[index]),
                type="number" if is_number else "date" if is_date else "text",
                earliest=earliest[index] if is_date else None,
                latest=latest[index] if is_date else None,
                min=lows[index] if is_number else None,
                max=highs[index] if is_number else None,
                empty=empty[index] + (texts[index] if is_number else 0),
                example=None if is_number or is_date else examples[index],
            )
        )
    return TableSummary(
        format=fmt,
        rows=count,
        column_count=width,
        columns=columns,
        first_rows=first,
        last_rows=list(last),
    )


# -- FITS ------------------------------------------------------------------------------------------


def _card_value(value: Any) -> str | int | float | bool | None:
    if isinstance(value, bool | int | str):
        return value[:68] if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return None


def _fits(opened: OpenedFile) -> tuple[FitsSummary, list[str]]:
    path = opened.relative
    try:
        found = read_fits_headers(opened.binary(), MAX_HDUS)
    except FitsHeaderError as exc:
        raise PreviewError(
            f"{path.name} is not a readable FITS file: {exc}.",
            hint="It may be damaged or not what its name says; download the tag again with overwrite=true.",
        ) from None
    except FileLimitError as exc:
        raise FileLimitError(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise PreviewError(f"{path.name} could not be read ({exc.strerror or exc.__class__.__name__}).") from None
    hdus: list[HduSummary] = []
    for raw in found.hdus:
        limit = PRIMARY_CARDS if raw.index == 0 else EXTENSION_CARDS
        compressed = raw.kind == "CompImageHDU"
        cards: dict[str, str | int | float | bool] = {}
        for card in raw.header.cards:
            check_budget()
            key = card.keyword
            if key in _STRUCTURAL or key.startswith(("NAXIS", "TFORM", "TTYPE")) or key == "BITPIX":
                continue
            if compressed and (key in _COMPRESSION or key.startswith(_COMPRESSION_PREFIXES)):
                continue
            try:
                value = _card_value(card.value)
            except Exception:  # a card astropy cannot make sense of
                continue
            if value is None or key in cards:
                continue
            cards[key] = value
            if len(cards) >= limit:
                break
        hdus.append(
            HduSummary(
                index=raw.index,
                name=raw.name,
                type=raw.kind,
                shape=raw.shape,
                bitpix=raw.bitpix,
                card_count=len(raw.header),
                cards=cards,
                columns=raw.columns[:MAX_COLUMNS],
            )
        )
    return FitsSummary(hdu_count=len(hdus), hdus=hdus), found.notes


# -- text ------------------------------------------------------------------------------------------


def _looks_like_text(opened: OpenedFile) -> bool:
    head = opened.head(4096)
    if not head or b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the sample
    return True


def _text(opened: OpenedFile, offset: int, max_chars: int) -> TextPage:
    with io.TextIOWrapper(opened.binary(), encoding="utf-8", errors="replace", newline="") as f:
        skipped = 0
        while skipped < offset:
            check_budget()
            chunk = f.read(min(1 << 16, offset - skipped))
            if not chunk:
                break
            skipped += len(chunk)
        text = f.read(max_chars)
        more = bool(f.read(1))
    next_offset = skipped + len(text) if more else None
    return TextPage(text=text, offset=skipped, returned_chars=len(text), next_offset=next_offset)

"""The headers of a FITS file, read with every count and size bounded before it is used.

A FITS header is text the file's author wrote: ``TFIELDS = 999999999999``, ``ZNAXIS = 2000000000``
or gigabytes of garbage without an ``END`` card are all possible.  So the headers are read here
block by block (2880 bytes, 36 cards), each block checked to be header text, at most
:data:`MAX_HEADER_CARDS` cards per HDU and :data:`~exofop_mcp.previews.limits.MAX_HDUS` HDUs; the
structure cards (``BITPIX``, ``NAXIS``/``NAXISn``, ``ZNAXIS``/``ZNAXISn``, ``PCOUNT``, ``GCOUNT``,
``TFIELDS``) are checked against the FITS standard's ranges before anything counts with them; and
only then does :mod:`astropy.io.fits` parse the (bounded) header text for the cards' values.  No
data is read: an HDU's data is skipped by seeking (or, in a gzipped file, by reading at most
:data:`MAX_GZIP_SCAN_BYTES` decompressed bytes).
"""

from __future__ import annotations

import contextlib
import gzip
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from exofop_mcp.errors import FileLimitError
from exofop_mcp.file_work import check_budget

BLOCK = 2880
CARD = 80
#: Cards one HDU's header may have before the reading stops (10,000 cards: 800 kB; real headers have hundreds).
MAX_HEADER_CARDS = 10_000
#: The FITS standard's limits for NAXIS, ZNAXIS and TFIELDS.
MAX_AXES = 999
MAX_FIELDS = 999
#: The largest axis length, PCOUNT and GCOUNT taken at face value (no real file comes near).
MAX_AXIS_LENGTH = 2**31 - 1
MAX_PCOUNT = 2**40
MAX_GCOUNT = 2**31 - 1
VALID_BITPIX = frozenset({8, 16, 32, 64, -32, -64})
#: Decompressed bytes a gzipped FITS file is read through to find its HDUs.
MAX_GZIP_SCAN_BYTES = 256 * 2**20
_SKIP_CHUNK = 2**20
#: Bytes of a header card that are not FITS header text (ASCII 32-126).
_PRINTABLE = bytes(range(32, 127))


class FitsHeaderError(ValueError):
    """Raised inside this module for a file that is not FITS; the preview words it for the user."""


@dataclass
class RawHdu:
    """One HDU as its header says: where it starts, its header text and the structure it declares."""

    index: int
    header: Any  # astropy.io.fits.Header
    kind: str
    name: str
    shape: list[int]
    bitpix: int | None
    columns: list[str] = field(default_factory=list)


@dataclass
class FitsHeaders:
    hdus: list[RawHdu]
    notes: list[str] = field(default_factory=list)


def _read(stream: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _header_text(stream: IO[bytes], index: int) -> str | None:
    """The header of the HDU starting here, up to and with its END card; ``None`` at the end of the file."""
    cards: list[bytes] = []
    while True:
        check_budget()
        block = _read(stream, BLOCK)
        if not block:
            if not cards:
                return None
            raise FitsHeaderError(f"the header of HDU {index} ends without an END card (the file is cut short)")
        if len(block) < BLOCK:
            if not cards and not block.strip(b"\0 "):
                return None  # padding at the end of a file
            raise FitsHeaderError(f"HDU {index} is cut short in its header")
        if block.translate(None, _PRINTABLE):
            if index > 0 and not cards and not block.strip(b"\0"):
                return None  # zeros after the last HDU
            raise FitsHeaderError(f"the header of HDU {index} holds bytes that are not FITS header text")
        for start in range(0, BLOCK, CARD):
            card = block[start : start + CARD]
            if card[:8] == b"END     ":
                return b"".join(cards).decode("ascii")
            cards.append(card)
        if len(cards) > MAX_HEADER_CARDS:
            raise FileLimitError(
                f"the header of HDU {index} runs past {MAX_HEADER_CARDS:,} cards without an END card; "
                "the file is damaged or not FITS, and is not read further."
            )


def _int(header: Any, key: str, index: int, low: int, high: int, default: int | None = None) -> int:
    """The integer card ``key``, refused unless ``low <= value <= high`` (before anything counts with it)."""
    if key not in header:
        if default is None:
            raise FitsHeaderError(f"HDU {index} has no {key} card")
        return default
    try:
        value = header[key]
    except Exception:
        raise FitsHeaderError(f"the {key} card of HDU {index} cannot be read") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FitsHeaderError(f"{key} of HDU {index} is {str(value)[:40]!r}, not an integer")
    if not low <= value <= high:
        raise FileLimitError(
            f"{key} = {value} in HDU {index} is outside {low}..{high:,}: the header is damaged or hostile, "
            "and the file is not read further."
        )
    return value


def _bitpix(header: Any, key: str, index: int) -> int:
    value = _int(header, key, index, -64, 64)
    if value not in VALID_BITPIX:
        raise FitsHeaderError(f"{key} = {value} in HDU {index} is not a FITS pixel type (8, 16, 32, 64, -32, -64)")
    return value


def _axes(header: Any, prefix: str, index: int) -> list[int]:
    """``prefixN`` lengths from the first axis to the last (FITS order), N bounded by the standard."""
    count = _int(header, prefix, index, 0, MAX_AXES)
    return [_int(header, f"{prefix}{axis}", index, 0, MAX_AXIS_LENGTH, default=0) for axis in range(1, count + 1)]


def _text_card(header: Any, key: str) -> str:
    try:
        value = header.get(key, "")
    except Exception:
        return ""
    return value.strip()[:68] if isinstance(value, str) else ""


def _describe(header: Any, index: int) -> tuple[RawHdu, int]:
    """The HDU the header declares, and the bytes of data that follow it (padded to whole blocks)."""
    bitpix = _bitpix(header, "BITPIX", index)
    axes = _axes(header, "NAXIS", index)
    xtension = _text_card(header, "XTENSION").upper() if index > 0 or "SIMPLE" not in header else ""
    pcount = _int(header, "PCOUNT", index, 0, MAX_PCOUNT, default=0)
    gcount = _int(header, "GCOUNT", index, 1, MAX_GCOUNT, default=1)
    groups = not xtension and header.get("GROUPS") is True and axes[:1] == [0]
    columns: list[str] = []
    shape = list(reversed(axes))
    shown_bitpix: int | None = bitpix
    name = _text_card(header, "EXTNAME")
    if not xtension:
        kind = "GroupsHDU" if groups else "PrimaryHDU"
        name = name or "PRIMARY"
    elif xtension == "IMAGE":
        kind = "ImageHDU"
    elif xtension in ("BINTABLE", "TABLE"):
        fields = _int(header, "TFIELDS", index, 0, MAX_FIELDS)
        if xtension == "BINTABLE" and header.get("ZIMAGE") is True:
            kind = "CompImageHDU"
            name = name or "COMPRESSED_IMAGE"
            shape = list(reversed(_axes(header, "ZNAXIS", index)))
            shown_bitpix = _bitpix(header, "ZBITPIX", index)
        else:
            kind = "BinTableHDU" if xtension == "BINTABLE" else "TableHDU"
            columns = [_text_card(header, f"TTYPE{i}") for i in range(1, fields + 1) if f"TTYPE{i}" in header]
    else:
        kind = "NonstandardExtHDU"
    elements = math.prod(axes[1:] if groups else axes) if axes else 0
    if xtension or groups:
        elements = gcount * (pcount + elements)
    size = elements * abs(bitpix) // 8
    raw = RawHdu(index, header, kind, name, shape, shown_bitpix, columns)
    return raw, size + (-size) % BLOCK


def _skip(stream: IO[bytes], size: int, seekable: bool, scanned: list[int]) -> bool:
    """Skip an HDU's data; false when the file ends first or a gzipped file's scan budget is spent."""
    if size == 0:
        return True
    if seekable:
        position = stream.tell() + size
        end = stream.seek(0, 2)
        if position > end:
            return False
        stream.seek(position)
        return True
    while size > 0:
        check_budget()
        if scanned[0] >= MAX_GZIP_SCAN_BYTES:
            return False
        chunk = stream.read(min(_SKIP_CHUNK, size))
        if not chunk:
            return False
        size -= len(chunk)
        scanned[0] += len(chunk)
    return True


def read_fits_headers(source: Path | IO[bytes], max_hdus: int) -> FitsHeaders:
    """The first ``max_hdus`` HDUs of a FITS file (plain or gzipped), headers only.

    ``source``: a path, or a seekable binary file already opened (a preview reads the descriptor it
    opened inside the sandbox, :meth:`exofop_mcp.sandbox_files.OpenedFile.binary`)."""
    from astropy.io import fits

    with source.open("rb") if isinstance(source, Path) else contextlib.nullcontext(source) as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw  # type: ignore[assignment]
        hdus: list[RawHdu] = []
        notes: list[str] = []
        scanned = [0]
        while True:
            index = len(hdus)
            try:
                text = _header_text(stream, index)
            except (OSError, EOFError) as exc:  # a damaged gzip stream
                raise FitsHeaderError(f"the file cannot be decompressed ({exc.__class__.__name__})") from None
            except FitsHeaderError as exc:
                if index == 0:
                    raise
                notes.append(f"What follows HDU {index - 1} is not a FITS header ({exc}); it is left out.")
                break
            if text is None:
                break
            if index >= max_hdus:
                notes.append(f"More HDUs follow; only the first {max_hdus} are summarized.")
                break
            try:
                with warnings.catch_warnings(action="ignore"):
                    header = fits.Header.fromstring(text)
            except Exception as exc:
                reason = exc.__class__.__name__
                raise FitsHeaderError(f"the header of HDU {index} cannot be parsed ({reason})") from None
            hdu, size = _describe(header, index)
            hdus.append(hdu)
            try:
                if not _skip(stream, size, not gzipped, scanned):
                    if gzipped and scanned[0] >= MAX_GZIP_SCAN_BYTES:
                        notes.append(
                            f"Only the HDUs within the first {MAX_GZIP_SCAN_BYTES // 2**20} MiB of the "
                            "decompressed file are summarized."
                        )
                    else:
                        notes.append(f"The data of HDU {index} runs past the end of the file (cut short?).")
                    break
            except (OSError, EOFError) as exc:
                raise FitsHeaderError(f"the file cannot be decompressed ({exc.__class__.__name__})") from None
        if not hdus:
            raise FitsHeaderError("the file holds no FITS header")
        return FitsHeaders(hdus, notes)

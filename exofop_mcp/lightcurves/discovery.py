"""Finding the measurement tables of a tag: its files, subfolders and zips inside it; sidecars left alone.

Only files the manifest lists for the tag are read, each checked to be inside the system directory
(no link out).  Zips inside a tag are opened with Python's ``zipfile`` under the same rules as tag
archives: no absolute or ``..`` member names, no links, bounded member sizes and compression
ratios, and at most two levels of nesting.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from exofop_mcp.lightcurves.reports import Refusal

TABLE_SUFFIXES = {".tbl", ".txt", ".csv", ".xls", ".xlsx", ".dat", ".tsv", ".dsv", ".lc", ".phot", ".ascii", ""}
SIDECAR_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".pdf",
    ".bmp",
    ".tif",
    ".tiff",
    ".svg",
    ".eps",
    ".ps",
    ".fits",
    ".fit",
    ".fts",
    ".fz",
    ".gz",
    ".plotcfg",
    ".radec",
    ".apertures",
    ".aper",
    ".reg",
    ".cfg",
    ".ini",
    ".doc",
    ".docx",
    ".odt",
    ".ppt",
    ".pptx",
    ".log",
    ".json",
    ".xml",
    ".html",
    ".htm",
    ".md",
    ".py",
    ".ecsv",
}
SIDECAR_WORDS = ("notes", "readme", "neb-table", "nebcheck", "neb_table", "dmagrms", "plotcfg", "apertures")
MAX_MEMBER_BYTES = 256 << 20
#: The largest text table read (a real AstroImageJ table is a few MB); larger ones are refused unread.
MAX_TABLE_BYTES = 64 << 20
MAX_RATIO = 200
MAX_MEMBERS = 5000
MAX_DEPTH = 2


@dataclass
class Candidate:
    """One file that may hold a light curve (``key`` is unique within the system directory)."""

    key: str  # "time_series/18598/a.tbl" or "time_series/18598/b.zip!sub/c.tbl"
    name: str  # the file's own name, for the naming convention
    read: Callable[[], bytes]
    refusal: Refusal | None = None  # set when the file cannot even be read (an unsafe member, a broken zip)


def is_sidecar(name: str) -> bool:
    lower = name.lower()
    base = PurePosixPath(lower).name
    suffix = PurePosixPath(base).suffix
    if any(word in base for word in SIDECAR_WORDS):
        return True
    if suffix in SIDECAR_SUFFIXES:
        return True
    return suffix not in TABLE_SUFFIXES and suffix != ".zip"


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        return "its name points outside the archive"
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        return "it is a symbolic link"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"it is larger than {MAX_MEMBER_BYTES >> 20} MiB"
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
        return "its compression ratio is that of a zip bomb"
    return None


def zip_candidates(key: str, data: bytes, depth: int = 1) -> tuple[list[Candidate], int]:
    """Candidates inside a zip (recursively) and the number of sidecars in it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [
            Candidate(key, key.rsplit("!", 1)[-1], lambda: b"", Refusal("unreadable_zip", f"a damaged zip ({exc})."))
        ], 0
    if len(members) > MAX_MEMBERS:
        return [Candidate(key, key, lambda: b"", Refusal("unsafe_zip", f"more than {MAX_MEMBERS} entries."))], 0
    found: list[Candidate] = []
    sidecars = 0
    for info in members:
        if info.is_dir():
            continue
        member_key = f"{key}!{info.filename}"
        name = PurePosixPath(info.filename).name
        problem = _unsafe_member(info)
        if problem:
            found.append(
                Candidate(member_key, name, lambda: b"", Refusal("unsafe_zip_member", f"not read: {problem}."))
            )
            continue
        if is_sidecar(name):
            sidecars += 1
            continue
        if not name.lower().endswith(".zip") and info.file_size > MAX_TABLE_BYTES:
            found.append(
                Candidate(
                    member_key,
                    name,
                    lambda: b"",
                    Refusal("over_limit", f"{info.file_size:,} bytes, more than a table may have: not read."),
                )
            )
            continue

        def read(info: zipfile.ZipInfo = info) -> bytes:
            try:
                return archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise Refusal("unreadable_zip", f"the member could not be read ({exc}).") from None

        if name.lower().endswith(".zip"):
            if depth >= MAX_DEPTH:
                found.append(
                    Candidate(
                        member_key,
                        name,
                        lambda: b"",
                        Refusal("nested_too_deep", "a zip inside a zip inside a zip: not opened."),
                    )
                )
                continue
            try:
                inner, inner_sidecars = zip_candidates(member_key, read(), depth + 1)
            except Refusal as refusal:
                found.append(Candidate(member_key, name, lambda: b"", refusal))
                continue
            found += inner
            sidecars += inner_sidecars
            continue
        found.append(Candidate(member_key, name, read))
    return found, sidecars

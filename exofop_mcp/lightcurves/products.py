"""What earlier extractions recorded, and the repeat run answered from those records alone.

The manifest's ``products`` hold, per source file, its size and modification time when it was read
and the entries it gave.  A tag whose every source file still has its recorded size and time, and
whose recorded light curves (and plots, when plots are wanted) are all on disk at their sizes, is
answered from the records: one ``lstat`` per source file, one ``stat`` per product, no file read,
and neither numpy nor the time conversion nor matplotlib imported.  Anything else (a changed,
new, linked or vanished file) goes to :func:`extraction.extract_tag`, which decides file by file.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Final

from exofop_mcp.downloads.manifest import Containment, Manifest, ManifestFile, ManifestProduct, ManifestTag
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.lightcurves.discovery import is_sidecar
from exofop_mcp.lightcurves.reports import LightCurveEntry

TIME_SERIES: Final = "time_series"


@dataclass
class TagOutcome:
    tag: int
    entries: list[LightCurveEntry]
    products: dict[str, ManifestProduct]
    removed: list[str]  # product keys that no longer exist
    sidecars: int


def time_series_tags(directory: SystemDirectory, manifest: Manifest | None) -> list[int]:
    """Every downloaded time-series tag of the manifest whose files are all there at their sizes, in order.

    A file edited in place since its download (same size, other bytes) is still read: its light
    curve carries a warning, and the product is keyed by the file's own hash.
    """
    if manifest is None:
        return []
    return sorted(
        entry.tag
        for entry in manifest.tags.values()
        if entry.kind == TIME_SERIES and entry.status == "downloaded" and _files_there(directory, entry)
    )


def _files_there(directory: SystemDirectory, entry: ManifestTag) -> bool:
    return bool(entry.files) and all_at_their_sizes(directory, entry.files)


def plain_relative(path: str) -> bool:
    """A path read from the manifest that names something below the system directory as written:
    relative, no ``..``, no NUL or backslash (the manifest is untrusted disk state)."""
    if not path or path.startswith("/") or "\0" in path or "\\" in path:
        return False
    return ".." not in path.split("/")


def all_at_their_sizes(directory: SystemDirectory, files: list[ManifestFile], *, products: bool = False) -> bool:
    """Every recorded file is there at its size.  Products (light curves, plots) must be plain files,
    not links (``lstat``); a downloaded file may sit below a folder linked inside the sandbox.  A path
    that is not plainly below the system directory never counts."""
    for f in files:
        if not plain_relative(f.path):
            return False
        try:
            path = directory.path / f.path
            st = os.lstat(path) if products else path.stat()
            if st.st_size != f.size or (products and not stat.S_ISREG(st.st_mode)):
                return False
        except OSError:
            return False
    return True


def replay(product: ManifestProduct) -> list[LightCurveEntry]:
    """The entries a product recorded, light curves marked ``already_extracted``."""
    entries = []
    for data in product.entries:
        entry = LightCurveEntry.model_validate(data)
        if entry.status == "extracted":
            entry.status = "already_extracted"
        entries.append(entry)
    return entries


def reusable(directory: SystemDirectory, product: ManifestProduct, *, plots: bool) -> bool:
    """The recorded products are all on disk (with their plots, when plots are wanted) and have their fits."""
    if plots and any(e.get("status") == "extracted" and not e.get("png") for e in product.entries):
        return False
    if any(e.get("status") == "extracted" and not e.get("fit") for e in product.entries):
        return False  # recorded before light curves had transit fits: extracted again, with one
    return all_at_their_sizes(directory, product.files, products=True)


def tag_candidates(manifest: Manifest, tag: int) -> tuple[list[str], int]:
    """The tag's files that may hold a table (sorted) and the number of sidecars beside them."""
    entry = manifest.entry(tag)
    paths = [f.path for f in entry.files] if entry else []
    candidates = sorted(p for p in paths if not is_sidecar(p))
    return candidates, len(paths) - len(candidates)


def replay_tag(
    directory: SystemDirectory, manifest: Manifest, tag: int, *, plots: bool, containment: Containment
) -> TagOutcome | None:
    """The tag's outcome from its records when nothing changed since they were made; else ``None``."""
    candidates, sidecars = tag_candidates(manifest, tag)
    known = manifest.products or {}
    if any(p.tag == tag and key not in candidates for key, p in known.items()):
        return None  # a file gone from the tag: its light curves are removed by the full path
    entries: list[LightCurveEntry] = []
    for rel in candidates:
        previous = known.get(rel)
        if previous is None or not plain_relative(rel):
            return None
        try:
            if stat.S_ISLNK(os.lstat(directory.path / rel).st_mode):
                return None  # refused by the full path
            st = containment.stat(rel)
        except OSError:
            return None
        if (
            st is None
            or st.st_size != previous.source_size
            or st.st_mtime_ns != previous.source_mtime_ns
            or not reusable(directory, previous, plots=plots)
        ):
            return None
        entries += replay(previous)
    return TagOutcome(tag, entries, {}, [], sidecars)


def replay_tags(
    directory: SystemDirectory, manifest: Manifest, tags: list[int], *, plots: bool
) -> dict[int, TagOutcome]:
    """The outcomes of the tags that can be answered from their records (see :func:`replay_tag`)."""
    containment = Containment(directory)
    outcomes = {}
    for tag in tags:
        outcome = replay_tag(directory, manifest, tag, plots=plots, containment=containment)
        if outcome is not None:
            outcomes[tag] = outcome
    return outcomes

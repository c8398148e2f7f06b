"""``manifest.json``: the record of every tag downloaded into a system directory.

The manifest is the commit point of a download: a tag counts as present only
when the manifest says ``downloaded`` *and* its files are on disk with the
recorded sizes.  It is rewritten atomically, under the system's lock.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from exofop_mcp.atomic_files import atomic_write_text
from exofop_mcp.downloads.sandbox import DownloadKind, SystemDirectory

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1


class ManifestFile(BaseModel):
    path: str = Field(description="relative to the system directory")
    size: int


class ManifestTag(BaseModel):
    tag: int
    kind: DownloadKind
    status: str
    source_url: str
    sha256: str | None = None
    size: int | None = Field(None, description="bytes of the archive as downloaded")
    directory: str | None = Field(None, description="where the files are, relative to the system directory")
    archive: str | None = Field(None, description="the kept archive, relative to the system directory")
    files: list[ManifestFile] = Field(default_factory=list)
    attempts: int = 0
    message: str | None = None
    time: datetime


class ManifestProduct(BaseModel):
    """Files made from one downloaded file of a tag (light curves extracted from a measurement table)."""

    tag: int
    source: str = Field(description="the downloaded file, relative to the system directory")
    source_sha256: str
    source_size: int
    source_mtime_ns: int
    files: list[ManifestFile] = Field(default_factory=list, description="products, relative to the system directory")
    entries: list[dict[str, Any]] = Field(default_factory=list, description="what the extraction reported")
    time: datetime


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    system: str
    tic_id: int
    updated: datetime
    tags: dict[str, ManifestTag] = Field(default_factory=dict)
    products: dict[str, ManifestProduct] | None = Field(
        None, description="derived files by source file (relative path), e.g. extracted light curves"
    )

    def entry(self, tag: int) -> ManifestTag | None:
        return self.tags.get(str(tag))


# Parsed manifests by path, with the (inode, mtime, size) they were parsed from: asking whether
# each of hundreds of tags is present must not re-parse the same file hundreds of times.
_parsed: dict[Path, tuple[tuple[int, int, int], Manifest]] = {}


def load_manifest(system_dir: SystemDirectory, *, for_update: bool = False) -> Manifest | None:
    """The system's manifest; ``None`` if there is none.  A damaged one is set aside, not trusted.

    The result is shared with other readers until the file changes: treat it as read-only, or ask
    ``for_update=True`` for a private copy to change and save.
    """
    path = system_dir.manifest_path
    try:
        st = path.stat()
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = _parsed.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1].model_copy(deep=True) if for_update else cached[1]
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        _parsed.pop(path, None)
        return None
    try:
        manifest = Manifest.model_validate_json(text)
    except ValidationError as exc:
        aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
        path.replace(aside)
        log.warning("manifest %s was unreadable (%s); moved aside to %s", path, exc.error_count(), aside)
        return None
    _parsed[path] = (signature, manifest)
    return manifest.model_copy(deep=True) if for_update else manifest


def save_manifest(system_dir: SystemDirectory, manifest: Manifest) -> None:
    manifest.updated = datetime.now(UTC)
    path = system_dir.manifest_path
    atomic_write_text(path, manifest.model_dump_json(indent=2, exclude_none=True) + "\n")
    st = path.stat()
    _parsed[path] = ((st.st_ino, st.st_mtime_ns, st.st_size), manifest.model_copy(deep=True))


def is_complete(system_dir: SystemDirectory, entry: ManifestTag) -> bool:
    """True when ``entry`` is a finished download whose files are all on disk with their recorded sizes."""
    if entry.status != "downloaded" or (not entry.files and not entry.archive):
        return False
    for f in entry.files:
        p = system_dir.path / f.path
        try:
            if not system_dir.contains(p) or p.stat().st_size != f.size:
                return False
        except OSError:
            return False
    return True


def now() -> datetime:
    return datetime.now(UTC)


def list_manifests(root: Path) -> list[Path]:
    """Every ``<root>/<system>/manifest.json``."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/manifest.json") if p.is_file())

"""Checks of the download sandbox shared by the stress tests: the disk, the manifests and the reports agree.

``assert_sandbox_consistent`` is the strict one: every system directory's manifest is valid, every
``downloaded`` entry is complete, and the files under the tag directories and ``archives/`` are
exactly the files the manifests list (nothing extra, nothing missing, nothing temporary, no links).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from exofop_mcp.atomic_files import is_temp_name
from exofop_mcp.downloads.file_roles import first_wanted
from exofop_mcp.downloads.manifest import Manifest, ManifestTag, is_complete
from exofop_mcp.downloads.sandbox import CANONICAL_NAME, DOWNLOAD_KINDS, SystemDirectory

ARCHIVE_PAGE = "download_tag_files_zip.php"
#: Files a system directory holds besides the tags' files.
BOOKKEEPING = {"manifest.json", ".lock"}


def temp_leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if is_temp_name(p.name))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under ``root`` (not following links): kind, size and modification time."""
    found: dict[str, tuple[str, int, int]] = {}
    if not root.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            found[path.relative_to(root).as_posix()] = (kind, 0 if kind == "dir" else st.st_size, st.st_mtime_ns)
    return found


def load_manifests(data_dir: Path) -> dict[str, Manifest]:
    """Every system's manifest, parsed strictly (a manifest that is not valid JSON fails the test)."""
    manifests = {}
    for path in sorted(data_dir.glob("*/manifest.json")):
        text = path.read_text(encoding="utf-8")
        json.loads(text)
        manifests[path.parent.name] = Manifest.model_validate_json(text)
    return manifests


def assert_sandbox_consistent(data_dir: Path) -> dict[str, Manifest]:
    """The sandbox holds exactly what its manifests say; returns the manifests by system."""
    root = data_dir.resolve()
    assert temp_leftovers(root) == [], "temporary files were left behind"
    links = [p for p in root.rglob("*") if p.is_symlink()]
    assert links == [], f"links in the sandbox: {links}"
    stray = [p for p in root.iterdir() if not (p.is_dir() and CANONICAL_NAME.match(p.name))]
    assert stray == [], f"entries in the sandbox root that are not system directories: {stray}"
    manifests = load_manifests(root)
    for system_path in root.iterdir():
        name = system_path.name
        assert name in manifests, f"{name} has no manifest"
        manifest = manifests[name]
        assert manifest.system == name
        directory = SystemDirectory(root, name)
        listed: set[str] = set()
        for key, entry in manifest.tags.items():
            assert key == str(entry.tag)
            if entry.status == "downloaded":
                assert is_complete(directory, entry), f"{name} tag {entry.tag} is recorded but incomplete"
                listed.update(f.path for f in entry.files)
                if entry.archive:
                    listed.add(entry.archive)
            else:
                assert entry.files == [] and entry.archive is None, f"{name} tag {entry.tag}: {entry.status} with files"
                assert entry.message, f"{name} tag {entry.tag}: {entry.status} without a message"
        on_disk = set()
        for sub in (*DOWNLOAD_KINDS, "archives"):
            base = system_path / sub
            if base.exists():
                on_disk.update(p.relative_to(system_path).as_posix() for p in base.rglob("*") if p.is_file())
        assert on_disk == listed, (
            f"{name}: files on disk and in the manifest differ: "
            f"unlisted {sorted(on_disk - listed)[:5]}, missing {sorted(listed - on_disk)[:5]}"
        )
        others = {p.name for p in system_path.iterdir()} - {*DOWNLOAD_KINDS, "archives", "tables", *BOOKKEEPING}
        assert others == set(), f"{name}: unexpected entries {others}"
    return manifests


def assert_result_matches_entry(result: Mapping[str, Any], entry: ManifestTag) -> None:
    """A tag's report (``TagResult`` as a dict) and its manifest entry say the same thing."""
    files = [f.path for f in entry.files]
    assert result["kind"] == entry.kind
    assert result.get("sha256") == entry.sha256
    assert result["bytes"] == (entry.size or 0)
    assert result.get("directory") == entry.directory
    assert result["files"] == first_wanted(files, str, entry.kind)[:20]  # the ones a reader wants first
    assert result["file_count"] == len(files)


def assert_extracted_match_archive(system_dir: Path, entry: ManifestTag) -> None:
    """The kept archive hashes to the recorded SHA-256, and each extracted file matches its member."""
    assert entry.archive and entry.directory
    archive = system_dir / entry.archive
    assert archive.stat().st_size == entry.size
    assert sha256_of(archive) == entry.sha256
    with zipfile.ZipFile(archive) as zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        tops = {i.filename.split("/")[0] for i in members}
        # ExoFOP wraps a tag's files in one folder, which the download flattens away
        top = f"{tops.pop()}/" if len(tops) == 1 and all("/" in i.filename for i in members) else ""
        expected = {i.filename.removeprefix(top): i for i in members}
        on_disk = {
            p.relative_to(system_dir / entry.directory).as_posix(): p
            for p in (system_dir / entry.directory).rglob("*")
            if p.is_file()
        }
        assert set(on_disk) == set(expected)
        for rel, info in expected.items():
            data = on_disk[rel].read_bytes()
            assert len(data) == info.file_size
            assert zlib.crc32(data) == info.CRC


def archive_requests(records: Iterable[Any], since: float = 0.0) -> dict[int, list[Any]]:
    """The replica's archive requests received at or after ``since``, per tag, in order."""
    by_tag: dict[int, list[Any]] = {}
    for record in sorted(records, key=lambda r: r.received):
        if record.path.endswith(ARCHIVE_PAGE) and record.received >= since:
            by_tag.setdefault(int(record.query["tag"]), []).append(record)
    return by_tag

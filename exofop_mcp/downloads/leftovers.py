"""Temporary files left by a download that was killed: removed when no live process holds them.

Every temporary file or folder the downloader writes is written under a lock of
the system's ``.lock`` file (:mod:`exofop_mcp.downloads.locks`): an archive
being fetched (``archives/.<tag>.zip.<random>.part``) and a tag being unpacked
(``<kind>/.<tag>.<random>.partdir``) under the tag's lock, the manifest and the
tables (``.manifest.json.<random>.part``, ``tables/.<kind>.csv.<random>.part``)
under lock 0.  A leftover whose lock can be taken at once belongs to no live
process (one killed with ``kill -9``, say) and is removed; one whose lock is held
is being written right now and stays.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from exofop_mcp.atomic_files import TEMP_DIR_SUFFIX, is_temp_name
from exofop_mcp.downloads.locks import held_if_free
from exofop_mcp.downloads.sandbox import CANONICAL_NAME, DOWNLOAD_KINDS, SandboxLinkError, SystemDirectory

log = logging.getLogger(__name__)


def _lock_index(directory: SystemDirectory, folder: Path, name: str) -> int | None:
    stem = name[1:].rsplit(".", 2)[0]
    if folder == directory.archives_dir and stem.endswith(".zip"):
        stem = stem[: -len(".zip")]
    elif folder in (directory.path, directory.tables_dir):
        return 0
    elif folder not in [directory.kind_dir(k) for k in DOWNLOAD_KINDS]:
        return None
    return int(stem) if stem.isascii() and stem.isdigit() and 0 < int(stem) <= 10**10 else None


def remove_abandoned_temp_files(directory: SystemDirectory) -> list[Path]:
    """Remove the temporary files of ``directory`` that no live process holds; return them."""
    try:
        directory.check_links()
    except SandboxLinkError:
        return []  # nothing is touched through a link leading outside the sandbox
    folders = [directory.path, directory.archives_dir, directory.tables_dir]
    folders += [directory.kind_dir(k) for k in DOWNLOAD_KINDS]
    removed: list[Path] = []
    for folder in folders:
        try:
            entries = [e for e in os.scandir(folder) if is_temp_name(e.name) and not e.is_symlink()]
        except OSError:
            continue
        for entry in entries:
            index = _lock_index(directory, folder, entry.name)
            if index is None:
                continue
            path = Path(entry.path)
            try:
                with held_if_free(directory.lock_file, index) as free:
                    if not free:
                        continue  # being written by a live download
                    if entry.name.endswith(TEMP_DIR_SUFFIX) and entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(path)
                    elif entry.is_file(follow_symlinks=False):
                        path.unlink()
                    else:
                        continue
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("could not remove the leftover %s: %s", path, exc)
                continue
            removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted download in %s", len(removed), directory.path)
    return sorted(removed)


def remove_abandoned_everywhere(root: Path) -> list[Path]:
    """:func:`remove_abandoned_temp_files` for every system directory under the sandbox ``root``."""
    removed: list[Path] = []
    try:
        names = sorted(e.name for e in os.scandir(root) if CANONICAL_NAME.match(e.name))
    except OSError:
        return removed
    for name in names:
        removed += remove_abandoned_temp_files(SystemDirectory(root, name))
    return removed

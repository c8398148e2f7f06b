"""The download sandbox: where each system's files live under ``EXOFOP_MCP_DATA_DIR``.

::

    <data dir>/<canonical system>/
        time_series/<tag>/...      extracted files of each tag, under the kind whose table lists it
        spectroscopy/<tag>/...
        imaging/<tag>/...
        other/<tag>/...            tags not in any table of the system
        archives/<tag>.zip         only when kept (the folder itself may be empty)
        tables/<kind>.csv          the observation table the tags came from
        light_curves/<tag>/...     standardised light curves (.ecsv) and their plots (.png)
        manifest.json              every tag: kind, status, source URL, sha256, size, files, time
        .lock                      empty; its byte-range locks keep two downloads of one tag apart

Every path is built from validated parts (a canonical name ``TOI-<n>`` or
``TIC-<n>``, a known kind, a positive tag number), so no input can steer a
write outside the system directory.  Local state cannot either: before
writing, every folder and file the server writes into is checked with
:meth:`SystemDirectory.check_links`, and a symbolic link that leads outside
the sandbox is refused (one that stays inside it is followed).

That path check guards the download's own writer, which checks its folders once per call.  Every
other reader and writer (previews, resources, light-curve extraction, manifests, and any later
writer) goes through :mod:`exofop_mcp.sandbox_files` instead, which opens folder descriptors one by
one and checks what it opened; both refuse with a :class:`~exofop_mcp.errors.SandboxEscapeError`
(``outside_sandbox``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Literal

from exofop_mcp.errors import ExofopMcpError, InvalidRequestError, SandboxEscapeError

DownloadKind = Literal["time_series", "spectroscopy", "imaging", "other"]
DOWNLOAD_KINDS: tuple[DownloadKind, ...] = ("time_series", "spectroscopy", "imaging", "other")
CANONICAL_NAME = re.compile(r"^(?:TOI|TIC)-[1-9][0-9]{0,9}$")
MANIFEST_NAME = "manifest.json"


class SandboxLinkError(SandboxEscapeError):
    """A symbolic link in the sandbox leads outside it: the server refuses to write through it."""

    code = "outside_sandbox"


class SandboxWriteError(ExofopMcpError):
    """Something the download needs could not be written in the sandbox."""

    code = "write_failed"


def write_failure(exc: BaseException, path: Path | None = None) -> str:
    """What could not be written, and why (``/.../tables could not be written: Permission denied.``)."""
    if isinstance(exc, ExofopMcpError):
        return str(exc)
    if isinstance(exc, OSError):
        where = path or (Path(exc.filename) if exc.filename else None)
        reason = exc.strerror or type(exc).__name__
        return f"{where} could not be written: {reason}." if where else f"a write failed: {reason}."
    return str(exc)


class SystemDirectory:
    """Paths of one system's directory in the sandbox."""

    def __init__(self, root: Path, canonical_name: str) -> None:
        if not CANONICAL_NAME.match(canonical_name):
            raise InvalidRequestError(f"{canonical_name!r} is not a canonical system name (TOI-<n> or TIC-<n>).")
        self.root = root.expanduser().resolve()
        self.name = canonical_name
        self.path = self.root / canonical_name

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    @property
    def archives_dir(self) -> Path:
        return self.path / "archives"

    @property
    def tables_dir(self) -> Path:
        return self.path / "tables"

    @property
    def light_curves_dir(self) -> Path:
        return self.path / "light_curves"

    @property
    def lock_file(self) -> Path:
        """One hidden file whose byte ranges lock the manifest (0) and each tag (its number)."""
        return self.path / ".lock"

    def kind_dir(self, kind: DownloadKind) -> Path:
        if kind not in DOWNLOAD_KINDS:
            raise InvalidRequestError(f"unknown download kind {kind!r}")
        return self.path / kind

    def tag_dir(self, kind: DownloadKind, tag: int) -> Path:
        return self.kind_dir(kind) / str(_tag(tag))

    def archive_path(self, tag: int) -> Path:
        return self.archives_dir / f"{_tag(tag)}.zip"

    def table_path(self, kind: DownloadKind) -> Path:
        return self.tables_dir / f"{kind}.csv"

    def lock_index(self, tag: int | None = None) -> int:
        """The lock number of a tag, or of the manifest (``None``)."""
        return 0 if tag is None else _tag(tag)

    def relative(self, path: Path) -> str:
        """``path`` relative to the system directory, with ``/`` separators."""
        return path.relative_to(self.path).as_posix()

    def relative_to_root(self, path: Path | None = None) -> str:
        return (path or self.path).relative_to(self.root).as_posix()

    def contains(self, path: Path) -> bool:
        """``path`` is inside the system directory (links followed on both sides)."""
        return path.resolve().is_relative_to(self.path.resolve())

    def written_paths(self) -> list[Path]:
        """The system directory and every folder or file of it that the server writes into."""
        return [
            self.path,
            self.manifest_path,
            self.lock_file,
            self.archives_dir,
            self.tables_dir,
            *(self.kind_dir(kind) for kind in DOWNLOAD_KINDS),
        ]

    def check_links(self, *paths: Path) -> None:
        """Refuse (:class:`SandboxLinkError`) when one of ``paths`` (default: :meth:`written_paths`) leads
        outside the sandbox through a symbolic link; links that stay inside the sandbox are fine.

        The sandbox root was resolved when this object was made, so a path below it whose folders and
        name are no links cannot lead outside: one ``lstat`` per folder tells, and only a path with a
        link on its way is resolved (repeated calls check a dozen paths each)."""
        seen: dict[Path, bool | None] = {}  # a folder or file below the root: a link?  None: missing
        for path in paths or tuple(self.written_paths()):
            if not _link_on_the_way(self.root, path, seen):  # missing (None), or no link on the way
                continue
            try:
                target = path.resolve()
            except (OSError, RuntimeError) as exc:  # a loop of links
                raise SandboxLinkError(
                    f"{path} cannot be followed ({exc}); nothing was written.",
                    hint="Remove that link (or replace it with a folder) and ask again.",
                ) from None
            if not target.is_relative_to(self.root):
                raise SandboxLinkError(
                    f"{path} is a link leading outside the download sandbox (to {target}); exofop-mcp writes "
                    f"only inside {self.root}, so nothing was written.",
                    hint="Remove that link (or make it point inside the sandbox) and ask again.",
                )


def _link_on_the_way(root: Path, path: Path, seen: dict[Path, bool | None]) -> bool | None:
    """Whether a symbolic link is among ``path`` and its folders below ``root`` (None: ``path`` is missing).

    A path not plainly below ``root`` as written (or with a ``..``) counts as one with a link, so that
    it is resolved and judged."""
    if not path.is_relative_to(root) or path == root or ".." in path.parts:
        return os.path.lexists(path) or None
    link = False
    current = path
    while current != root:
        if current not in seen:
            try:
                seen[current] = stat.S_ISLNK(os.lstat(current).st_mode)
            except FileNotFoundError:
                seen[current] = None
            except OSError:  # cannot tell: let the resolution judge
                seen[current] = True
        known = seen[current]
        if known is None:
            if current == path:
                return None
        elif known:
            link = True
        current = current.parent
    return link


def _tag(tag: int) -> int:
    if isinstance(tag, bool) or not isinstance(tag, int) or tag <= 0:
        raise InvalidRequestError(f"tags are positive whole numbers, got {tag!r}.")
    return tag

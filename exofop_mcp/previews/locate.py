"""Finding a downloaded file from a path relative to its system's directory, and nothing else.

A path is accepted only when it names an existing regular file that, after every link is
followed, still lies inside the system's directory of the sandbox. Absolute paths, ``..``,
backslashes, NUL bytes and links that lead out are refused, whatever their spelling.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path, PurePosixPath

from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError, InvalidRequestError

MAX_PATH_CHARS = 1000

#: MIME types for the files ExoFOP uploads carry, where :mod:`mimetypes` does not know them.
_MIME = {
    ".fits": "application/fits",
    ".fit": "application/fits",
    ".fts": "application/fits",
    ".fz": "application/fits",
    ".tbl": "text/tab-separated-values",
    ".ecsv": "text/x-ecsv",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".dat": "text/plain",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".md": "text/markdown",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".pdf": "application/pdf",
}


class SandboxFileNotFoundError(ExofopMcpError):
    """No such file in the system's directory."""

    code = "file_not_found"


class FileOutsideSandboxError(ExofopMcpError, ValueError):
    """A path that would lead outside the system's directory."""

    code = "outside_sandbox"


def mime_type_of(path: Path | str) -> str:
    suffix = PurePosixPath(str(path)).suffix.lower()
    return _MIME.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def check_relative_path(path: str) -> PurePosixPath:
    """``path`` as a clean relative path, or an error saying why it is refused."""
    if not path or not path.strip():
        raise InvalidRequestError("path is empty; give a file path as download results list it.")
    if len(path) > MAX_PATH_CHARS:
        raise InvalidRequestError(f"path is longer than {MAX_PATH_CHARS} characters.")
    if "\0" in path or any(ord(ch) < 32 for ch in path):
        raise FileOutsideSandboxError("path contains control characters; it is refused.")
    if "\\" in path:
        raise FileOutsideSandboxError(
            "path contains a backslash; use '/' between folders, relative to the system's directory."
        )
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("~") or (len(path) > 1 and path[1] == ":"):
        raise FileOutsideSandboxError(
            f"{path!r} is an absolute path; give it relative to the system's directory "
            "(e.g. 'time_series/18598/notes.txt'), as download results and list_downloads list files."
        )
    if ".." in pure.parts:
        raise FileOutsideSandboxError(f"{path!r} steps out with '..'; only files inside the system's directory.")
    parts = [p for p in pure.parts if p != "."]
    if not parts:
        raise InvalidRequestError("path names the system's directory itself; give a file inside it.")
    return PurePosixPath(*parts)


def locate_file(system: SystemDirectory, path: str) -> Path:
    """The real path of an existing regular file inside ``system``'s directory."""
    relative = check_relative_path(path)
    base = system.path.resolve()
    if not base.is_relative_to(system.root):
        raise FileOutsideSandboxError(f"The directory of {system.name} leads outside the sandbox; it is not read.")
    candidate = base / relative
    try:
        real = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise SandboxFileNotFoundError(
            f"No file {relative.as_posix()!r} in {system.name}'s directory.",
            hint=f"list_downloads(system='{system.name}') or the download results list the files on disk.",
        ) from None
    except (OSError, RuntimeError) as exc:  # a link loop, a name too long
        raise FileOutsideSandboxError(
            f"{relative.as_posix()!r} cannot be followed: {exc.__class__.__name__}."
        ) from None
    if not real.is_relative_to(base):
        raise FileOutsideSandboxError(
            f"{relative.as_posix()!r} is a link that leads outside {system.name}'s directory; it is not read."
        )
    if real.is_dir():
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in real.iterdir())[:20]
        raise InvalidRequestError(
            f"{relative.as_posix()!r} is a folder, not a file. It holds: {', '.join(entries) or 'nothing'}.",
            hint="Give the path of one file inside it.",
        )
    if not real.is_file():
        raise FileOutsideSandboxError(f"{relative.as_posix()!r} is not a regular file; it is not read.")
    return real


def read_bytes_limited(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a located file, opened without following a link swapped in meanwhile."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)

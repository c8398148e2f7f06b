"""Finding a downloaded file from a path relative to its system's directory, and nothing else.

A path is accepted only when it names an existing regular file (with one name: no hard link) that
is reached inside the system's directory of the sandbox, links that stay inside followed.  Absolute
paths, ``..``, backslashes, NUL bytes and links that lead out are refused, whatever their spelling,
and the file is opened before it is checked (:mod:`exofop_mcp.sandbox_files`), so nothing swapped in
meanwhile is read.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePath, PurePosixPath

from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError, InvalidRequestError, SandboxEscapeError, UnsafeFileError
from exofop_mcp.sandbox_files import NotAFileError, OpenedFile, open_inside

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


class FileOutsideSandboxError(SandboxEscapeError):
    """A path that would lead outside the system's directory."""

    code = "outside_sandbox"


def mime_type_of(path: PurePath | str) -> str:
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


def locate_file(system: SystemDirectory, path: str) -> OpenedFile:
    """The regular file ``path`` of ``system``'s directory, opened for reading (see :mod:`exofop_mcp.sandbox_files`).

    The file is opened first, walking folder descriptors with no link followed out of the system's
    directory, and then checked (a regular file with one name); read it only through the returned
    object, which the caller closes."""
    relative = check_relative_path(path)
    shown = relative.as_posix()
    try:
        return open_inside(system.path, relative, root=system.root, folders=True)
    except FileNotFoundError:
        raise SandboxFileNotFoundError(
            f"No file {shown!r} in {system.name}'s directory.",
            hint=f"list_downloads(system='{system.name}') or the download results list the files on disk.",
        ) from None
    except SandboxEscapeError:
        raise FileOutsideSandboxError(
            f"{shown!r} is a link that leads outside {system.name}'s directory; it is not read."
        ) from None
    except NotAFileError as exc:
        if exc.entries is None:
            raise UnsafeFileError(
                f"{shown!r} is not a regular file (a FIFO, device or socket); it is not read."
            ) from None
        raise InvalidRequestError(
            f"{shown!r} is a folder, not a file. It holds: {', '.join(exc.entries[:20]) or 'nothing'}.",
            hint="Give the path of one file inside it.",
        ) from None
    except UnsafeFileError as exc:
        raise UnsafeFileError(str(exc).replace(str(system.path) + "/", ""), hint=exc.hint) from None
    except OSError as exc:  # a link loop, a name too long, a file where a folder should be
        raise FileOutsideSandboxError(f"{shown!r} cannot be followed: {exc.strerror or type(exc).__name__}.") from None

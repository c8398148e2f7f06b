"""Walking a path one name at a time from an open folder, following no link by itself (see the package)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Self

from exofop_mcp.errors import SandboxEscapeError, UnsafeFileError

#: Links followed (inside the base folder) while opening one path, at most.
MAX_LINK_HOPS = 40

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
DIR_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_DIRECTORY | _O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC


class OpenDescriptor:
    """A descriptor this package opened (a file to read, a folder to write in): closed once, by ``with`` or
    :meth:`close`, or when the object is dropped."""

    fd: int

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


class NotAFileError(UnsafeFileError):
    """The path names a folder or a special file; ``entries`` lists a folder's first entries."""

    def __init__(self, message: str, *, hint: str | None = None, entries: list[str] | None = None) -> None:
        self.entries = entries
        super().__init__(message, hint=hint)


def names_of(relative: str | PurePosixPath, where: Path) -> list[str]:
    text = str(relative)
    if text.startswith("/") or "\0" in text:
        raise SandboxEscapeError(f"{text!r} is not a path inside {where}; it is not used.")
    return [part for part in text.split("/") if part not in ("", ".")]


def link_target(dir_fd: int, name: str) -> str | None:
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:  # not a link (EINVAL), or gone
        return None


def walk(start_fd: int, start: Path, parts: Sequence[str], *, file: bool, follow: bool) -> tuple[int, list[str]]:
    """Open ``parts`` below the open folder ``start_fd`` (the folder ``start``) without leaving it.

    Returns the descriptor (a folder's, or with ``file`` the last name's, opened non-blocking) and the
    real names below ``start``.  With ``follow``, links whose targets stay below ``start`` are followed
    as described in the module docstring; without, any link is refused."""
    pending = list(parts)
    done: list[str] = []
    current = os.dup(start_fd)
    hops = 0
    try:
        while pending:
            name = pending.pop(0)
            if name in ("", "."):
                continue
            if name == "..":
                if not done:
                    raise SandboxEscapeError(
                        f"{start / '/'.join(parts)} climbs out of {start} with '..'; it is not used."
                    )
                pending = done[:-1] + pending
                done = []
                os.close(current)
                current = os.dup(start_fd)
                continue
            last = file and not pending
            try:
                fd = os.open(name, FILE_FLAGS if last else DIR_FLAGS, dir_fd=current)
            except OSError as exc:
                target = link_target(current, name) if exc.errno in (errno.ELOOP, errno.ENOTDIR) else None
                if target is None:
                    raise
                shown = start.joinpath(*done, name)
                if not follow:
                    raise SandboxEscapeError(
                        f"{shown} is a symbolic link (to {target}); exofop-mcp writes only into real folders "
                        f"inside {start}, so nothing was written.",
                        hint="Replace that link with a real folder (or remove it) and ask again.",
                    ) from None
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise SandboxEscapeError(f"{shown} goes through more than {MAX_LINK_HOPS} links.") from None
                if target.startswith("/"):
                    absolute = PurePosixPath(target)
                    if not absolute.is_relative_to(start):
                        raise SandboxEscapeError(
                            f"{shown} is a link leading outside {start} (to {target}); it is not read."
                        ) from None
                    new = list(absolute.relative_to(start).parts)
                else:
                    new = done + target.split("/")
                depth = 0
                for part in new:  # a relative target that climbs above the start folder leads out
                    depth += -1 if part == ".." else 0 if part in ("", ".") else 1
                    if depth < 0:
                        raise SandboxEscapeError(
                            f"{shown} is a link leading outside {start} (to {target}); it is not read."
                        ) from None
                pending = new + pending
                done = []
                os.close(current)
                current = os.dup(start_fd)
                continue
            os.close(current)
            current = fd
            done.append(name)
        result, current = current, -1
        return result, done
    finally:
        if current >= 0:
            os.close(current)

"""Writing in the sandbox: only into real folders opened one by one from the root, atomically; removing likewise."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from exofop_mcp.atomic_files import _wrap_os_error, atomic_write_bytes_at
from exofop_mcp.errors import SandboxEscapeError
from exofop_mcp.sandbox_files.walk import DIR_FLAGS, OpenDescriptor, link_target, names_of

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class WritableFolder(OpenDescriptor):
    """A real folder inside the sandbox, opened by :func:`open_folder_for_writing`; writes go into its descriptor."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def write(self, name: str, data: bytes, *, durable: bool = False) -> Path:
        """Write the file ``name`` of this folder atomically; returns its path."""
        path = self.path / name
        atomic_write_bytes_at(self.fd, name, data, shown_as=path, durable=durable)
        return path

    def size_of(self, name: str) -> int:
        return os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_size


def open_folder_for_writing(root: Path, relative: str | PurePosixPath, *, create: bool = True) -> WritableFolder:
    """Open (creating what is missing) the folder ``relative`` below ``root`` with no link on the way.

    Raises :class:`SandboxEscapeError` naming a link met on the way (nothing is written through it)
    and :class:`AtomicWriteError` (``write_failed``) naming the folder and the cause when it cannot be
    created or opened (a read-only sandbox, permissions, a file where a folder should be)."""
    names = names_of(relative, root)
    if any(name == ".." for name in names):
        raise SandboxEscapeError(f"{root / str(relative)} climbs out of {root} with '..'; nothing was written.")
    try:
        root.mkdir(parents=True, exist_ok=True)
        current = os.open(root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError as exc:
        raise _wrap_os_error(exc, "open the folder", root) from exc
    done = root
    try:
        for name in names:
            done = done / name
            fd = -1
            for _ in range(3):  # created or removed by someone else meanwhile: look again
                try:
                    fd = os.open(name, DIR_FLAGS, dir_fd=current)
                    break
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(name, 0o755, dir_fd=current)
                    except FileExistsError:
                        continue
                except OSError as exc:
                    target = link_target(current, name) if exc.errno in (errno.ELOOP, errno.ENOTDIR) else None
                    if target is None:
                        raise
                    raise SandboxEscapeError(
                        f"{done} is a symbolic link (to {target}); exofop-mcp writes only into real folders "
                        f"inside {root}, so nothing was written.",
                        hint="Replace that link with a real folder (or remove it) and ask again.",
                    ) from None
            if fd < 0:
                raise FileNotFoundError(errno.ENOENT, "the folder keeps disappearing", str(done))
            os.close(current)
            current = fd
    except SandboxEscapeError:
        os.close(current)
        raise
    except FileNotFoundError:
        os.close(current)
        raise
    except OSError as exc:
        os.close(current)
        raise _wrap_os_error(exc, "create the folder", done) from exc
    return WritableFolder(current, done)


def remove_inside(root: Path, relative: str | PurePosixPath) -> bool:
    """Remove the file ``relative`` below ``root`` if there is one, reached with no link on the way.

    A link at the end is removed itself, never its target; a path through a link removes nothing
    (:class:`SandboxEscapeError`).  Returns whether something was removed."""
    names = names_of(relative, root)
    if not names or ".." in names:
        raise SandboxEscapeError(f"{root / str(relative)} is not a file inside {root}; nothing was removed.")
    try:
        folder = open_folder_for_writing(root, PurePosixPath(*names[:-1]) if names[:-1] else ".", create=False)
    except FileNotFoundError:
        return False
    with folder:
        try:
            if stat.S_ISDIR(os.stat(names[-1], dir_fd=folder.fd, follow_symlinks=False).st_mode):
                return False
            os.unlink(names[-1], dir_fd=folder.fd)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _wrap_os_error(exc, "remove", folder.path / names[-1]) from exc
    return True

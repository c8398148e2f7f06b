"""One discipline for every file the server reads or writes in the sandbox: open first, then check what was opened.

Reading (:func:`open_inside`, :mod:`.reading`)
    The path is walked one name at a time from the sandbox root's descriptor: each folder is opened
    with ``O_NOFOLLOW | O_DIRECTORY`` relative to the one before it (``openat``), the file itself with
    ``O_NOFOLLOW | O_NONBLOCK``.  There is no check-then-open window: what was opened is what is read,
    so a file or folder swapped for a link meanwhile is never followed out.  A symbolic link met on
    the way is followed only when its target, taken as a path relative to the folder holding it, stays
    inside the base folder (a system's directory); the walk then starts again from that folder with
    the target in place, again following nothing by itself.  A link leading out, ``..`` climbing out,
    an absolute path or more than :data:`MAX_LINK_HOPS` links is refused
    (:class:`~exofop_mcp.errors.SandboxEscapeError`).

    The opened descriptor is ``fstat``-ed: only a regular file is read.  A FIFO, device, socket or
    folder is refused (:class:`~exofop_mcp.errors.UnsafeFileError`); the non-blocking open never waits
    on a FIFO.  **Hard links are refused**: a regular file with more than one name (``st_nlink > 1``)
    is not read.  The server never makes hard links, a second name may be another local user's link
    to a file outside the sandbox, and nothing in the file says which name is the original one
    (copy a file into the sandbox rather than linking it).

    Every read comes from that descriptor only, never past the size the file had when it was opened
    (a file still growing is read to that size) nor past a cap given by the reader; lines are read
    with a length cap (:meth:`OpenedFile.lines`).  Past a cap the reader gets
    :class:`~exofop_mcp.errors.FileTooLargeError` with the reason, never a partial table.

Writing (:func:`open_folder_for_writing`, :mod:`.writing`)
    Every folder from the root to the written file is opened (and created if missing, with ``mkdir``
    relative to its parent's descriptor) with ``O_NOFOLLOW | O_DIRECTORY``: a link anywhere on the
    way, even one that stays inside, is refused with a :class:`~exofop_mcp.errors.SandboxEscapeError`
    naming it, and nothing is written.  The file is written atomically into that folder's descriptor
    (:func:`~exofop_mcp.atomic_files.atomic_write_bytes_at`).  A read-only or unwritable sandbox gives
    :class:`~exofop_mcp.errors.AtomicWriteError` (``write_failed``) naming the path and the cause.

Removing (:func:`remove_inside`)
    The same walk to the folder, then ``unlinkat``: a link there is removed itself, never its target,
    and a path through a link removes nothing.
"""

from exofop_mcp.sandbox_files.reading import MAX_LINE_BYTES, OpenedFile, open_inside
from exofop_mcp.sandbox_files.walk import MAX_LINK_HOPS, NotAFileError
from exofop_mcp.sandbox_files.writing import WritableFolder, open_folder_for_writing, remove_inside

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_LINK_HOPS",
    "NotAFileError",
    "OpenedFile",
    "WritableFolder",
    "open_folder_for_writing",
    "open_inside",
    "remove_inside",
]

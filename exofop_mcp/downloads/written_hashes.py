"""The SHA-256 of files this process has just written, so that recording them need not read them again.

The streaming unpacker hashes each file as it writes it (in its worker thread, while the archive still
downloads); once the file has its final modification time, :func:`remember` keys the digest by the
file's identity and state: device, inode, size, modification and change times.  :func:`recall` gives it
back (once) for a file in exactly that state; any change to the file since (a write, a ``touch``, a
replacement) changes its change time, which no process can set, and the file is read again.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

__all__ = ["recall", "remember"]

#: Most digests kept: entries are taken by :func:`recall`; those of files never recorded (a tag that
#: failed after unpacking) are dropped all at once past this bound.
MAX_KEPT = 50_000

_Key = tuple[int, int, int, int, int]
_known: dict[_Key, str] = {}
_lock = threading.Lock()


def _key(st: os.stat_result) -> _Key:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def remember(path: Path, sha256: str) -> None:
    """Keep ``sha256`` as the digest of the regular file ``path`` in its present state."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode):
        return
    with _lock:
        if len(_known) >= MAX_KEPT:
            _known.clear()
        _known[_key(st)] = sha256


def recall(st: os.stat_result) -> str | None:
    """The digest remembered for a file in the state ``st`` describes (taken: asked once), or None."""
    with _lock:
        return _known.pop(_key(st), None)

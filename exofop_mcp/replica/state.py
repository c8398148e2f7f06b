"""Everything a running replica remembers, shared by the serving loop and the controlling thread."""

from __future__ import annotations

import threading
import time

from exofop_mcp.replica.accounts import SessionLocks, SessionStore
from exofop_mcp.replica.config import ReplicaConfig
from exofop_mcp.replica.dataset import Dataset
from exofop_mcp.replica.faults import FaultInjector
from exofop_mcp.replica.request_log import RequestLog
from exofop_mcp.replica.tag_archives import ArchiveStore

_SHARED_DATASET: Dataset | None = None
_SHARED_LOCK = threading.Lock()


def shared_dataset() -> Dataset:
    """One dataset per process: its data are immutable, so every replica can share the memo."""
    global _SHARED_DATASET
    with _SHARED_LOCK:
        if _SHARED_DATASET is None:
            _SHARED_DATASET = Dataset()
        return _SHARED_DATASET


class ReplicaState:
    def __init__(self, config: ReplicaConfig) -> None:
        self._config = config
        self._config_lock = threading.Lock()
        self.dataset = shared_dataset()
        self.archives = ArchiveStore(self.dataset, config.cache_dir)
        self.sessions = SessionStore()
        self.session_locks = SessionLocks()
        self.faults = FaultInjector(config.seed)
        self.log = RequestLog()
        self.started = time.time()
        self.user_tags: dict[str, list[list[str]]] | None = None

    @property
    def config(self) -> ReplicaConfig:
        return self._config

    def configure(self, **changes: object) -> ReplicaConfig:
        with self._config_lock:
            updated = self._config.updated(**changes)
            previous = self._config
            self._config = updated
        if "seed" in changes:  # setting the seed, even to the same value, restarts the fault sequence
            self.faults.reseed(updated.seed)
        if "tag_faults" in changes or "page_faults" in changes:
            self.faults.reset_forced_counts()
        if updated.cache_dir != previous.cache_dir:
            self.archives.set_cache_dir(updated.cache_dir)
        return updated

    def on_loop_start(self) -> None:
        """Forget asyncio primitives bound to a previous event loop (after stop/start)."""
        self.session_locks.reset()
        self.archives.reset_locks()

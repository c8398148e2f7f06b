"""``Replica``: the ExoFOP replica running on 127.0.0.1 in a background thread with its own loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from types import TracebackType
from typing import Any

from exofop_mcp.replica.config import ReplicaConfig
from exofop_mcp.replica.dataset import Dataset
from exofop_mcp.replica.http_server import HTTPServer
from exofop_mcp.replica.request_log import RequestRecord
from exofop_mcp.replica.site import ExofopSite
from exofop_mcp.replica.state import ReplicaState

log = logging.getLogger("exofop_mcp.replica")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class Replica:
    """An ExoFOP look-alike served over real sockets.

    ``with Replica(config) as replica:`` (or ``async with``) starts it and returns once it listens.
    The first start picks the port (``config.port``, 0 for an ephemeral one); ``stop()`` then
    ``start()`` brings it back on the same port.  Sessions, the request log and the archive cache
    survive a restart, as they would on the real server.
    """

    def __init__(self, config: ReplicaConfig | None = None, **settings: Any) -> None:
        base = config or ReplicaConfig()
        self._state = ReplicaState(base.updated(**settings) if settings else base)
        self._lifecycle_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: HTTPServer | None = None
        self._port: int | None = None
        self._warming_started = False

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Replica:
        with self._lifecycle_lock:
            if self._thread is not None:
                return self
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=self._run_loop, args=(loop,), name="exofop-replica", daemon=True)
            thread.start()
            self._state.on_loop_start()
            config = self._state.config
            server = HTTPServer(ExofopSite(self._state), keepalive_timeout=lambda: self._state.config.keepalive_timeout)
            port = self._port if self._port is not None else config.port
            future = asyncio.run_coroutine_threadsafe(server.start(config.host, port), loop)
            try:
                self._port = future.result(START_TIMEOUT)
            except BaseException:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(STOP_TIMEOUT)
                loop.close()
                raise
            self._loop, self._thread, self._server = loop, thread, server
            if not self._warming_started:
                self._warming_started = True
                threading.Thread(target=self._state.dataset.warm, name="exofop-replica-warm", daemon=True).start()
            log.info("ExoFOP replica serving on %s", self.base_url)
            return self

    def stop(self) -> None:
        with self._lifecycle_lock:
            loop, thread, server = self._loop, self._thread, self._server
            if loop is None or thread is None or server is None:
                return
            try:
                asyncio.run_coroutine_threadsafe(server.stop(), loop).result(STOP_TIMEOUT)
            except Exception:  # pragma: no cover - a stuck shutdown must not hang the caller
                log.warning("replica did not stop cleanly", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = self._server = None

    close = stop

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    @property
    def running(self) -> bool:
        return self._thread is not None

    def __enter__(self) -> Replica:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Replica:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- where ---------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the replica has not been started")
        return self._port

    @property
    def host(self) -> str:
        return self._state.config.host

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def tess_url(self) -> str:
        return f"{self.base_url}/tess"

    # -- behaviour -----------------------------------------------------------------------------------
    @property
    def config(self) -> ReplicaConfig:
        return self._state.config

    def configure(self, **changes: Any) -> ReplicaConfig:
        """Change settings of the running replica (validated; host and port are fixed once started)."""
        if self._port is not None and any(key in changes for key in ("host", "port")):
            raise ValueError("host and port cannot change once the replica has started")
        return self._state.configure(**changes)

    def clear_sessions(self) -> None:
        self._state.sessions.clear()

    # -- what happened -------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the requests served so far (control endpoints excluded)."""
        return self._state.log.snapshot()

    def count(self, path_suffix: str, **query_match: Any) -> int:
        """How many requests hit a path ending with ``path_suffix`` with these query values."""
        return self._state.log.count(path_suffix, **query_match)

    def reset_requests(self) -> None:
        self._state.log.clear()

    @property
    def dataset(self) -> Dataset:
        """The replica's data (TOI table, observations, tags); see ``exofop_mcp.replica.dataset``."""
        return self._state.dataset

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"Replica({where}, running={self.running})"

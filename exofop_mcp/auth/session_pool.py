"""Hand out stored ExoFOP sessions, one request at a time each.

PHP locks a session for the length of each request, so two requests sharing a ``PHPSESSID`` run one
after the other on the server.  :class:`SessionPool` therefore lends each session to one request at
a time: ``async with pool.lease() as cookies`` waits for a free session and yields its cookies
(``{"PHPSESSID": "…"}``), or yields ``None`` at once when no valid session is stored (anonymous
access: public data only).  ``pool.lease`` has exactly the shape of ``Downloader.cookie_lease`` and
of what the ExoFOP client asks of a pool (:class:`exofop_mcp.site.client.CookieLease`); the client
sends the cookies (:func:`exofop_mcp.site.client.cookie_header`).

The pool follows ``sessions.json``: after ``exofop-mcp login`` or ``logout`` in a terminal, the next
lease uses the new state without restarting the server.  Expired sessions are skipped when leased.
A session the site no longer accepts (a logged-in request answered with the login page) is reported
with :meth:`SessionPool.mark_dead`, which also removes it from the file.

Cookie values are never logged; sessions are named by :attr:`StoredSession.key`, a short hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from exofop_mcp.auth.session_store import (
    SAFETY_MARGIN,
    StoredSession,
    active_username,
    load_sessions,
    remove_session,
    sessions_path,
    utc_now,
    valid_sessions,
)
from exofop_mcp.settings import Settings

log = logging.getLogger(__name__)

Cookies = dict[str, str]


class SessionPool:
    """Stored sessions of the active user, lent out one request at a time.

    ``config_dir`` is where ``sessions.json`` lives (``None``: use only ``sessions``, never reload).
    ``username`` picks the user explicitly; otherwise ``EXOFOP_USERNAME``, else the last one logged in.
    ``origin`` (``scheme://host:port``) is the site the requests go to: only sessions that site set are
    lent (:meth:`from_settings` always gives it; ``None`` lends any).
    """

    def __init__(
        self,
        config_dir: Path | None = None,
        *,
        username: str | None = None,
        sessions: Sequence[StoredSession] | None = None,
        environ: Mapping[str, str] | None = None,
        margin: timedelta = SAFETY_MARGIN,
        origin: str | None = None,
    ) -> None:
        self.config_dir = Path(config_dir) if config_dir is not None else None
        self.origin = origin
        self.margin = margin
        self._explicit_username = username
        self._environ = environ
        self._username: str | None = username
        self._known: dict[str, StoredSession] = {}
        self._free: deque[StoredSession] = deque()
        self._busy: dict[str, StoredSession] = {}
        self._dead: set[str] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._file_signature: tuple[int, int, int] | None = None
        self._loaded = False
        #: Sessions reported dead since the pool was made (the site answered its login page).
        self.dead_count = 0
        #: When a session was last reported dead.
        self.last_dead_at: datetime | None = None
        if sessions is not None:
            self._install([s for s in sessions if s.belongs_to(origin)], username)
            self._loaded = True

    @classmethod
    def from_settings(
        cls, settings: Settings, *, username: str | None = None, environ: Mapping[str, str] | None = None
    ) -> SessionPool:
        """The pool for ``<settings.config_dir>/sessions.json``, lending only the configured site's sessions."""
        return cls(settings.config_dir, username=username, environ=environ, origin=settings.origin)

    # -- state -----------------------------------------------------------------------------------

    @property
    def sessions_file(self) -> Path | None:
        return sessions_path(self.config_dir) if self.config_dir is not None else None

    @property
    def username(self) -> str | None:
        """The user whose sessions are lent (``None`` when nobody is logged in)."""
        self.refresh()
        return self._username

    @property
    def valid_count(self) -> int:
        """Sessions that are valid now (free or lent out)."""
        self.refresh()
        now = utc_now()
        return sum(1 for key, s in self._known.items() if key not in self._dead and s.is_valid(now, self.margin))

    @property
    def logged_in(self) -> bool:
        return self.valid_count > 0

    @property
    def in_use(self) -> int:
        """Sessions lent out right now."""
        return len(self._busy)

    def __repr__(self) -> str:
        return (
            f"<SessionPool user={self._username!r} valid={self.valid_count} in_use={len(self._busy)} "
            f"dead={self.dead_count}>"
        )

    # -- following the file ----------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> None:
        """Reload ``sessions.json`` if it changed since the last look (a cheap ``stat`` otherwise)."""
        if self.config_dir is None:
            return
        path = sessions_path(self.config_dir)
        try:
            info = os.stat(path)
            signature: tuple[int, int, int] | None = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            signature = None
        if self._loaded and not force and signature == self._file_signature:
            return
        self._file_signature = signature
        self._loaded = True
        data = load_sessions(self.config_dir)
        user = active_username(data, self._explicit_username, self._environ, origin=self.origin)
        self._install(valid_sessions(data, user, margin=self.margin, origin=self.origin), user)

    def _install(self, sessions: list[StoredSession], username: str | None) -> None:
        if username != self._username:
            self._dead.clear()
        self._username = username
        self._known = {s.key: s for s in sessions}
        self._free = deque(s for s in sessions if s.key not in self._busy and s.key not in self._dead)
        log.debug("session pool: %d session(s) for %s", len(self._known), username or "nobody")
        self._wake_all()

    # -- leasing ---------------------------------------------------------------------------------

    def lease(self, timeout: float | None = None) -> contextlib.AbstractAsyncContextManager[Cookies | None]:
        """``async with pool.lease() as cookies``: a free session's cookies, or ``None`` (anonymous).

        Waits while every valid session is carrying a request; with ``timeout`` (seconds), gives up
        waiting after that long and yields ``None``, so a quick request is not stuck behind long
        downloads.  Yields ``None`` without waiting when no valid session is stored.
        """
        return self._lease(timeout)

    @contextlib.asynccontextmanager
    async def _lease(self, timeout: float | None) -> AsyncIterator[Cookies | None]:
        session = await self._acquire(timeout)
        if session is None:
            yield None
            return
        try:
            yield session.cookies()
        finally:
            self._release(session)

    async def _acquire(self, timeout: float | None) -> StoredSession | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + max(0.0, timeout)
        while True:
            self.refresh()
            now = utc_now()
            while self._free:
                session = self._free.popleft()
                if session.key in self._dead or session.key not in self._known:
                    continue
                if not session.is_valid(now, self.margin):
                    log.info("skipping an expired ExoFOP session of %s", self._username)
                    continue
                self._busy[session.key] = session
                return session
            if not self._busy:
                return None
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                log.info("no free ExoFOP session within %.1f s; going on without a login", timeout)
                return None
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                continue  # the deadline check above ends the wait
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def _release(self, session: StoredSession) -> None:
        self._busy.pop(session.key, None)
        alive = session.key in self._known and session.key not in self._dead
        if alive and session.is_valid(utc_now(), self.margin):
            self._free.append(session)
        self._wake_all()

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- dead sessions ---------------------------------------------------------------------------

    def find(self, cookies: Mapping[str, str] | StoredSession | None) -> StoredSession | None:
        """The stored session behind a lease's cookies (or ``None``)."""
        if cookies is None:
            return None
        if isinstance(cookies, StoredSession):
            return cookies
        for session in (*self._known.values(), *self._busy.values()):
            if cookies.get(session.cookie_name) == session.cookie_value:
                return session
        return None

    def mark_dead(self, cookies: Mapping[str, str] | StoredSession | None, *, persist: bool = True) -> bool:
        """Report that the site answered its login page to a request made with this session.

        The session is never lent again and (with ``persist``) is removed from ``sessions.json``, so
        ``login_status`` shows the truth.  Returns whether the session was one of this pool's.
        """
        session = self.find(cookies)
        if session is None or session.key in self._dead:
            return False
        self._dead.add(session.key)
        self._known.pop(session.key, None)
        self._free = deque(s for s in self._free if s.key != session.key)
        self.dead_count += 1
        self.last_dead_at = utc_now()
        left = sum(1 for key in self._known if key not in self._dead)
        log.warning(
            "ExoFOP no longer accepts one of the stored sessions of %s (%d left); "
            "the user should run `exofop-mcp login` again",
            self._username,
            left,
        )
        if persist and self.config_dir is not None and self._username:
            try:
                remove_session(self.config_dir, self._username, session.key)
                info = os.stat(sessions_path(self.config_dir))
                self._file_signature = (info.st_mtime_ns, info.st_size, info.st_ino)
            except OSError as exc:
                log.warning("could not update the sessions file: %s", exc.strerror or type(exc).__name__)
        self._wake_all()
        return True

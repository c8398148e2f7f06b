"""Logins and PHP-style sessions (PHPSESSID), including PHP's per-session request lock."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hmac
import math
import secrets
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

SESSION_COOKIE = "PHPSESSID"


@dataclass
class Session:
    sid: str
    created: float
    user: str | None = None
    expires: float | None = None

    def user_at(self, now: float) -> str | None:
        """The logged-in user, or None when anonymous or the login has expired."""
        if self.user is None or self.expires is None or now >= self.expires:
            return None
        return self.user


def new_session_id() -> str:
    """26 lowercase letters and digits, like PHP's default session ids."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def session_cookie(sid: str, expires: float | None = None) -> str:
    """A Set-Cookie value for the session; with ``expires`` it lasts until then."""
    value = f"{SESSION_COOKIE}={sid}; path=/"
    if expires is not None:
        max_age = max(1, math.ceil(expires - time.time()))
        value += f"; expires={email.utils.formatdate(expires, usegmt=True)}; Max-Age={max_age}"
    return value + "; HttpOnly"


def check_password(accounts: dict[str, str], username: str, password: str) -> bool:
    expected = accounts.get(username)
    if expected is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), password.encode("utf-8"))


class SessionStore:
    """Sessions survive a replica stop/start, like PHP's session files on disk."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            return self._sessions.get(sid)

    def create(self) -> Session:
        session = Session(sid=new_session_id(), created=time.time())
        with self._lock:
            self._sessions[session.sid] = session
        return session

    def adopt(self, sid: str) -> Session:
        """The session with this id, created empty if the id is unknown (PHP accepts client ids)."""
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                session = Session(sid=sid, created=time.time())
                self._sessions[sid] = session
            return session

    def log_in(self, session: Session, user: str, ttl: float) -> None:
        with self._lock:
            session.user = user
            session.expires = time.time() + ttl

    def user_of(self, sid: str | None) -> str | None:
        session = self.get(sid)
        return session.user_at(time.time()) if session else None

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


class SessionLocks:
    """One lock per session id: requests sharing a PHPSESSID are served one at a time.

    The locks belong to one event loop; call ``reset`` when the server restarts on a new loop.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    def reset(self) -> None:
        self._locks.clear()
        self._users.clear()

    @contextlib.asynccontextmanager
    async def hold(self, sid: str | None) -> AsyncIterator[None]:
        if not sid:
            yield
            return
        lock = self._locks.setdefault(sid, asyncio.Lock())
        self._users[sid] = self._users.get(sid, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[sid] -= 1
            if self._users[sid] == 0:
                del self._users[sid]
                self._locks.pop(sid, None)

"""Stored ExoFOP login sessions: ``<config_dir>/sessions.json``.

The directory is kept at mode 0700 and the file at 0600, and the file is always replaced atomically,
so a crash never leaves half a file.  Its content::

    {
      "version": 1,
      "active": "alice",
      "users": {
        "alice": [
          {"cookie_name": "PHPSESSID", "cookie_value": "...", "created": "2026-11-25T14:00:00Z",
           "expires": "2026-12-02T14:00:00Z", "origin": "https://exofop.ipac.caltech.edu:443"}
        ]
      }
    }

``origin`` is the site (scheme, host, port) that set the cookie: a session is sent to that site only, and
counts as a login only there.  A session stored without one (by an earlier version) belongs to the
default site, ``settings.DEFAULT_BASE_URL``.  ``active`` is the user who logged in last.  Which user's
sessions are used: an explicit username, else ``EXOFOP_USERNAME``, else ``active`` (on the configured
site: the user who logged in there last).  A corrupt or unreadable file counts as "no sessions" (with
a warning in the log), so a damaged file never stops the server.  Cookie values are never logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from exofop_mcp.atomic_files import atomic_write_text
from exofop_mcp.settings import DEFAULT_ORIGIN

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SESSIONS_FILE_NAME = "sessions.json"
LOCK_FILE_NAME = ".sessions.lock"
FILE_VERSION = 1
DIR_MODE = 0o700
FILE_MODE = 0o600
SESSION_COOKIE = "PHPSESSID"

#: A session this close to its expiry is no longer handed out (a download may take a while).
SAFETY_MARGIN = timedelta(minutes=5)

USERNAME_ENV = "EXOFOP_USERNAME"


# httpcore traces every response's headers at DEBUG level, Set-Cookie included: a server started with
# --log-level DEBUG would write session cookies to its log.  This filter blanks cookie header values in
# those records; it is installed when this module is imported (every user of sessions imports it).
_COOKIE_HEADER_IN_TRACE = re.compile(
    r"""(\(b(['"])(?:set-cookie|cookie)\2,\s*b)(['"])(?:\\.|(?!\3).)*\3""", re.IGNORECASE | re.DOTALL
)
_TRACE_LOGGERS = ("httpcore.http11", "httpcore.http2", "httpcore.connection", "httpcore.proxy")


def redact_cookie_headers(text: str) -> str:
    """``text`` with the values of ``Cookie``/``Set-Cookie`` headers in httpcore's trace format blanked."""
    return _COOKIE_HEADER_IN_TRACE.sub(r"\1'<redacted>'", text)


class _CookieRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "ookie" in record.msg.lower():
            record.msg = redact_cookie_headers(record.msg)
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(redact_cookie_headers(a) if isinstance(a, str) else a for a in record.args)
        return True


_COOKIE_FILTER = _CookieRedactingFilter()


def protect_cookie_logs() -> None:
    """Make sure HTTP trace logging never shows cookie values (idempotent)."""
    for name in _TRACE_LOGGERS:
        logger = logging.getLogger(name)
        if _COOKIE_FILTER not in logger.filters:
            logger.addFilter(_COOKIE_FILTER)


protect_cookie_logs()


MAX_LANDING_CHARS = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StoredSession:
    """One logged-in ExoFOP session (a cookie); ``repr`` never shows the cookie value."""

    cookie_name: str
    cookie_value: str = field(repr=False)
    created: datetime
    expires: datetime
    #: The site that set the cookie (``scheme://host:port``); ``None`` for sessions stored by earlier versions.
    origin: str | None = None
    #: Where the site's password check led when this session was opened (see ``login.landing_shape``).
    landing: str | None = None

    @property
    def site(self) -> str:
        """The origin this session belongs to (the default site for a session stored without one)."""
        return self.origin or DEFAULT_ORIGIN

    def belongs_to(self, origin: str | None) -> bool:
        """Whether this session may be sent to ``origin`` (``None``: no site given, any session)."""
        return origin is None or self.site == origin

    @property
    def key(self) -> str:
        """A short fingerprint of the cookie, safe to compare and to show (not reversible)."""
        return hashlib.sha256(f"{self.cookie_name}={self.cookie_value}".encode()).hexdigest()[:12]

    def cookies(self) -> dict[str, str]:
        """The cookies to send with a request made in this session."""
        return {self.cookie_name: self.cookie_value}

    def is_valid(self, now: datetime | None = None, margin: timedelta = SAFETY_MARGIN) -> bool:
        """Not expired, with ``margin`` to spare."""
        return (now or utc_now()) + margin < self.expires

    def to_json(self) -> dict[str, str]:
        data = {
            "cookie_name": self.cookie_name,
            "cookie_value": self.cookie_value,
            "created": _format_time(self.created),
            "expires": _format_time(self.expires),
        }
        if self.origin is not None:
            data["origin"] = self.origin
        if self.landing is not None:
            data["landing"] = self.landing
        return data

    @classmethod
    def from_json(cls, data: Any) -> StoredSession:
        if not isinstance(data, dict):
            raise ValueError("a session is not an object")
        name, value = data.get("cookie_name"), data.get("cookie_value")
        if not isinstance(name, str) or not name or not isinstance(value, str) or not value:
            raise ValueError("a session lacks its cookie")
        origin = data.get("origin")
        if origin is not None and (not isinstance(origin, str) or "://" not in origin):
            raise ValueError("a session's origin is not a site")
        return cls(
            cookie_name=name,
            cookie_value=value,
            created=_parse_time(data.get("created")),
            expires=_parse_time(data.get("expires")),
            origin=origin,
            landing=landing[:MAX_LANDING_CHARS] if isinstance(landing := data.get("landing"), str) else None,
        )


@dataclass
class SessionsData:
    """Everything in ``sessions.json``."""

    users: dict[str, list[StoredSession]] = field(default_factory=dict)
    active: str | None = None
    #: False when the file existed but could not be read or parsed (it was treated as empty).
    readable: bool = True
    #: Why the file was not used, and what to run, when it was refused (others could read it).
    problem: str | None = None

    def usernames(self) -> list[str]:
        return sorted(self.users)

    def sessions_of(self, username: str | None, origin: str | None = None) -> list[StoredSession]:
        """``username``'s sessions (those of the site ``origin`` only, when given)."""
        if not username:
            return []
        return [s for s in self.users.get(username, []) if s.belongs_to(origin)]

    def sites_of(self, username: str | None) -> list[str]:
        """The sites ``username`` has stored sessions for."""
        return sorted({s.site for s in self.users.get(username or "", [])})

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FILE_VERSION,
            "active": self.active,
            "users": {name: [s.to_json() for s in sessions] for name, sessions in sorted(self.users.items())},
        }


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("a session time is missing")
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------------
# Paths and permissions
# --------------------------------------------------------------------------------------------------


def sessions_path(config_dir: Path) -> Path:
    return Path(config_dir) / SESSIONS_FILE_NAME


def ensure_private_dir(config_dir: Path) -> Path:
    """Create ``config_dir`` (mode 0700) or tighten its mode if group or others can get in."""
    path = Path(config_dir)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if os.name != "nt":
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            log.warning("tightening the permissions of %s from %o to 700", path, mode)
            os.chmod(path, DIR_MODE)
    return path


@contextlib.contextmanager
def _store_lock(config_dir: Path) -> Iterator[None]:
    """Serialise read-modify-write of the sessions file across processes (a login next to a server)."""
    ensure_private_dir(config_dir)
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(Path(config_dir) / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------------
# Load and save
# --------------------------------------------------------------------------------------------------


def _refuse_loose_file(path: Path) -> str | None:
    """Tighten a sessions file (and its directory) that others can read; say why it is refused if that cannot be.

    A regular file of the user's is set to 0600 (its directory to 0700).  A link to a file that others
    can read is not changed behind the user's back: it is refused with the ``chmod`` to run.
    """
    if os.name == "nt":  # pragma: no cover - no POSIX modes
        return None
    try:
        link = path.lstat()
        st = path.stat()
    except OSError:
        return None  # missing or unreadable: the reading below says so
    directory = path.parent
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(directory.lstat().st_mode)
        if mode & 0o077 and directory.lstat().st_uid == os.getuid():
            log.warning("tightening the permissions of %s from %o to 700", directory, mode)
            os.chmod(directory, DIR_MODE)
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o077:
        return None
    target = path.resolve()
    if stat.S_ISLNK(link.st_mode) or st.st_uid != os.getuid():
        return (
            f"the sessions file {path} ({'a link to ' + str(target) if target != path else 'not yours'}) can be read "
            f"by other users (mode {mode:o}), so it was not used: run `chmod 600 {target}` (or "
            "`exofop-mcp logout` and log in again), then ask again."
        )
    try:
        os.chmod(path, FILE_MODE)
    except OSError as exc:
        return (
            f"the sessions file {path} can be read by other users (mode {mode:o}) and could not be tightened "
            f"({exc.strerror}): run `chmod 600 {path}`, then ask again."
        )
    log.warning("tightening the permissions of %s from %o to 600", path, mode)
    return None


def load_sessions(config_dir: Path) -> SessionsData:
    """What ``sessions.json`` holds; a missing file is empty, a corrupt one too (with a warning).

    A file others can read is tightened to 0600, or refused (``problem`` says the ``chmod`` to run).
    """
    path = sessions_path(config_dir)
    problem = _refuse_loose_file(path)
    if problem is not None:
        log.warning("%s", problem)
        return SessionsData(readable=False, problem=problem)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SessionsData()
    except (OSError, UnicodeDecodeError) as exc:
        log.warning(
            "could not read the ExoFOP sessions file %s (%s); continuing without a login",
            path,
            getattr(exc, "strerror", None) or type(exc).__name__,
        )
        return SessionsData(readable=False)
    try:
        return _decode(json.loads(text))
    except (ValueError, TypeError, AttributeError) as exc:
        # The message never quotes the content (it holds cookie values).
        log.warning(
            "the ExoFOP sessions file %s is damaged (%s); continuing without a login. "
            "Run `exofop-mcp login` to replace it.",
            path,
            type(exc).__name__,
        )
        return SessionsData(readable=False)


def _decode(raw: Any) -> SessionsData:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    version = raw.get("version", FILE_VERSION)
    if version != FILE_VERSION:
        raise ValueError(f"unknown version {version!r}")
    users_raw = raw.get("users", {})
    if not isinstance(users_raw, dict):
        raise ValueError("users is not an object")
    users: dict[str, list[StoredSession]] = {}
    for name, sessions in users_raw.items():
        if not isinstance(name, str) or not name or not isinstance(sessions, list):
            raise ValueError("bad user entry")
        users[name] = [StoredSession.from_json(item) for item in sessions]
    active = raw.get("active")
    if active is not None and not isinstance(active, str):
        raise ValueError("active is not a string")
    return SessionsData(users=users, active=active)


def save_sessions(config_dir: Path, data: SessionsData) -> Path:
    """Write ``sessions.json`` atomically (file 0600, directory 0700); return its path."""
    ensure_private_dir(config_dir)
    path = sessions_path(config_dir)
    text = json.dumps(data.to_json(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(path, text, permissions=FILE_MODE)
    return path


def store_login(config_dir: Path, username: str, sessions: Sequence[StoredSession]) -> SessionsData:
    """Replace ``username``'s sessions on the sites of ``sessions`` with them and make them the active user.

    Sessions of the same user on other sites are kept.
    """
    sites = {s.site for s in sessions}
    with _store_lock(config_dir):
        data = load_sessions(config_dir)
        kept = [s for s in data.users.get(username, []) if s.site not in sites]
        data.users[username] = kept + list(sessions)
        data.active = username
        save_sessions(config_dir, data)
    log.info("stored %d ExoFOP session(s) for %s", len(sessions), username)
    return data


def delete_sessions(config_dir: Path, username: str | None = None, origin: str | None = None) -> dict[str, int]:
    """Forget ``username``'s sessions, or everyone's when ``username`` is ``None``.

    With ``origin``, only ``username``'s sessions of that site (``scheme://host:port``) go; the others
    stay.  Returns how many sessions were removed per user.  With ``username=None`` the file is deleted.
    """
    path = sessions_path(config_dir)
    if not path.exists():
        return {}
    with _store_lock(config_dir):
        data = load_sessions(config_dir)
        if username is None:
            removed = {name: len(sessions) for name, sessions in data.users.items()}
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            log.info("deleted all stored ExoFOP sessions (%d user(s))", len(removed))
            return removed
        if username not in data.users:
            return {}
        kept = [s for s in data.users[username] if origin is not None and not s.belongs_to(origin)]
        removed = {username: len(data.users[username]) - len(kept)}
        if not removed[username]:
            return {}
        if kept:
            data.users[username] = kept
        else:
            del data.users[username]
            if data.active == username:
                data.active = _most_recent_user(data)
        save_sessions(config_dir, data)
    log.info("deleted the stored ExoFOP sessions of %s%s", username, f" for {origin}" if origin else "")
    return removed


def remove_session(config_dir: Path, username: str, key: str) -> bool:
    """Forget one session of ``username`` (by :attr:`StoredSession.key`); return whether it was stored."""
    if not sessions_path(config_dir).exists():
        return False
    with _store_lock(config_dir):
        data = load_sessions(config_dir)
        sessions = data.users.get(username)
        if not data.readable or not sessions:
            return False
        kept = [s for s in sessions if s.key != key]
        if len(kept) == len(sessions):
            return False
        data.users[username] = kept
        save_sessions(config_dir, data)
    return True


# --------------------------------------------------------------------------------------------------
# Choosing the user and the sessions
# --------------------------------------------------------------------------------------------------


def _most_recent_user(data: SessionsData, origin: str | None = None) -> str | None:
    best: tuple[datetime, str] | None = None
    for name, sessions in data.users.items():
        here = [s for s in sessions if s.belongs_to(origin)]
        if origin is not None and not here:
            continue
        newest = max((s.created for s in here), default=datetime.min.replace(tzinfo=UTC))
        if best is None or (newest, name) > best:
            best = (newest, name)
    return best[1] if best else None


def active_username(
    data: SessionsData,
    username: str | None = None,
    environ: Mapping[str, str] | None = None,
    origin: str | None = None,
) -> str | None:
    """The user whose sessions to use: ``username``, else ``EXOFOP_USERNAME``, else the last one logged in.

    With ``origin``, "the last one logged in" means on that site: the active user if they have sessions
    there, else the user who logged in there most recently, else the active user.
    """
    if username:
        return username
    env = os.environ if environ is None else environ
    from_env = (env.get(USERNAME_ENV) or "").strip()
    if from_env:
        return from_env
    if origin is not None and not (data.active and data.sessions_of(data.active, origin)):
        here = _most_recent_user(data, origin)
        if here is not None:
            return here
    if data.active:
        return data.active
    return _most_recent_user(data)


def valid_sessions(
    data: SessionsData,
    username: str | None,
    *,
    now: datetime | None = None,
    margin: timedelta = SAFETY_MARGIN,
    origin: str | None = None,
) -> list[StoredSession]:
    """``username``'s sessions that are still valid ``margin`` from ``now``, earliest expiry first.

    With ``origin``, only the sessions of that site.
    """
    moment = now or utc_now()
    return sorted(
        (s for s in data.sessions_of(username, origin) if s.is_valid(moment, margin)),
        key=lambda s: s.expires,
    )

"""The checks about this computer: the stored login, the directories and settings, the versions installed.

Nothing here talks to ExoFOP; the login state is only read, and the directory probes leave nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import tempfile
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from urllib.parse import urlsplit

from exofop_mcp import __version__
from exofop_mcp.auth.login_status import RENEW_BEFORE_HOURS, current_login_status
from exofop_mcp.auth.session_store import load_sessions
from exofop_mcp.doctor.report import TEMP_PREFIX, Draft, Stop, public_url
from exofop_mcp.settings import Settings


def versions() -> dict[str, str]:
    found = {"exofop-mcp": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for name in ("httpx", "pydantic", "astropy", "mcp"):
        try:
            found[name] = package_version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


class LocalChecks:
    """``login`` and ``settings``."""

    def __init__(self, settings: Settings, *, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.environ = environ

    async def login(self, draft: Draft) -> str:
        status = current_login_status(self.settings, environ=self.environ)
        draft.details.append(f"sessions file: {status.sessions_file}")
        if not load_sessions(self.settings.config_dir).readable:
            raise Stop(
                "WARN",
                f"the sessions file {status.sessions_file} could not be read: working anonymously",
                hint=f"Run `{status.action or 'exofop-mcp login'}` to write it again.",
            )
        if not status.logged_in:
            who = f" ({status.username})" if status.username else ""
            return f"not logged in{who}: public data only; `exofop-mcp login` gives access to proprietary data"
        assert status.earliest_expiry is not None and status.remaining_hours is not None
        until = status.earliest_expiry.strftime("%Y-%m-%d %H:%M UTC")
        summary = (
            f"logged in as {status.username} with {status.valid_sessions} session(s), valid until {until} "
            f"({status.remaining_hours:.1f} h left)"
        )
        if status.remaining_hours < RENEW_BEFORE_HOURS:
            draft.warnings.append(f"the login expires within {RENEW_BEFORE_HOURS:g} hours")
            draft.hint = f"Run `{status.action}` in a terminal to stay logged in."
        return summary

    async def settings_check(self, draft: Draft) -> str:
        s = self.settings
        problems: list[str] = []
        for label, var, path in (
            ("download sandbox", "EXOFOP_MCP_DATA_DIR", s.data_dir),
            ("catalog cache", "EXOFOP_MCP_CACHE_DIR", s.cache_dir),
            ("login sessions", "EXOFOP_MCP_CONFIG_DIR", s.config_dir),
        ):
            ok, note = await asyncio.to_thread(_probe_directory, Path(path))
            draft.details.append(f"{label} ({var}): {path}: {note}")
            if not ok:
                problems.append(f"{label} {path}: {note}")
        draft.details.append(
            f"concurrency {s.concurrency} (EXOFOP_MCP_CONCURRENCY); retries {s.max_retries}; "
            f"read timeout {s.read_timeout:g} s; catalog refreshed every {s.catalog_ttl_hours:g} h"
        )
        parts = urlsplit(s.base_url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" and host not in ("localhost", "::1") and not host.startswith("127."):
            draft.warnings.append(
                f"EXOFOP_BASE_URL uses plain http ({public_url(s.base_url)}): `exofop-mcp login` refuses to send a "
                "password there"
            )
            draft.hint = "Use https://exofop.ipac.caltech.edu."
        if problems:
            draft.expected = "directories that exist or can be created, and are writable"
            draft.got = "; ".join(problems)
            raise Stop(
                "FAIL",
                f"unusable director{'ies' if len(problems) > 1 else 'y'}: {'; '.join(problems)}",
                hint="Point the variable at a writable directory (or fix its permissions).",
            )
        return f"data, cache and config directories usable; concurrency {s.concurrency}"


def _probe_directory(path: Path) -> tuple[bool, str]:
    """Whether ``path`` is (or can become) a writable directory; leaves nothing behind."""
    if path.exists():
        if not path.is_dir():
            return False, "exists and is not a directory"
        try:
            fd, name = tempfile.mkstemp(prefix=f".{TEMP_PREFIX}", suffix=".tmp", dir=path)
        except OSError as exc:
            return False, f"not writable ({exc.strerror or exc})"
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        return True, "exists, writable"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return False, f"cannot be created: {parent} is not a directory"
    try:
        probe = tempfile.mkdtemp(prefix=f".{TEMP_PREFIX}", dir=parent)
    except OSError as exc:
        return False, f"cannot be created: {parent} is not writable ({exc.strerror or exc})"
    with contextlib.suppress(OSError):
        os.rmdir(probe)
    return True, f"does not exist yet; can be created (under {parent})"

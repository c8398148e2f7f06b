"""Whether proprietary ExoFOP data is reachable: the login state, without secrets.

Logging in happens in the user's terminal (``exofop-mcp login``), never
through an assistant.  This module only reports; it never returns cookie values.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from exofop_mcp.auth.session_store import (
    SAFETY_MARGIN,
    active_username,
    load_sessions,
    sessions_path,
    utc_now,
    valid_sessions,
)
from exofop_mcp.settings import Settings
from exofop_mcp.text_format import counted

LOGIN_COMMAND = "exofop-mcp login"
#: Below this many hours left, the status asks the user to log in again.
RENEW_BEFORE_HOURS = 24.0


class LoginStatus(BaseModel):
    """Login state for ExoFOP (no cookie values, ever)."""

    logged_in: bool = Field(description="true when a valid ExoFOP session is stored")
    username: str | None = None
    valid_sessions: int = Field(0, description="stored sessions that have not expired")
    earliest_expiry: datetime | None = Field(None, description="when the first stored session expires (UTC)")
    remaining_hours: float | None = Field(None, description="hours until the earliest expiry")
    sessions_file: str = Field(description="where sessions are stored (readable only by the user)")
    action: str | None = Field(
        None, description="the command the USER should run in their own terminal, when one is needed"
    )
    message: str = Field(description="a one-line summary for people")


def login_command(username: str | None = None) -> str:
    """The exact terminal command that logs ``username`` in."""
    return f"{LOGIN_COMMAND} --username {shlex.quote(username)}" if username else LOGIN_COMMAND


def current_login_status(
    settings: Settings,
    *,
    username: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> LoginStatus:
    """The login state as stored under the config directory (``username``: look at that user)."""
    path = sessions_path(settings.config_dir)
    moment = now or utc_now()
    data = load_sessions(settings.config_dir)
    env = os.environ if environ is None else environ
    site = settings.origin
    user = active_username(data, username, env, origin=site)
    valid = valid_sessions(data, user, now=moment, margin=SAFETY_MARGIN, origin=site)
    stored = data.sessions_of(user, site)
    elsewhere = [other for other in data.sites_of(user) if other != site]
    never = "To log in, the user runs `{cmd}` in a terminal (the password is never sent through the assistant)."

    if not valid:
        command = login_command(user)
        if data.problem is not None:
            reason = f"Not logged in: {data.problem}"
        elif not data.readable:
            reason = f"Not logged in: the sessions file {path} could not be read."
        elif stored:
            reason = f"Not logged in: the ExoFOP login of {user} at {settings.base_url} has expired."
        elif elsewhere:
            reason = (
                f"Not logged in to {settings.base_url}: the stored login of {user} belongs to "
                f"{', '.join(elsewhere)}, and a session is only ever sent to the site that set it."
            )
        elif user is not None and user in data.users:
            reason = f"Not logged in: ExoFOP no longer accepts the stored login of {user}."
        elif user and data.users:
            others = ", ".join(sorted(data.users))
            reason = f"Not logged in as {user} (stored logins: {others})."
        else:
            reason = "Not logged in."
        return LoginStatus(
            logged_in=False,
            username=user,
            valid_sessions=0,
            sessions_file=str(path),
            action=command,
            message=f"{reason} Public data is available; proprietary TFOP data (first 12 months) needs a login. "
            + never.format(cmd=command),
        )

    earliest = valid[0].expires
    remaining = expires_in_hours(earliest, moment)
    when = earliest.strftime("%Y-%m-%d %H:%M UTC")
    summary = f"Logged in to {settings.base_url} as {user} with {counted(len(valid), 'session')}, valid until {when}"
    action: str | None = None
    if remaining < RENEW_BEFORE_HOURS:
        action = login_command(user)
        message = (
            f"{summary} (expires in {_hours_text(remaining)}): to stay logged in, the user runs `{action}` "
            "in a terminal."
        )
    else:
        message = f"{summary} ({_hours_text(remaining)} left)."
    return LoginStatus(
        logged_in=True,
        username=user,
        valid_sessions=len(valid),
        earliest_expiry=earliest,
        remaining_hours=remaining,
        sessions_file=str(path),
        action=action,
        message=message,
    )


def _hours_text(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{max(0, round(hours * 60))} minutes"


def expires_in_hours(expiry: datetime, now: datetime) -> float:
    return round((expiry - now).total_seconds() / 3600.0, 2)


def renewal_due(status: LoginStatus, within: timedelta = timedelta(hours=RENEW_BEFORE_HOURS)) -> bool:
    """Whether the user should log in (again) now."""
    return not status.logged_in or (
        status.remaining_hours is not None and status.remaining_hours < within.total_seconds() / 3600
    )

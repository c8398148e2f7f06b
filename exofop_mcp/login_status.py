"""Whether proprietary ExoFOP data is reachable: the login state, without secrets.

Logging in happens in the user's terminal (``exofop-mcp login``), never
through an assistant.  This module only reports; it never returns cookie values.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from exofop_mcp.settings import Settings

LOGIN_COMMAND = "exofop-mcp login"


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


def current_login_status(settings: Settings) -> LoginStatus:
    """The login state as stored under the config directory."""
    sessions_file = settings.config_dir / "sessions.json"
    return LoginStatus(
        logged_in=False,
        sessions_file=str(sessions_file),
        action=LOGIN_COMMAND,
        message=(
            "Not logged in: public data is available; proprietary TFOP data (first 12 months) needs a login. "
            f"To log in, the user runs `{LOGIN_COMMAND}` in a terminal (the password is never sent "
            "through the assistant)."
        ),
    )


def expires_in_hours(expiry: datetime, now: datetime) -> float:
    return round((expiry - now).total_seconds() / 3600.0, 2)

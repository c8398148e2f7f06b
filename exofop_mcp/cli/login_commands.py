"""``exofop-mcp login``, ``logout`` and ``status``: the login, in the user's own terminal.

``exofop_mcp.cli.main`` adds these with :func:`add_login_commands` and runs them with
:func:`run_login_command`.  The password is read from a private credential file, the environment or a
no-echo prompt; it is sent to ExoFOP only, never printed, logged or stored.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass as getpass_module
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from exofop_mcp.auth.credentials import PASSWORD_ENV, USERNAME_ENV, resolve_credentials
from exofop_mcp.auth.login import MAX_SESSIONS, default_session_count, login
from exofop_mcp.auth.login_status import current_login_status
from exofop_mcp.auth.session_store import active_username, delete_sessions, load_sessions, sessions_path
from exofop_mcp.cli.arguments import add_settings_options, bounded, settings_from_args
from exofop_mcp.cli.terminal_output import for_terminal
from exofop_mcp.errors import ConfigurationError, ExofopMcpError, InvalidRequestError
from exofop_mcp.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

LOGIN_COMMANDS = ("login", "logout", "status")

_LOGIN_DESCRIPTION = f"""\
Log in to ExoFOP so proprietary TFOP data (the first 12 months after upload) can be downloaded.

The password is read, in this order, from --credential-file, from the environment variables
{USERNAME_ENV} and {PASSWORD_ENV}, or from a prompt that does not echo it (only in a terminal).
It goes to ExoFOP and nowhere else: it is never stored, printed or logged, and never passes
through an assistant. What is stored are the session cookies the site gives back (valid about
a week), in sessions.json under the config directory, readable only by you.

Several sessions are opened because ExoFOP serves one request at a time per session: with N
sessions, N downloads run in parallel; one more than the download concurrency is opened by
default, so that table requests never wait behind downloads."""

_LOGIN_EPILOG = f"""\
credential files (must be private: chmod 600 FILE):
  exofop.txt:    username=alice        exofop.yaml:  username: alice
                 password=s3cret                     password: 's3cret'

examples:
  exofop-mcp login                                  # asks for username and password
  exofop-mcp login --username alice                 # asks for alice's password
  exofop-mcp login --credential-file ~/.exofop.txt  # no prompt (scripts, cron)
  {USERNAME_ENV}=alice {PASSWORD_ENV}=... exofop-mcp login
  exofop-mcp login --sessions 8                     # more parallel downloads"""

_LOGOUT_DESCRIPTION = """\
Forget stored ExoFOP sessions on this computer: those of the active user (the last one logged
in, or EXOFOP_USERNAME) or of --username NAME for the configured site (EXOFOP_BASE_URL) only,
or every session of every user and site with --all. The site forgets the sessions by itself
when they expire."""

_STATUS_DESCRIPTION = """\
Show whether a valid ExoFOP login is stored, for whom, how many sessions and until when.
Never shows a cookie or a password. --json prints the same fields as the login_status tool."""


def add_login_commands(subparsers: Any) -> None:
    """Add ``login``, ``logout`` and ``status`` to an ``argparse`` sub-parsers object."""
    raw = argparse.RawDescriptionHelpFormatter

    login_parser = subparsers.add_parser(
        "login",
        help="log in to ExoFOP (in your terminal; needed for proprietary data)",
        description=_LOGIN_DESCRIPTION,
        epilog=_LOGIN_EPILOG,
        formatter_class=raw,
    )
    login_parser.add_argument("--username", metavar="NAME", help="ExoFOP username (asked for if not given)")
    login_parser.add_argument(
        "--credential-file",
        type=Path,
        metavar="PATH",
        help="read username and password from this private file (.txt or .yaml; chmod 600)",
    )
    login_parser.add_argument(
        "--sessions",
        type=bounded(int, 1, MAX_SESSIONS),
        metavar="N",
        help=f"sessions to open, one per parallel download (default: EXOFOP_MCP_CONCURRENCY + 1; 1-{MAX_SESSIONS})",
    )
    add_settings_options(login_parser)

    logout_parser = subparsers.add_parser(
        "logout",
        help="forget stored ExoFOP sessions",
        description=_LOGOUT_DESCRIPTION,
        epilog="examples:\n  exofop-mcp logout\n  exofop-mcp logout --username bob\n  exofop-mcp logout --all",
        formatter_class=raw,
    )
    who = logout_parser.add_mutually_exclusive_group()
    who.add_argument("--username", metavar="NAME", help="forget this user's sessions")
    who.add_argument("--all", action="store_true", help="forget every stored session (all users)")
    add_settings_options(logout_parser)

    status_parser = subparsers.add_parser(
        "status",
        help="show the ExoFOP login state (no secrets)",
        description=_STATUS_DESCRIPTION,
        epilog="examples:\n  exofop-mcp status\n  exofop-mcp status --json",
        formatter_class=raw,
    )
    status_parser.add_argument("--json", action="store_true", help="print the state as JSON")
    status_parser.add_argument("--username", metavar="NAME", help="look at this user instead of the active one")
    add_settings_options(status_parser)


def run_login_command(
    args: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = input,
    getpass: Callable[[str], str] = getpass_module.getpass,
) -> int:
    """Run ``args.command`` (``login``, ``logout`` or ``status``); return the exit status.

    0: done; 1: it failed (wrong password, site unreachable, bad credential file...); 2: bad usage
    or settings.  Messages go to ``stdout``/``stderr`` (default: the process's).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ
    command = getattr(args, "command", None)
    try:
        settings = settings_from_args(args, env)
        if command == "login":
            return _login(args, settings, out, err, env, interactive, prompt, getpass)
        if command == "logout":
            return _logout(args, settings, out, env)
        if command == "status":
            return _status(args, settings, out, env)
        print(f"exofop-mcp: unknown login command {command!r}", file=err)
        return EXIT_USAGE
    except (ConfigurationError, InvalidRequestError) as exc:
        print(f"exofop-mcp: {exc}", file=err)
        return EXIT_USAGE
    except ExofopMcpError as exc:
        print(f"exofop-mcp: {exc}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nexofop-mcp: cancelled.", file=err)
        return EXIT_INTERRUPTED


def _login(
    args: argparse.Namespace,
    settings: Settings,
    out: TextIO,
    err: TextIO,
    env: Mapping[str, str],
    interactive: bool | None,
    prompt: Callable[[str], str],
    getpass: Callable[[str], str],
) -> int:
    stored = load_sessions(settings.config_dir)
    credentials = resolve_credentials(
        username=getattr(args, "username", None),
        credential_file=getattr(args, "credential_file", None),
        environ=env,
        interactive=interactive,
        default_username=stored.active,
        prompt=prompt,
        getpass=getpass,
    )
    wanted = getattr(args, "sessions", None) or default_session_count(settings)
    sessions = asyncio.run(login(settings, credentials, wanted))
    earliest = min(s.expires for s in sessions)
    print(
        f"Logged in to {settings.base_url} as {credentials.username}: {len(sessions)} "
        f"session{'s' if len(sessions) != 1 else ''}, valid until {earliest.strftime('%Y-%m-%d %H:%M')} UTC.",
        file=out,
    )
    if len(sessions) < wanted:
        print(
            f"Only {len(sessions)} of the {wanted} sessions asked for could be opened (the site had trouble); "
            "downloads will use fewer parallel connections. Run the login again later for all of them.",
            file=out,
        )
    print(f"Sessions saved in {sessions_path(settings.config_dir)} (readable only by you).", file=out)
    env_user = (env.get(USERNAME_ENV) or "").strip()
    if env_user and env_user != credentials.username:
        print(
            f"Note: {USERNAME_ENV}={env_user} is set, so the sessions of {env_user} stay in use; "
            f"unset it to use those of {credentials.username}.",
            file=err,
        )
    return EXIT_OK


def _logout(args: argparse.Namespace, settings: Settings, out: TextIO, env: Mapping[str, str]) -> int:
    if getattr(args, "all", False):
        removed = delete_sessions(settings.config_dir, None)
        if not removed:
            print("No stored ExoFOP sessions.", file=out)
        else:
            total = sum(removed.values())
            print(
                f"Removed all stored ExoFOP sessions ({total} of {', '.join(sorted(removed))}).",
                file=out,
            )
        return EXIT_OK
    # Only the configured site's sessions: a login to another site (a mirror, a replica) stays.
    site = settings.origin
    data = load_sessions(settings.config_dir)
    user = active_username(data, getattr(args, "username", None), env, origin=site)
    if user is None:
        print("No stored ExoFOP sessions.", file=out)
        return EXIT_OK
    removed = delete_sessions(settings.config_dir, user, origin=site)
    if not removed:
        elsewhere = data.sites_of(user)
        if not elsewhere:
            print(f"No stored ExoFOP sessions for {user}.", file=out)
        else:
            print(
                f"No stored ExoFOP sessions for {user} at {site}; {user} has sessions for {', '.join(elsewhere)} "
                "(point EXOFOP_BASE_URL there to log out of it, or `exofop-mcp logout --all` removes every session).",
                file=out,
            )
        return EXIT_OK
    count = removed[user]
    print(f"Logged out {user}: removed {count} stored session{'s' if count != 1 else ''}.", file=out)
    remaining = load_sessions(settings.config_dir)
    others = remaining.sites_of(user)
    if others:
        print(
            f"Only the sessions of {site} were removed; those of {', '.join(others)} stay "
            "(`exofop-mcp logout --all` removes every session).",
            file=out,
        )
    if remaining.active:
        print(f"Stored sessions of {remaining.active} are now the active ones.", file=out)
    return EXIT_OK


def _status(args: argparse.Namespace, settings: Settings, out: TextIO, env: Mapping[str, str]) -> int:
    status = current_login_status(settings, username=getattr(args, "username", None), environ=env)
    if getattr(args, "json", False):
        print(status.model_dump_json(), file=out)
        return EXIT_OK
    print(for_terminal(status.message), file=out)
    print(f"Sessions file: {status.sessions_file}", file=out)
    if status.action:
        print(f"Run: {status.action}", file=out)
    return EXIT_OK

"""exofop-mcp login / logout / status, driven through add_login_commands and run_login_command."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from exofop_mcp.auth.login_status import LoginStatus
from exofop_mcp.auth.session_store import load_sessions, sessions_path
from exofop_mcp.cli.login_commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_login_commands, run_login_command
from exofop_mcp.replica import Replica

PASSWORD = "Pw-7f3a!k9#zz=q"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="exofop-mcp")
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    add_login_commands(sub)
    return root


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def site(replica: Replica) -> Replica:
    replica.configure(accounts={"alice": PASSWORD, "bob": "bobs-secret"})
    return replica


class Cli:
    """Runs a login command against the replica with a private config directory and environment."""

    def __init__(self, base_url: str, config: Path) -> None:
        self.base_url = base_url
        self.config = config
        self.base_env = {"EXOFOP_MCP_RETRY_BASE_DELAY": "0.01", "EXOFOP_MCP_MAX_RETRIES": "1"}

    def __call__(
        self,
        *argv: str,
        env: dict[str, str] | None = None,
        interactive: bool = False,
        getpass: Callable[[str], str] | None = None,
    ) -> Run:
        args = parser().parse_args([*argv, "--base-url", self.base_url, "--config-dir", str(self.config)])
        out, err = io.StringIO(), io.StringIO()
        extra = {"getpass": getpass} if getpass is not None else {}
        code = run_login_command(
            args, stdout=out, stderr=err, environ={**self.base_env, **(env or {})}, interactive=interactive, **extra
        )
        return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(site: Replica, tmp_path: Path) -> Cli:
    return Cli(site.base_url, tmp_path / "config")


def credential_file(tmp_path: Path, username: str = "alice", password: str = PASSWORD, suffix: str = ".txt") -> Path:
    path = tmp_path / f"exofop{suffix}"
    sep = "=" if suffix == ".txt" else ": "
    path.write_text(f"username{sep}{username}\npassword{sep}{password}\n")
    os.chmod(path, 0o600)
    return path


def test_login_with_a_credential_file(cli: Cli, site: Replica, tmp_path: Path) -> None:
    result = cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "2")
    assert result.code == EXIT_OK, result.err
    first = result.out.splitlines()[0]
    assert re.fullmatch(
        rf"Logged in to {re.escape(site.base_url)} as alice: 2 sessions, valid until \d{{4}}-\d\d-\d\d \d\d:\d\d UTC\.",
        first,
    )
    assert str(sessions_path(cli.config)) in result.out
    assert len(load_sessions(cli.config).users["alice"]) == 2


def test_login_with_yaml_file_and_default_session_count(cli: Cli, tmp_path: Path) -> None:
    result = cli("login", "--credential-file", str(credential_file(tmp_path, suffix=".yaml")))
    assert result.code == EXIT_OK, result.err
    assert ": 5 sessions," in result.out  # EXOFOP_MCP_CONCURRENCY (4 by default) + 1 for tables


def test_login_from_the_environment(cli) -> None:
    result = cli("login", "--sessions", "1", env={"EXOFOP_USERNAME": "bob", "EXOFOP_PASSWORD": "bobs-secret"})
    assert result.code == EXIT_OK, result.err
    assert "as bob: 1 session," in result.out


def test_login_with_prompts(cli) -> None:
    asked: list[str] = []

    def fake_getpass(text: str) -> str:
        asked.append(text)
        return PASSWORD

    result = cli("login", "--username", "alice", "--sessions", "1", interactive=True, getpass=fake_getpass)
    assert result.code == EXIT_OK, result.err
    assert asked == ["ExoFOP password for alice: "]


def test_login_refuses_to_prompt_without_a_terminal(cli) -> None:
    result = cli("login")
    assert result.code == EXIT_FAILED
    assert "not a terminal" in result.err
    assert "--credential-file" in result.err and "EXOFOP_PASSWORD" in result.err


def test_wrong_password(cli: Cli, tmp_path: Path) -> None:
    result = cli("login", "--credential-file", str(credential_file(tmp_path, password="nope")))
    assert result.code == EXIT_FAILED
    assert "Invalid username or password" in result.err
    assert "nope" not in result.err + result.out
    assert not sessions_path(cli.config).exists()


def test_group_readable_credential_file(cli: Cli, tmp_path: Path) -> None:
    path = credential_file(tmp_path)
    os.chmod(path, 0o640)
    result = cli("login", "--credential-file", str(path))
    assert result.code == EXIT_FAILED
    assert f"chmod 600 {path}" in result.err
    assert PASSWORD not in result.err


def test_unreachable_site(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = parser().parse_args(
        ["login", "--base-url", f"http://127.0.0.1:{port}", "--config-dir", str(tmp_path), "--username", "alice"]
    )
    out, err = io.StringIO(), io.StringIO()
    env = {"EXOFOP_PASSWORD": PASSWORD, "EXOFOP_MCP_MAX_RETRIES": "0"}
    assert run_login_command(args, stdout=out, stderr=err, environ=env) == EXIT_FAILED
    assert "unreachable" in err.getvalue()


def test_bad_settings_are_usage_errors(tmp_path: Path) -> None:
    args = parser().parse_args(["status", "--base-url", "ftp://nope"])
    err = io.StringIO()
    assert run_login_command(args, stdout=io.StringIO(), stderr=err, environ={}) == EXIT_USAGE
    assert "--base-url" in err.getvalue()
    args = parser().parse_args(["login", "--config-dir", str(tmp_path), "--username", "a"])
    args.sessions = 99  # bypassing argparse's own check
    err = io.StringIO()
    code = run_login_command(args, stdout=io.StringIO(), stderr=err, environ={"EXOFOP_PASSWORD": "x"})
    assert code == EXIT_USAGE


@pytest.mark.parametrize(
    "argv",
    [["login", "--sessions", "0"], ["login", "--sessions", "many"], ["logout", "--all", "--username", "bob"]],
)
def test_argparse_rejects_bad_flags(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parser().parse_args(argv)
    assert info.value.code == 2


@pytest.mark.parametrize("command", ["login", "logout", "status"])
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parser().parse_args([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text
    assert f"exofop-mcp {command}" in text
    if command == "login":
        assert "chmod 600" in text and "--credential-file" in text and "EXOFOP_PASSWORD" in text


def test_status_json_and_text(cli: Cli, tmp_path: Path) -> None:
    before = cli("status", "--json")
    assert before.code == EXIT_OK
    status = LoginStatus.model_validate_json(before.out)
    assert not status.logged_in and status.action == "exofop-mcp login"

    assert cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "2").code == EXIT_OK
    after = cli("status", "--json")
    status = LoginStatus.model_validate_json(after.out)
    assert status.logged_in and status.username == "alice" and status.valid_sessions == 2
    assert status.action is None
    assert 167 < (status.remaining_hours or 0) <= 168
    assert status.sessions_file == str(sessions_path(cli.config))
    assert set(json.loads(after.out)) >= {"logged_in", "username", "valid_sessions", "earliest_expiry", "action"}

    text = cli("status")
    assert text.code == EXIT_OK
    assert "Logged in to" in text.out and "alice" in text.out and "Sessions file:" in text.out
    assert "Run:" not in text.out


def test_status_asks_to_renew_soon_expiring_sessions(cli: Cli, site: Replica, tmp_path: Path) -> None:
    site.configure(session_ttl=6 * 3600)
    assert cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "1").code == EXIT_OK
    status = LoginStatus.model_validate_json(cli("status", "--json").out)
    assert status.logged_in
    assert status.action == "exofop-mcp login --username alice"
    assert "to stay logged in" in status.message
    assert "Run: exofop-mcp login --username alice" in cli("status").out


def test_status_after_expiry(cli: Cli, site: Replica, tmp_path: Path) -> None:
    site.configure(session_ttl=60)  # shorter than the safety margin: expired at once for our purposes
    assert cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "1").code == EXIT_OK
    status = LoginStatus.model_validate_json(cli("status", "--json").out)
    assert not status.logged_in and status.valid_sessions == 0
    assert "expired" in status.message
    assert status.action == "exofop-mcp login --username alice"


def test_logout_one_user_then_all(cli: Cli, tmp_path: Path) -> None:
    assert cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "2").code == EXIT_OK
    bob = {"EXOFOP_USERNAME": "bob", "EXOFOP_PASSWORD": "bobs-secret"}
    assert cli("login", "--sessions", "1", env=bob).code == EXIT_OK

    result = cli("logout")  # the active user: bob, who logged in last
    assert result.code == EXIT_OK
    assert "Logged out bob: removed 1 stored session." in result.out
    assert "alice are now the active ones" in result.out
    assert load_sessions(cli.config).usernames() == ["alice"]

    assert "No stored ExoFOP sessions for bob." in cli("logout", "--username", "bob").out
    assert cli("login", "--sessions", "1", env=bob).code == EXIT_OK

    result = cli("logout", "--username", "alice")
    assert "Logged out alice: removed 2 stored sessions." in result.out
    assert cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "2").code == EXIT_OK

    result = cli("logout", "--all")
    assert result.code == EXIT_OK
    assert "Removed all stored ExoFOP sessions (3 of alice, bob)." in result.out
    assert not sessions_path(cli.config).exists()
    assert cli("logout").out.strip() == "No stored ExoFOP sessions."
    assert cli("logout", "--all").out.strip() == "No stored ExoFOP sessions."


def test_multiple_users_and_the_environment(cli: Cli, tmp_path: Path) -> None:
    assert cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "1").code == EXIT_OK
    bob = cli(
        "login",
        "--sessions",
        "1",
        env={"EXOFOP_USERNAME": "alice", "EXOFOP_PASSWORD": "bobs-secret"},
        interactive=True,
        getpass=lambda _: "bobs-secret",
    )
    assert bob.code == EXIT_FAILED  # EXOFOP_PASSWORD belongs to EXOFOP_USERNAME=alice; it is wrong for alice
    result = cli(
        "login",
        "--username",
        "bob",
        "--sessions",
        "1",
        env={"EXOFOP_USERNAME": "alice"},
        interactive=True,
        getpass=lambda _: "bobs-secret",
    )
    assert result.code == EXIT_OK, result.err
    assert "EXOFOP_USERNAME=alice is set, so the sessions of alice stay in use" in result.err
    assert LoginStatus.model_validate_json(cli("status", "--json", env={"EXOFOP_USERNAME": "alice"}).out).username == (
        "alice"
    )
    assert LoginStatus.model_validate_json(cli("status", "--json").out).username == "bob"
    assert LoginStatus.model_validate_json(cli("status", "--json", "--username", "alice").out).username == "alice"
    other = LoginStatus.model_validate_json(cli("status", "--json", "--username", "carol").out)
    assert not other.logged_in and other.action == "exofop-mcp login --username carol"
    assert "stored logins: alice, bob" in other.message


def test_unknown_command_is_a_usage_error() -> None:
    err = io.StringIO()
    code = run_login_command(argparse.Namespace(command="dance"), stdout=io.StringIO(), stderr=err, environ={})
    assert code == EXIT_USAGE


def test_real_process_without_a_terminal(tmp_path: Path) -> None:
    """In a child process whose stdin is not a terminal, login explains how to log in without prompts."""
    import subprocess
    import sys

    script = (
        "import argparse, sys\n"
        "from exofop_mcp.cli.login_commands import add_login_commands, run_login_command\n"
        "p = argparse.ArgumentParser(prog='exofop-mcp')\n"
        "add_login_commands(p.add_subparsers(dest='command'))\n"
        "sys.exit(run_login_command(p.parse_args(sys.argv[1:])))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXOFOP_")}
    done = subprocess.run(
        [sys.executable, "-c", script, "login", "--base-url", "http://127.0.0.1:9", "--config-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == EXIT_FAILED
    assert "standard input is not a terminal" in done.stderr
    assert "--credential-file" in done.stderr
    assert done.stdout == ""


def test_logout_removes_only_the_configured_sites_sessions(cli: Cli, tmp_path: Path) -> None:
    from datetime import timedelta

    from exofop_mcp.auth.session_store import StoredSession, store_login, utc_now

    assert cli("login", "--credential-file", str(credential_file(tmp_path)), "--sessions", "2").code == EXIT_OK
    here = load_sessions(cli.config).sessions_of("alice")
    now = utc_now()
    real = StoredSession(
        "PHPSESSID", "real-site-cookie", now, now + timedelta(days=6), "https://exofop.ipac.caltech.edu"
    )
    store_login(cli.config, "alice", [*here, real])

    result = cli("logout")
    assert result.code == EXIT_OK
    assert "Logged out alice: removed 2 stored sessions." in result.out
    assert "those of https://exofop.ipac.caltech.edu stay" in result.out and "logout --all" in result.out
    left = load_sessions(cli.config).sessions_of("alice")
    assert [s.site for s in left] == ["https://exofop.ipac.caltech.edu"]

    again = cli("logout")  # nothing of this site is left; the other site's login is named
    assert "No stored ExoFOP sessions for alice at" in again.out and "exofop.ipac.caltech.edu" in again.out
    assert len(load_sessions(cli.config).sessions_of("alice")) == 1

    assert "Removed all stored ExoFOP sessions (1 of alice)." in cli("logout", "--all").out
    assert not sessions_path(cli.config).exists()

"""The password and the session cookies never show up in logs, errors, command output or the status JSON."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
from pathlib import Path

import httpx
import pytest

from exofop_mcp.auth.credentials import Credentials, resolve_credentials
from exofop_mcp.auth.login import login
from exofop_mcp.auth.login_status import current_login_status
from exofop_mcp.auth.session_pool import SessionPool
from exofop_mcp.auth.session_store import load_sessions, sessions_path
from exofop_mcp.cli.login_commands import add_login_commands, run_login_command
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.replica import Replica
from exofop_mcp.site.client import cookie_header, non_persistent_cookies
from tests.helpers.environment import make_settings

PASSWORD = "Pw-7f3a!k9#zz=q"


def run_cli(argv: list[str], env: dict[str, str]) -> str:
    root = argparse.ArgumentParser(prog="exofop-mcp")
    add_login_commands(root.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = run_login_command(root.parse_args(argv), stdout=out, stderr=err, environ=env, interactive=False)
    return f"exit {code}\n{out.getvalue()}\n{err.getvalue()}"


def test_no_secret_anywhere(replica: Replica, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    replica.configure(accounts={"alice": PASSWORD})
    settings = make_settings(replica.base_url, tmp_path, concurrency=3)
    seen: list[str] = []  # everything a person, an assistant or a log file could see
    common = ["--base-url", replica.base_url, "--config-dir", str(settings.config_dir)]
    env = {"EXOFOP_MCP_RETRY_BASE_DELAY": "0.01", "EXOFOP_MCP_MAX_RETRIES": "1"}

    def record_error(exc: BaseException) -> None:
        seen.extend([str(exc), repr(exc), str(getattr(exc, "hint", "")), str(exc.args)])

    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    with caplog.at_level(logging.DEBUG):
        # A wrong password, then a right one, through the API and through the command line.
        wrong = Credentials("alice", PASSWORD[::-1])
        with pytest.raises(ExofopMcpError) as info:
            asyncio.run(login(settings, wrong, 2))
        record_error(info.value)
        creds = Credentials("alice", PASSWORD, source="test")
        seen.append(repr(creds))
        seen.append(str(creds))
        sessions = asyncio.run(login(settings, creds, 3))
        seen.extend(repr(s) for s in sessions)

        secret_file = tmp_path / "exofop.yaml"
        secret_file.write_text(f"username: alice\npassword: '{PASSWORD}'\n")
        os.chmod(secret_file, 0o644)
        seen.append(run_cli(["login", "--credential-file", str(secret_file), *common], env))  # refused: world-readable
        os.chmod(secret_file, 0o600)
        seen.append(run_cli(["login", "--credential-file", str(secret_file), "--sessions", "2", *common], env))
        seen.append(run_cli(["login", "--username", "alice", *common], {**env, "EXOFOP_PASSWORD": PASSWORD}))
        seen.append(run_cli(["status", *common], env))
        seen.append(run_cli(["status", "--json", *common], env))
        status = current_login_status(settings, environ={})
        seen.append(status.model_dump_json())
        seen.append(repr(status))

        # A credential line that is not key=value, holding only the password.
        bad = tmp_path / "bad.txt"
        bad.write_text(f"username=alice\n{PASSWORD.replace('=', '')}\n")
        os.chmod(bad, 0o600)
        try:
            resolve_credentials(credential_file=bad, environ={}, interactive=False)
        except ExofopMcpError as exc:
            record_error(exc)

        # The pool at work, including a session reported dead.
        pool = SessionPool.from_settings(settings, environ={})
        seen.append(repr(pool))

        async def use_pool() -> None:
            async with httpx.AsyncClient(base_url=settings.tess_url + "/", cookies=non_persistent_cookies()) as http:
                for _ in range(2):
                    async with pool.lease() as cookies:
                        page = await http.get("index.php", headers=cookie_header(cookies))
                        assert page.status_code == 200
            async with pool.lease() as cookies:
                pool.mark_dead(cookies)

        asyncio.run(use_pool())
        seen.append(run_cli(["logout", *common], env))

    cookie_values = {s.cookie_value for s in sessions} | {r.session for r in replica.requests if r.session}
    assert cookie_values
    messages = [record.getMessage() for record in caplog.records]
    exceptions = [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    haystack = "\n".join(seen + messages + exceptions)
    assert "Logged in to" in haystack and "Invalid username or password" in haystack  # the scan saw real output
    for secret in (PASSWORD, PASSWORD.replace("=", ""), PASSWORD[::-1]):
        assert secret not in haystack
    for value in cookie_values:
        assert value not in haystack, "a session cookie leaked"
    # The only file that holds cookies is the private sessions file; the password is in no file we wrote.
    assert (
        not sessions_path(settings.config_dir).exists()
        or PASSWORD not in sessions_path(settings.config_dir).read_text()
    )
    assert load_sessions(settings.config_dir).users.get("alice") is None

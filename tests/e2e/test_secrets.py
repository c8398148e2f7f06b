"""A whole logged-in session at DEBUG level leaks neither the password nor any session cookie.

Logins (a wrong password, then the right one, in-process and through ``exofop-mcp login
--log-level DEBUG``), then tool calls through an in-process MCP client and through a stdio server
started with ``--log-level DEBUG``: proprietary downloads, listings, ``login_status``, errors and a
login the site has forgotten.  Then everything a person, an assistant or a log could see is
searched for every secret: log records of every logger, the servers' stderr, command output, tool
results (text and structured content), error messages, manifests and every file in the sandbox
and the cache.  The only file allowed to hold cookies is the private ``sessions.json``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from mcp import Client, StdioServerParameters

from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.auth.session_store import load_sessions, sessions_path
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import dataset
from tests.helpers.environment import server_env
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio

PASSWORD = "Pw-7f3a!k9#zz=q&x y;é"
WRONG = "not-the-" + PASSWORD
SYSTEM = f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}"
TAGS = list(dataset.PROPRIETARY_TAGS)


def exofop_mcp_command() -> str:
    found = shutil.which("exofop-mcp") or str(Path(sys.executable).parent / "exofop-mcp")
    assert Path(found).exists(), "the exofop-mcp command is not installed"
    return found


def shown(result: Any) -> str:
    """All an MCP client receives from one call: the text and the structured content."""
    return text_of(result) + "\n" + json.dumps(result.structured_content or {}, ensure_ascii=False)


def cookies_of(settings) -> set[str]:
    return {s.cookie_value for s in load_sessions(settings.config_dir).users.get("alice", [])}


def variants(secret: str) -> set[str]:
    """A secret as it could appear: raw, URL-encoded (form bodies, query strings) and JSON-escaped."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


def file_texts(root: Path, skip: set[Path] = frozenset()) -> dict[Path, str]:  # type: ignore[assignment]
    return {
        p: p.read_bytes().decode("utf-8", "replace")
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and p not in skip
    }


@pytest.mark.slow
async def test_logged_in_session_at_debug_level_leaks_no_secret(warm_settings, replica, tmp_path, caplog):
    replica.configure(accounts={"alice": PASSWORD}, tag_size=64 * 1024)
    for name in ["", *logging.root.manager.loggerDict]:  # every logger, whatever level a library set
        caplog.set_level(logging.DEBUG, logger=name)
    seen: list[str] = []  # everything a person, an assistant or a log file could see
    cookies: set[str] = set()

    # -- logging in, in-process: a wrong password first, then the right one --------------------------
    with pytest.raises(ExofopMcpError) as refused:
        await login(warm_settings, Credentials("alice", WRONG, source="test"), 2)
    seen += [str(refused.value), repr(refused.value), str(refused.value.args)]
    sessions = await login(warm_settings, Credentials("alice", PASSWORD, source="test"), 3)
    seen += [repr(s) for s in sessions]
    cookies |= cookies_of(warm_settings)
    assert len(cookies) == 3

    # -- an assistant's session through an in-process MCP client ---------------------------------
    async with Client(build_server(warm_settings)) as client:
        calls: list[tuple[str, dict[str, Any]]] = [
            ("login_status", {}),
            ("resolve_system", {"query": SYSTEM}),
            ("list_observations", {"system": SYSTEM, "kind": "time_series"}),
            ("list_observations", {"system": SYSTEM, "kind": "spectroscopy"}),
            ("download_tags", {"system": SYSTEM, "tags": TAGS, "keep_zip": True, "wait_seconds": 60}),
            ("list_downloads", {}),
            ("resolve_system", {"query": "TOI-999999"}),
            ("download_tags", {"system": SYSTEM, "tags": [0]}),
            ("cancel_download", {"job_id": "abcdef123456"}),
        ]
        results = {}
        for name, args in calls:
            result = await client.call_tool(name, args)
            seen.append(shown(result))
            results.setdefault(name, result)
        report = results["download_tags"].structured_content
        assert report["totals"] == {"downloaded": 3}, report
        status = await client.call_tool("download_status", {"job_id": report["job_id"], "wait_seconds": 0})
        seen.append(shown(status))
        assert results["login_status"].structured_content["logged_in"] is True
        # the site forgets the sessions: the answer says to log in again, still without a secret
        replica.clear_sessions()
        forgotten = await client.call_tool("download_tags", {"system": SYSTEM, "tags": TAGS[:1], "overwrite": True})
        seen.append(shown(forgotten))
        assert forgotten.structured_content["results"][0]["status"] == "login_required"

    # -- the user logs in again from a terminal, at DEBUG level --------------------------------------
    credential_file = tmp_path / "exofop.txt"
    credential_file.write_text(f"username=alice\npassword={PASSWORD}\n")
    os.chmod(credential_file, 0o600)
    env = server_env(warm_settings)
    command = [exofop_mcp_command(), "login", "--credential-file", str(credential_file), "--sessions", "2"]
    done = subprocess.run([*command, "--log-level", "DEBUG"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen += [done.stdout, done.stderr]
    assert "DEBUG" in done.stderr  # the scan below reads a real debug log
    cookies |= cookies_of(warm_settings)
    assert len(cookies) == 5

    # -- the same through a stdio server started with --log-level DEBUG ------------------------------
    stderr_log = tmp_path / "server-stderr.log"
    params = StdioServerParameters(
        command="/bin/sh",
        args=["-c", 'exec "$0" serve --log-level DEBUG 2>"$1"', exofop_mcp_command(), str(stderr_log)],
        env=env,
    )
    async with Client(params) as client:
        for name, args in [
            ("login_status", {}),
            ("download_tags", {"system": SYSTEM, "tags": TAGS, "overwrite": True, "wait_seconds": 60}),
            ("list_observations", {"system": SYSTEM, "kind": "spectroscopy"}),
            ("list_downloads", {"system": SYSTEM}),
            ("download_status", {"job_id": "abcdef123456"}),
            ("resolve_system", {"query": "a\r\nCookie: PHPSESSID=x"}),
        ]:
            result = await client.call_tool(name, args)
            seen.append(shown(result))
            if name == "download_tags":
                assert result.structured_content["totals"] == {"downloaded": 3}, shown(result)
    server_log = stderr_log.read_text(encoding="utf-8", errors="replace")
    assert "DEBUG" in server_log and "httpcore" in server_log and "download_tag_files_zip.php" in server_log
    seen.append(server_log)

    # every archive was fetched logged in, with a session the scan looks for
    archives = [r for r in replica.requests if r.path.endswith("download_tag_files_zip.php")]
    assert archives and all(r.session for r in archives)
    assert sum(r.user == "alice" for r in archives) == 2 * len(TAGS)  # the other one met a forgotten session
    cookies |= {r.session for r in replica.requests if r.session}
    assert len(cookies) >= 5

    # -- the search ----------------------------------------------------------------------------------
    records = [caplog.handler.format(record) for record in caplog.records]
    assert any("httpcore" in line for line in records), "DEBUG records of the HTTP stack were not captured"
    sandbox = file_texts(warm_settings.data_dir)
    manifest = json.loads((warm_settings.data_dir / "TOI-7037" / "manifest.json").read_text())
    assert {manifest["tags"][str(t)]["status"] for t in TAGS} == {"downloaded"}
    cache = file_texts(warm_settings.cache_dir)
    store = sessions_path(warm_settings.config_dir)
    config = file_texts(warm_settings.config_dir, skip={store})
    places = {
        "what was shown": "\n".join(seen),
        "log records": "\n".join(records) + caplog.text,
        **{f"sandbox file {p}": text for p, text in sandbox.items()},
        **{f"cache file {p}": text for p, text in cache.items()},
        **{f"config file {p}": text for p, text in config.items()},
    }
    secrets = variants(PASSWORD) | variants(WRONG) | cookies
    leaks = [f"{where}: {secret[:6]}…" for where, text in places.items() for secret in secrets if secret in text]
    assert leaks == [], "secrets leaked:\n" + "\n".join(leaks)
    # the private sessions file holds the cookies, never the password, and only its owner can read it
    assert not any(v in store.read_text() for v in variants(PASSWORD))
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700

"""The one request path to ExoFOP: only the client touches the HTTP connection pool, one retry loop, cookies
kept where they belong, and a site package that depends on no other part of the project."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from exofop_mcp.site.client import ExofopClient, TransientFailure
from exofop_mcp.site.retry_policy import RetryPolicy
from exofop_mcp.site.transport_errors import ExofopUnreachableError
from tests.helpers.environment import make_settings

PACKAGE = Path(__file__).resolve().parents[2] / "exofop_mcp"
CLIENT = PACKAGE / "site" / "client.py"


def _production_modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "replica" not in p.relative_to(PACKAGE).parts]


def test_only_the_client_touches_the_connection_pool() -> None:
    """No ``<client>.http`` (or the private pool) and no ``httpx.AsyncClient`` outside the client.

    (``args.http``, the ``serve --http`` flag of the command line, is an argparse value, not a client.)
    """
    offenders = []
    for path in _production_modules():
        if path == CLIENT:
            continue
        text = path.read_text()
        if "httpx.AsyncClient" in text or "AsyncClient(" in text:
            offenders.append(f"{path.relative_to(PACKAGE)}: httpx.AsyncClient")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Attribute) or node.attr not in ("http", "_http", "_pool"):
                continue
            if isinstance(node.value, ast.Name) and node.value.id == "args":
                continue
            offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: .{node.attr}")
    assert offenders == []


def test_only_the_client_counts_requests() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in _production_modules()
        if path != CLIENT and "requests_sent" in path.read_text()
    ]
    assert offenders == []


def test_the_site_package_imports_no_other_part_of_the_project() -> None:
    forbidden = ("auth", "downloads", "doctor", "mcp_server", "cli", "replica")
    found = []
    for path in (PACKAGE / "site").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                parts = name.split(".")
                if parts[0] == "exofop_mcp" and len(parts) > 1 and parts[1] in forbidden:
                    found.append(f"{path.name}: {name}")
    assert found == []


@pytest.mark.anyio
async def test_the_shared_pool_keeps_no_cookie_and_a_cookie_session_keeps_its_own(
    replica: Replica, settings: Settings
) -> None:
    async with ExofopClient(settings) as client:
        session = client.cookie_session()
        form = await session.get("login.php", {"ref": "/tess/"})
        assert form.status_code == 200 and "PHPSESSID" in form.headers.get("Set-Cookie", "")
        await session.get("index.php")
        await client.get("index.php")
        other = client.cookie_session()
        await other.get("index.php")
    mine, anonymous, stranger = (r for r in replica.requests if r.path == "/tess/index.php")
    assert mine.session is not None  # the session's own jar sent the cookie the site set
    assert anonymous.session is None  # the shared pool kept nothing
    assert stranger.session is None  # another session's jar starts empty
    assert client.requests_sent == 4


@pytest.mark.anyio
async def test_every_request_names_exofop_mcp(replica: Replica, settings: Settings) -> None:
    async with ExofopClient(settings) as client:
        assert client.user_agent.startswith("exofop-mcp/")
        await client.get_text("index.php")


@pytest.mark.anyio
async def test_the_loop_retries_transient_failures_and_reports_the_last(settings: Settings) -> None:
    client = ExofopClient(settings, retry=RetryPolicy(max_retries=2, base_delay=0.0))
    tried: list[int] = []

    async def flaky(number: int) -> str:
        tried.append(number)
        if number < 3:
            raise TransientFailure(f"failure {number}")
        return "answer"

    assert await client.retrying("flaky", flaky) == "answer" and tried == [1, 2, 3]

    async def always(number: int) -> str:
        raise TransientFailure(f"failure {number}")

    with pytest.raises(TransientFailure) as info:
        await client.retrying("always", always)
    assert info.value.reason == "failure 3" and info.value.attempts == 3

    async def final(number: int) -> str:
        raise TransientFailure("worth no other attempt", final=True)

    with pytest.raises(TransientFailure) as info:
        await client.retrying("final", final)
    assert info.value.attempts == 1

    async def timed_out(number: int) -> str:
        raise TransientFailure("no answer in time", timed_out=True)

    with pytest.raises(TransientFailure) as info:
        await client.retrying("timed out", timed_out, policy=RetryPolicy(max_retries=3, retry_timeouts=False))
    assert info.value.attempts == 1
    await client.aclose()


@pytest.mark.anyio
async def test_no_answer_names_the_cause_precisely(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(f"http://127.0.0.1:{port}", tmp_path, max_retries=1)
    async with ExofopClient(settings) as client:
        with pytest.raises(ExofopUnreachableError) as info:
            await client.get_text("download_toi.php", {"output": "pipe"})
    error = info.value
    assert error.attempts == 2 and client.requests_sent == 2
    assert f"connection refused by 127.0.0.1:{port}" in error.description
    message = str(error)
    assert f"ExoFOP at http://127.0.0.1:{port} is unreachable: download_toi.php could not connect" in message
    assert "2 attempt(s)" in message and "EXOFOP_BASE_URL" in message


@pytest.mark.anyio
async def test_a_server_error_is_retried_then_reported_with_the_attempts(replica: Replica, settings: Settings) -> None:
    replica.configure(error_rate=1.0, fault_paths=("gototicid.php",), fault_kinds=("5xx",))
    async with ExofopClient(settings) as client:
        answer = await client.fetch("gototicid.php", {"target": "TOI-1130", "json": ""})
    assert answer.response.status_code >= 500 and answer.attempts == settings.max_retries + 1
    assert replica.count("gototicid.php") == settings.max_retries + 1

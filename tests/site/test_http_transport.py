"""The streamable HTTP transport: `exofop-mcp serve --http` on 127.0.0.1, driven by a real MCP client."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from mcp import Client

from tests.helpers.environment import server_env

# each test starts `exofop-mcp serve --http` in a child process
pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server(warm_settings):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "exofop_mcp", "serve", "--http", "--port", str(port)],
        env=server_env(warm_settings),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited") from None
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)


async def test_tools_over_streamable_http(http_server):
    async with Client(http_server) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"resolve_system", "list_observations", "download_tags", "login_status"} <= tools
        result = await client.call_tool("resolve_system", {"query": "toi_1130.02"})
        assert not result.is_error and result.structured_content["canonical_name"] == "TOI-1130"
        page = await client.call_tool("list_observations", {"system": "TOI-1130", "kind": "imaging"})
        assert not page.is_error and page.structured_content["total"] == 4
        bad = await client.call_tool("list_observations", {"system": "TOI-1130", "limit": 0})
        assert bad.is_error


def test_http_refuses_a_public_host(warm_settings):
    out = subprocess.run(
        [sys.executable, "-m", "exofop_mcp", "serve", "--http", "--host", "0.0.0.0"],
        env=server_env(warm_settings),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2 and "loopback" in out.stderr

"""Conformance with MCP clients written elsewhere: the TypeScript SDK client and the MCP Inspector CLI.

The clients are the npm packages pinned in ``conformance/package-lock.json`` (``npm ci --prefix
conformance`` installs them; CI does it). Both run against the installed ``exofop-mcp``, over stdio
and over streamable HTTP, pointed at the replica; see ``conformance/README.md``. Without node, npm
or the installed packages these tests are skipped with a message saying so, never passed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.environment import server_env

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "conformance"
PACKAGES = ("@modelcontextprotocol/sdk", "@modelcontextprotocol/inspector")
INSTALL_HINT = "install the pinned clients with: npm ci --prefix conformance"

QUICK_TAGS = (18493, 18598)
# Tags made 1 MiB and served at 512 KiB/s per connection, so that a download takes ~2 s: long
# enough to see progress notifications and to cancel a call or a job while it runs.
PROGRESS_TAGS = (19121, 19188, 19442)
CANCEL_TAGS = (23225, 33589)
JOB_TAGS = (40380, 43953)
SLOW_TAG_SIZE = 2**20
SLOW_BANDWIDTH = 512 * 1024
NODE_TIMEOUT = 150

# Warnings the scripts are known to print today; any other warning fails the test.
KNOWN_WARNINGS = (
    # Over streamable HTTP the mcp SDK answers a cancelled request with error -32800 (the MCP
    # spec says it SHOULD NOT answer); the TypeScript client ignores that answer.
    "the server answered the cancelled request",
    "client transport error: Received a response for an unknown message ID",
)


def _missing_clients() -> str | None:
    """Why the conformance clients cannot run here, or None."""
    if shutil.which("node") is None:
        return "`node` is not on PATH (Node.js 20+ and npm are needed)"
    if shutil.which("npm") is None:
        return "`npm` is not on PATH"
    for package in PACKAGES:
        if not (CONFORMANCE / "node_modules" / package / "package.json").exists():
            return f"{package} is not installed in conformance/node_modules"
    return None


MISSING = _missing_clients()
# Node clients in child processes: CI runs these, the fast loop (-m "not slow") does not.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING is not None, reason=f"MCP CONFORMANCE SUITE NOT RUN: {MISSING}; {INSTALL_HINT}"),
]


@pytest.fixture(scope="module")
def node_clients() -> str:
    """The path of `node`, once the installed clients are checked against the pinned versions."""
    pinned = pinned_versions()
    for package in PACKAGES:
        installed = json.loads((CONFORMANCE / "node_modules" / package / "package.json").read_text())["version"]
        assert installed == pinned[package], (
            f"conformance/node_modules has {package} {installed}, the lockfile pins {pinned[package]}; {INSTALL_HINT}"
        )
    node = shutil.which("node")
    assert node is not None
    return node


def pinned_versions() -> dict[str, str]:
    dependencies: dict[str, str] = json.loads((CONFORMANCE / "package.json").read_text())["dependencies"]
    return dependencies


def exofop_mcp_command() -> str:
    found = shutil.which("exofop-mcp") or str(Path(sys.executable).parent / "exofop-mcp")
    assert Path(found).exists(), "the exofop-mcp command is not installed"
    return found


def slow_down(replica: Replica) -> None:
    sizes = {tag: SLOW_TAG_SIZE for tag in (*PROGRESS_TAGS, *CANCEL_TAGS, *JOB_TAGS)}
    replica.configure(tag_sizes=sizes, bandwidth=SLOW_BANDWIDTH)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_url(warm_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """`exofop-mcp serve --http` on a free port; yields its MCP endpoint."""
    port = free_port()
    log_path = tmp_path / "http-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [exofop_mcp_command(), "serve", "--http", "--port", str(port)],
            env=server_env(warm_settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"exofop-mcp serve --http did not start:\n{log_path.read_text()}") from None
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/mcp"  # the server's log: tmp_path / "http-server.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stdio_target(settings: Settings) -> list[str]:
    args = ["--stdio", exofop_mcp_command()]
    for key, value in server_env(settings).items():
        args += ["--env", f"{key}={value}"]
    return args


def run_node(node: str, script: str, target: list[str], *extra: str, server_log: Path | None = None) -> dict[str, Any]:
    """Run a conformance script; return its JSON summary, failing with its own report when it fails."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EXOFOP_")}
    out = subprocess.run(
        [node, str(CONFORMANCE / script), *target, *extra],
        cwd=CONFORMANCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    log_tail = f"\n\nserver log (tail):\n{server_log.read_text()[-3000:]}" if server_log and server_log.exists() else ""
    try:
        summary = json.loads(out.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"{script} printed no JSON summary (exit {out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}"
            + log_tail
        )
    if out.returncode != 0 or not summary.get("ok"):
        failed = [check for check in summary.get("checks", []) if not check.get("ok")]
        lines = "\n".join(f"  - {c['name']}: {c.get('detail')}" for c in failed)
        pytest.fail(
            f"{script} failed (exit {out.returncode}) over {summary.get('target')}:\n{lines}\n\n{out.stderr[-5000:]}"
            + log_tail
        )
    print(out.stderr)  # the per-check log and any warnings, shown with -s or on failure
    return summary


def ts_client_options() -> list[str]:
    def csv(tags: tuple[int, ...]) -> str:
        return ",".join(map(str, tags))

    return [
        "--strict-output",
        "--quick-tags",
        csv(QUICK_TAGS),
        "--progress-tags",
        csv(PROGRESS_TAGS),
        "--cancel-tags",
        csv(CANCEL_TAGS),
        "--job-tags",
        csv(JOB_TAGS),
    ]


def assert_complete(summary: dict[str, Any], transport: str) -> None:
    assert summary["transport"] == transport
    checks = summary["checks"]
    assert isinstance(checks, list) and checks and all(check["ok"] for check in checks)
    unexpected = [warning for warning in summary["warnings"] if not warning.startswith(KNOWN_WARNINGS)]
    assert not unexpected, f"new conformance warnings over {transport}: {unexpected}"


def test_typescript_sdk_client_over_stdio(node_clients: str, replica: Replica, warm_settings: Settings) -> None:
    slow_down(replica)
    summary = run_node(node_clients, "ts_client.mjs", stdio_target(warm_settings), *ts_client_options())
    assert_complete(summary, "stdio")
    assert summary["versions"] == pinned_versions()
    names = [check["name"] for check in summary["checks"]]
    assert any(name.startswith("progress notifications") for name in names)
    assert any(name.startswith("cancel a download_tags call") for name in names)
    assert any(name.startswith("download_tags of every time-series tag") for name in names)  # paged reports
    assert any(name.startswith("list_observations: the text alone") for name in names)
    assert sum(name.startswith("invalid ") for name in names) >= 7  # at least one per tool that takes arguments


def test_typescript_sdk_client_over_streamable_http(
    node_clients: str, replica: Replica, http_url: str, tmp_path: Path
) -> None:
    slow_down(replica)
    log = tmp_path / "http-server.log"
    summary = run_node(node_clients, "ts_client.mjs", ["--url", http_url], *ts_client_options(), server_log=log)
    assert_complete(summary, "http")


def test_inspector_cli_over_stdio(node_clients: str, replica: Replica, warm_settings: Settings) -> None:
    summary = run_node(node_clients, "inspector_checks.mjs", stdio_target(warm_settings))
    assert_complete(summary, "stdio")
    assert any("exit 5" in check["name"] for check in summary["checks"])


def test_inspector_cli_over_streamable_http(node_clients: str, replica: Replica, http_url: str, tmp_path: Path) -> None:
    log = tmp_path / "http-server.log"
    summary = run_node(node_clients, "inspector_checks.mjs", ["--url", http_url], server_log=log)
    assert_complete(summary, "http")
    assert any("the text names each tag's status" in check["name"] for check in summary["checks"])

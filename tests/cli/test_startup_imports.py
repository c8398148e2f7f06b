"""What the server's start imports: not the replica (its dataset pulls in numpy), unless it is asked for."""

from __future__ import annotations

import subprocess
import sys

from exofop_mcp.settings import Settings
from tests.helpers.environment import server_env

# Runs the command's main() in a fresh interpreter and prints, at exit, the replica modules it imported.
PROBE = (
    "import sys, atexit\n"
    "atexit.register(lambda: print(sorted(m for m in sys.modules if m.startswith('exofop_mcp.replica'))))\n"
    "from exofop_mcp.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
)


def _run(settings: Settings, *argv: str) -> tuple[str, str]:
    """The command's output, and the replica modules it had imported when it ended."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        stdin=subprocess.DEVNULL,  # the stdio server ends at once: its client has gone
        capture_output=True,
        text=True,
        timeout=120,
        env=server_env(settings),
    )
    assert done.returncode == 0, done.stderr
    *output, modules = done.stdout.strip().splitlines()
    return "\n".join(output), modules


def test_the_server_starts_without_the_replica(warm_settings):
    assert _run(warm_settings)[1] == "[]"
    assert _run(warm_settings, "serve")[1] == "[]"


def test_the_replica_command_still_has_its_flags(warm_settings):
    output, modules = _run(warm_settings, "replica", "--help")
    assert "--latency" in output and "--faults" in output, output
    assert "exofop_mcp.replica.cli" in modules

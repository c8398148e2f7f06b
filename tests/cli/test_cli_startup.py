"""What a new user meets first: a busy HTTP port, `schemas --check` outside a checkout."""

from __future__ import annotations

import pytest

from exofop_mcp.cli.main import main
from tests.helpers.environment import server_env


@pytest.fixture
def env(settings, monkeypatch):
    for name, value in server_env(settings).items():
        monkeypatch.setenv(name, value)
    return settings


def test_serve_http_on_a_busy_port_says_so(env, capsys):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["serve", "--http", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port N" in err and "Traceback" not in err


def test_schemas_check_without_a_schemas_directory(env, capsys, tmp_path):
    assert main(["schemas", "--check", "--dir", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "no schemas directory" in err and "stale" not in err


def test_one_ctrl_c_stops_the_stdio_server_in_a_terminal(settings) -> None:
    """Started by hand in a terminal (stdin a tty), the server stops at the first Ctrl-C, with no Ctrl-D."""
    import os
    import pty
    import signal
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    command = [sys.executable, "-m", "exofop_mcp", "serve"]
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=server_env(settings))
    try:
        deadline = time.monotonic() + 30
        started = b""
        while b"Ctrl-C to stop" not in started and time.monotonic() < deadline:  # the banner: it is listening
            started += os.read(proc.stderr.fileno(), 4096) if proc.stderr else b""
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 130
        assert b"interrupted" in (proc.stderr.read() if proc.stderr else b"")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)

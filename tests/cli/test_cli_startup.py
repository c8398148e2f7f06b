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

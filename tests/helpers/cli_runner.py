"""Running ``exofop-mcp ...`` in the test's process, as a person at a terminal would, with captured output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from exofop_mcp.cli.main import main
from exofop_mcp.settings import Settings
from tests.helpers.environment import server_env

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
Capture = pytest.CaptureFixture[str]


class Cli:
    """Runs ``exofop-mcp ...`` in this process: ``main(argv)`` with the test's settings in the environment.

    The environment is what a child process would get from :func:`server_env` (no other ``EXOFOP_*``
    variable, no ``COLUMNS``), the working directory is the test's; stdout and stderr are captured
    separately for each call, and the exit code is ``main``'s return value or its ``SystemExit`` code.
    """

    def __init__(self, settings: Settings, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
        self.settings = settings
        self.env = server_env(settings)
        self.cwd = cwd
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.capsys.readouterr()  # drop anything printed before this call
        with self.monkeypatch.context() as patch:
            for name in list(os.environ):
                if name.startswith("EXOFOP") or name == "COLUMNS":
                    patch.delenv(name)
            for name, value in self.env.items():
                patch.setenv(name, value)
            patch.chdir(self.cwd)
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        captured = self.capsys.readouterr()
        return subprocess.CompletedProcess(["exofop-mcp", *args], code, captured.out, captured.err)

    def json(self, *args: str, schema: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        validate(data, schema)
        return data


def validate(data: Any, tool: str) -> None:
    schema = json.loads((SCHEMAS / f"{tool}.output.json").read_text())
    jsonschema.validate(data, schema)

"""server.json (the MCP Registry's description of the server) agrees with the package and the README."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from exofop_mcp.settings import _VARIABLES

ROOT = Path(__file__).resolve().parents[1]


def test_server_json_agrees_with_the_package_and_the_readme() -> None:
    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    marker = re.search(r"mcp-name: (\S+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert marker is not None and marker.group(1) == server["name"]  # what the registry looks for on PyPI
    assert re.fullmatch(r"io\.github\.[A-Za-z0-9-]+/exofop-mcp", server["name"])
    assert server["$schema"].startswith("https://static.modelcontextprotocol.io/schemas/")
    assert len(server["description"]) <= 100  # the registry's limit
    (package,) = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == project["name"]
    assert server["version"] == package["version"] == project["version"]
    assert package["transport"] == {"type": "stdio"}
    known = {name for name, _, _ in _VARIABLES}
    for variable in package["environmentVariables"]:
        assert variable["name"] in known and variable["isSecret"] is False

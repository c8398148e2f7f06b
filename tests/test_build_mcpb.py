"""The desktop extension bundle: one script builds it, with a directory picker for the data dir."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bundle_holds_the_package_and_a_valid_looking_manifest(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("build_mcpb", ROOT / "scripts" / "build_mcpb.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("PATH", "/nonexistent")  # no validator here: the build still works and says so
    assert module.main(["--out", str(tmp_path)]) == 0
    (bundle,) = tmp_path.glob("exofop-mcp-*.mcpb")
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
    assert {"manifest.json", "pyproject.toml", "LICENSE", "exofop_mcp/__main__.py"} <= names
    assert manifest["icon"] == "icon.png" and "icon.png" in names  # Claude Desktop's directory shows it
    assert not any("__pycache__" in n for n in names)
    assert manifest["server"]["type"] == "uv" and manifest["user_config"]["data_dir"]["type"] == "directory"
    assert manifest["server"]["mcp_config"]["env"]["EXOFOP_MCP_DATA_DIR"] == "${user_config.data_dir}"
    assert {t["name"] for t in manifest["tools"]} >= {"preview_file", "search_tois"}


def test_the_bundle_lists_every_tool_the_server_has():
    import asyncio

    from exofop_mcp.mcp_server.server import build_server

    spec = importlib.util.spec_from_file_location("build_mcpb", ROOT / "scripts" / "build_mcpb.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    listed = {t["name"] for t in module.manifest()["tools"]}
    served = {t.name for t in asyncio.run(build_server().list_tools())}
    assert served <= listed, served - listed

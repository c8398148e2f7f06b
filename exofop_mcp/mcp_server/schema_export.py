"""Writing the tools' JSON Schemas (input and output) to ``schemas/``.

The schemas are exactly what the server publishes in ``tools/list``, which is
generated from the request and result models; a test regenerates them and
fails when the committed files are stale.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from exofop_mcp.settings import Settings


async def tool_schemas() -> dict[str, dict[str, object]]:
    """``{"<tool>.input.json": schema, "<tool>.output.json": schema, ...}`` from the live server definition."""
    from exofop_mcp.mcp_server.server import build_server

    server = build_server(Settings())
    files: dict[str, dict[str, object]] = {}
    for tool in await server.list_tools():
        files[f"{tool.name}.input.json"] = dict(tool.input_schema)
        if tool.output_schema is not None:
            files[f"{tool.name}.output.json"] = dict(tool.output_schema)
    return files


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale_files(directory: Path) -> list[str]:
    """Schema files that are missing, different, or no longer generated."""
    expected = {name: render(schema) for name, schema in asyncio.run(tool_schemas()).items()}
    problems = []
    for name, text in expected.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            problems.append(name)
    for path in directory.glob("*.json"):
        if path.name not in expected:
            problems.append(path.name)
    return sorted(problems)


def write_schemas(directory: Path) -> list[str]:
    """Regenerate every schema file in ``directory``; remove files of tools that no longer exist."""
    from exofop_mcp.atomic_files import atomic_write_text

    directory.mkdir(parents=True, exist_ok=True)
    expected = {name: render(schema) for name, schema in asyncio.run(tool_schemas()).items()}
    for name, text in expected.items():
        atomic_write_text(directory / name, text)
    for path in directory.glob("*.json"):
        if path.name not in expected:
            path.unlink()
    return sorted(expected)

"""Calling the server's tools through a real in-process MCP client session."""

from __future__ import annotations

from typing import Any

from mcp import Client

from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.settings import Settings


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def call(settings: Settings, name: str, args: dict[str, Any], *, mode: str = "auto") -> Any:
    """One tool call on a fresh server (its own Exofop core), through an MCP client."""
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        return await client.call_tool(name, args)


async def ok(settings: Settings, name: str, args: dict[str, Any], *, mode: str = "auto") -> dict[str, Any]:
    result = await call(settings, name, args, mode=mode)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


async def error(settings: Settings, name: str, args: dict[str, Any], *, mode: str = "auto") -> str:
    result = await call(settings, name, args, mode=mode)
    assert result.is_error, f"expected an error, got {result.structured_content}"
    message = text_of(result)
    assert "Traceback" not in message
    return message

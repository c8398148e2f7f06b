"""A tool error's text starts with the error's code in brackets, then the message that says what to do."""

from __future__ import annotations

import pytest

from exofop_mcp.errors import ExofopMcpError, TargetNotFoundError
from exofop_mcp.mcp_server.tool_registration import tool_error_text
from tests.helpers.tool_client import error

pytestmark = pytest.mark.anyio


def test_tool_error_text_puts_the_code_first() -> None:
    text = tool_error_text(TargetNotFoundError("No star named X.", hint="Check the spelling."))
    assert text == "[not_found] No star named X. Check the spelling."
    assert tool_error_text(ExofopMcpError("Something.")) == "[error] Something."


@pytest.mark.parametrize(
    ("tool", "args", "code"),
    [
        ("resolve_system", {"query": "Nonexistent Star 123"}, "not_found"),
        ("resolve_system", {"query": "TOI-0"}, "invalid_identifier"),
        ("resolve_system", {"query": 1130}, "invalid_request"),
        ("resolve_system", {}, "invalid_request"),
        ("list_observations", {"system": "TOI-1130", "limit": 0}, "invalid_request"),
        ("download_status", {"job_id": "no-such-job"}, "invalid_request"),
    ],
)
async def test_tool_errors_carry_their_code(warm_settings, tool, args, code) -> None:
    message = await error(warm_settings, tool, args)
    assert message.startswith(f"Error executing tool {tool}: [{code}] "), message


@pytest.mark.parametrize(
    ("tool", "args", "unknown"),
    [
        ("list_observations", {"system": "TOI-1130", "band": "zs"}, "band"),  # a misspelled filter
        ("resolve_system", {"query": "TOI-1130", "bogus_arg": True}, "bogus_arg"),
        ("login_status", {"verbose": True}, "verbose"),
    ],
)
async def test_unknown_arguments_are_refused_by_name(warm_settings, tool, args, unknown) -> None:
    message = await error(warm_settings, tool, args)
    assert message.startswith(f"Error executing tool {tool}: [invalid_request] "), message
    assert f"unknown argument(s) {unknown!r}" in message


async def test_published_schemas_are_closed(warm_settings) -> None:
    from mcp import Client

    from exofop_mcp.mcp_server.server import build_server

    async with Client(build_server(warm_settings)) as client:
        tools = (await client.list_tools()).tools
    assert tools and all(tool.input_schema.get("additionalProperties") is False for tool in tools)

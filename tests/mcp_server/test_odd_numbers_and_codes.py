"""Odd numbers are refused by the schemas with a documented code, and every error the project raises on
purpose carries a code the README documents (never the base class's bare ``[error]``)."""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import queue
import subprocess
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

import exofop_mcp
from exofop_mcp.api import Exofop
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.site.toi_search import SearchToisRequest
from tests.helpers.environment import server_env
from tests.helpers.tool_client import error
from tests.mcp_server.test_mcp_surface import exofop_mcp_command

pytestmark = pytest.mark.anyio

HUGE = 2**63
README = Path(__file__).resolve().parents[2] / "README.md"
SYSTEM = "TOI-1130"

ODD_ARGUMENTS = [
    ("search_tois", {"offset": HUGE}, "offset"),
    ("search_tois", {"time_series_max": HUGE}, "time_series_max"),
    ("preview_file", {"system": SYSTEM, "path": "notes.txt", "offset": HUGE}, "offset"),
    ("extract_light_curves", {"system": SYSTEM, "offset": HUGE}, "offset"),
    ("extraction_status", {"job_id": "ab12", "offset": HUGE}, "offset"),
    ("list_observations", {"system": SYSTEM, "offset": HUGE}, "offset"),
    ("download_status", {"job_id": "ab12", "results_offset": HUGE}, "results_offset"),
]


@pytest.mark.parametrize(("tool", "args", "name"), ODD_ARGUMENTS)
async def test_an_offset_of_two_to_the_63_is_an_invalid_request(warm_settings, tool, args, name) -> None:
    message = await error(warm_settings, tool, args)
    assert f"[invalid_request] Invalid arguments: {name}: Input should be less than or equal to" in message, message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
async def test_non_finite_filters_and_offsets_are_refused_through_the_api(warm_settings, value) -> None:
    with pytest.raises(ValidationError, match="finite number"):
        SearchToisRequest.model_validate({"tess_mag_min": value})
    with pytest.raises(ValidationError, match="finite number"):
        SearchToisRequest.model_validate({"period_max_days": value})
    async with Exofop(warm_settings) as exofop:
        with pytest.raises(ValidationError, match="less than or equal"):
            await exofop.preview_file(SYSTEM, "notes.txt", offset=HUGE)


@pytest.mark.slow
def test_nan_and_infinity_sent_over_stdio_are_invalid_requests(settings) -> None:
    """JSON allows no NaN, but the server's parser reads ``NaN`` and ``Infinity``: a raw client sends them."""
    calls = [
        ("search_tois", '{"tess_mag_min": NaN}', "tess_mag_min"),
        ("search_tois", '{"period_max_days": Infinity}', "period_max_days"),
        ("download_status", '{"job_id": "ab12", "wait_seconds": NaN}', "wait_seconds"),
    ]
    server = subprocess.Popen(
        [exofop_mcp_command()],
        env=server_env(settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    received: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [received.put(line) for line in server.stdout or []], daemon=True).start()

    def send(line: str) -> None:
        assert server.stdin is not None
        server.stdin.write(line + "\n")
        server.stdin.flush()

    def answer(number: int) -> dict:
        while True:
            message = json.loads(received.get(timeout=60))
            if message.get("id") == number:
                return message

    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        send(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}))
        answer(0)
        send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        for number, (tool, arguments, name) in enumerate(calls, start=1):
            send(
                f'{{"jsonrpc": "2.0", "id": {number}, "method": "tools/call", '
                f'"params": {{"name": "{tool}", "arguments": {arguments}}}}}'
            )
            result = answer(number)["result"]
            text = result["content"][0]["text"]
            assert result["isError"] is True
            assert f"[invalid_request] Invalid arguments: {name}: Input should be a finite number" in text, text
    finally:
        server.kill()
        server.wait(30)


def _error_classes() -> list[type[ExofopMcpError]]:
    for module in pkgutil.walk_packages(exofop_mcp.__path__, "exofop_mcp."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[ExofopMcpError]] = []
    pending = [ExofopMcpError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def test_every_error_class_has_a_documented_code() -> None:
    readme = README.read_text()
    table = readme[readme.index("| code | meaning |", readme.index("## Troubleshooting")) :]
    table = table[: table.index("\n\n")]
    classes = _error_classes()
    assert len(classes) > 20
    bare = [cls.__qualname__ for cls in classes if cls.code == ExofopMcpError.code]
    assert bare == [], "errors without a code of their own"
    undocumented = sorted({cls.code for cls in classes if f"`{cls.code}`" not in table})
    assert undocumented == [], "codes missing from the README's table of codes"


async def test_preview_and_link_refusals_carry_their_codes(warm_settings, tmp_path) -> None:
    directory = SystemDirectory(warm_settings.data_dir, SYSTEM)
    folder = directory.path / "imaging" / "900001"
    folder.mkdir(parents=True)
    (folder / "broken.fits").write_bytes(b"not a fits file at all" * 10)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (folder / "out.txt").symlink_to(outside / "secret.txt")
    cases = [
        ("imaging/900001/broken.fits", "unreadable_file"),
        ("imaging/900001/missing.txt", "file_not_found"),
        ("imaging/900001/out.txt", "outside_sandbox"),
    ]
    for path, code in cases:
        message = await error(warm_settings, "preview_file", {"system": SYSTEM, "path": path})
        assert message.startswith(f"Error executing tool preview_file: [{code}] "), message
    (directory.path / "time_series").symlink_to(outside)
    message = await error(warm_settings, "download_tags", {"system": SYSTEM, "tags": [18493], "kind": "time_series"})
    assert message.startswith("Error executing tool download_tags: [outside_sandbox] "), message
    assert "outside the download sandbox" in message

"""File work cannot starve the other tools: previews run in their own few threads, each with a time limit,
and hostile files are refused at once through the MCP surface."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from mcp import Client

from exofop_mcp import api
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.previews import preview as preview_module
from exofop_mcp.previews.preview import PREVIEW_WORKERS, TextPage
from tests.helpers.hostile_files import write_hostile_fits
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio

SYSTEM = "TOI-1130"
STUCK = 8


def _code(result) -> str:
    text = text_of(result)
    return text.split("[", 1)[1].split("]", 1)[0] if result.is_error and "[" in text else ""


async def test_hostile_fits_cards_are_refused_at_once(warm_settings) -> None:
    write_hostile_fits(SystemDirectory(warm_settings.data_dir, SYSTEM).path / "imaging" / "900002")
    async with Client(build_server(warm_settings)) as client:
        for name in ("tfields", "znaxis", "no_end_text"):
            started = time.monotonic()
            result = await asyncio.wait_for(
                client.call_tool("preview_file", {"system": SYSTEM, "path": f"imaging/900002/{name}.fits"}), 60
            )
            assert time.monotonic() - started < 5.0, name
            assert _code(result) == "over_limit", text_of(result)
            assert f"{name}.fits" in text_of(result) and "Traceback" not in text_of(result)


async def test_stuck_previews_leave_downloads_and_the_other_tools_answering(warm_settings, monkeypatch) -> None:
    """Eight previews stuck in a read (as on a file that never finishes reading) hold at most the preview
    threads; a download, login_status and list_downloads answer meanwhile, and each stuck preview comes
    back in seconds as ``over_limit`` (its time limit) or ``busy`` (no preview thread free)."""
    release = threading.Event()
    entered = []

    def stuck_text(*args: object, **kwargs: object) -> TextPage:
        entered.append(1)
        release.wait(60)  # a read that does not return; the test ends it
        return TextPage(text="", offset=0, returned_chars=0)

    monkeypatch.setattr(preview_module, "_text", stuck_text)
    monkeypatch.setattr(api, "PREVIEW_SECONDS", 3.0, raising=False)
    monkeypatch.setattr(api, "PREVIEW_QUEUE_SECONDS", 1.0, raising=False)
    notes = SystemDirectory(warm_settings.data_dir, SYSTEM).path / "imaging" / "900003" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("observing notes\n")
    try:
        async with Client(build_server(warm_settings)) as client:
            page = await client.call_tool("list_observations", {"system": SYSTEM, "kind": "time_series"})
            tag = page.structured_content["tags"][0]
            args = {"system": SYSTEM, "path": "imaging/900003/notes.txt"}
            previews = [asyncio.create_task(client.call_tool("preview_file", args)) for _ in range(STUCK)]
            await asyncio.sleep(0.3)
            started = time.monotonic()
            download = await asyncio.wait_for(
                client.call_tool("download_tags", {"system": SYSTEM, "tags": [tag], "wait_seconds": 30}), 45
            )
            login = await asyncio.wait_for(client.call_tool("login_status", {}), 10)
            listing = await asyncio.wait_for(client.call_tool("list_downloads", {"system": SYSTEM}), 10)
            answered = time.monotonic() - started
            stuck = await asyncio.wait_for(asyncio.gather(*previews), 30)
    finally:
        release.set()
    assert not download.is_error, text_of(download)
    assert download.structured_content["totals"] == {"downloaded": 1}, text_of(download)
    assert not login.is_error and not listing.is_error
    assert any(t["tag"] == tag for s in listing.structured_content["systems"] for t in s["tags"])
    assert answered < 30
    codes = sorted(_code(result) for result in stuck)
    assert codes == ["busy"] * (STUCK - PREVIEW_WORKERS) + ["over_limit"] * PREVIEW_WORKERS, [text_of(r) for r in stuck]
    assert len(entered) == PREVIEW_WORKERS  # never more threads than the pool has

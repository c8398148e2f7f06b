"""The server, every tool and every prompt carry an icon a client can show (a PNG every client reads)."""

from __future__ import annotations

import base64
import io

import pytest
from mcp import Client
from PIL import Image

from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.mcp_server.server_icons import BUNDLE_ICON
from exofop_mcp.settings import Settings

pytestmark = pytest.mark.anyio


def _png_size(src: str) -> tuple[int, int]:
    head, _, data = src.partition(",")
    assert head == "data:image/png;base64"
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        assert image.format == "PNG"
        return image.size


async def test_the_server_its_tools_and_its_prompts_have_icons(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        info = client.server_info
        tools = (await client.list_tools()).tools
        prompts = (await client.list_prompts()).prompts
    assert info is not None and info.icons
    for owner in [info, *tools, *prompts]:
        assert owner.icons, owner
        png = next(i for i in owner.icons if i.mime_type == "image/png")
        assert _png_size(png.src) == (64, 64) and png.sizes == ["64x64"]
    with Image.open(BUNDLE_ICON) as bundle:
        assert bundle.format == "PNG" and bundle.size == (256, 256)  # the desktop bundle's icon

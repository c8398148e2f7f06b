"""The icon of the server, its tools and its prompts: a star with a transiting planet over a light curve.

Given as data URIs (nothing to host): a 64-pixel PNG, which every client that shows icons reads, and
the SVG it was drawn from.  ``icons/exofop-mcp.png`` (256 pixels) is the desktop bundle's icon.
"""

from __future__ import annotations

import base64
from pathlib import Path

from mcp.types import Icon

ICON_DIR = Path(__file__).resolve().parent / "icons"
BUNDLE_ICON = ICON_DIR / "exofop-mcp.png"


def _data_uri(path: Path, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


ICONS: list[Icon] = [
    Icon(src=_data_uri(ICON_DIR / "exofop-mcp-64.png", "image/png"), mime_type="image/png", sizes=["64x64"]),
    Icon(src=_data_uri(ICON_DIR / "exofop-mcp.svg", "image/svg+xml"), mime_type="image/svg+xml", sizes=["any"]),
]

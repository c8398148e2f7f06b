"""preview_file through a real MCP client: every kind of downloaded file, and refusals."""

from __future__ import annotations

import base64
import io
import json

import pytest
from mcp import Client
from PIL import Image

from exofop_mcp.mcp_server.server import build_server
from tests.helpers.preview_files import write_sample_files
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio

LIMIT = 20_000


async def test_every_downloaded_file_previews_within_bounds(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        kinds = {}
        for kind in ("time_series", "spectroscopy", "imaging"):
            page = await client.call_tool("list_observations", {"system": "TOI-1130", "kind": kind})
            tag = page.structured_content["tags"][0]
            report = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": [tag]})
            assert not report.is_error, text_of(report)
            for path in report.structured_content["results"][0]["files"]:
                result = await client.call_tool("preview_file", {"system": "TOI-1130", "path": path})
                assert not result.is_error, (path, text_of(result))
                preview = result.structured_content
                assert preview["path"] == path
                assert len(text_of(result)) < LIMIT and len(json.dumps(preview)) < LIMIT
                kinds[path.rsplit(".", 1)[1]] = (preview, result)
    table, _ = kinds["tbl"]
    assert table["kind"] == "table" and table["table"]["rows"] > 10
    assert {"BJD_TDB", "rel_flux_T1"} <= {c["name"] for c in table["table"]["columns"]}
    fits, _ = kinds["fits"]
    assert fits["kind"] == "fits" and fits["fits"]["hdus"][0]["cards"]["OBJECT"].startswith("TIC")
    png, result = kinds["png"]
    assert png["kind"] == "image"
    images = [c for c in result.content if c.type == "image"]
    assert len(images) == 1 and images[0].mime_type == "image/png"
    shown = Image.open(io.BytesIO(base64.b64decode(images[0].data)))
    assert shown.size == (png["image"]["width"], png["image"]["height"])
    notes, result = kinds["txt"]
    assert notes["kind"] == "text" and "TIC 254113311" in text_of(result)


async def test_text_alone_describes_a_table_and_a_light_curve(warm_settings):
    write_sample_files(warm_settings.data_dir)
    async with Client(build_server(warm_settings), mode="legacy") as client:  # type: ignore[arg-type]
        lc = await client.call_tool(
            "preview_file", {"system": "toi 1130", "path": "light_curves/TOI-1130.02_20200330_LCO_zs.ecsv"}
        )
        big = await client.call_tool("preview_file", {"system": "TOI-1130", "path": "imaging/900001/big.jpg"})
    assert not lc.is_error, text_of(lc)
    text = text_of(lc)
    assert "light curve" in text and "50 rows" in text and "flux: 0.99 .. 1.01" in text
    assert [c.type for c in lc.content] == ["text", "image"]
    assert "2400x1800" in text_of(big) and "shown at 1024x768" in text_of(big)


@pytest.mark.parametrize(
    "path",
    ["../TOI-1131/manifest.json", "/etc/passwd", "time_series/../../../etc/passwd", "a\\b", "missing.txt"],
)
async def test_bad_paths_are_tool_errors(warm_settings, path):
    write_sample_files(warm_settings.data_dir)
    async with Client(build_server(warm_settings)) as client:
        result = await client.call_tool("preview_file", {"system": "TOI-1130", "path": path})
    assert result.is_error
    message = text_of(result)
    assert "Traceback" not in message and "internal error" not in message
    assert "passwd" not in message or "absolute" in message or "'..'" in message

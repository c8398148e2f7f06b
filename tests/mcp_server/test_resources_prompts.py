"""Downloaded files as resources, and the prompts, through a real MCP client."""

from __future__ import annotations

import base64
import os

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from exofop_mcp.mcp_server.server import build_server
from tests.helpers.preview_files import write_sample_files

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_files_read_as_text_and_blob(warm_settings, mode):
    directory = write_sample_files(warm_settings.data_dir)
    async with Client(build_server(warm_settings), mode=mode) as client:  # type: ignore[arg-type]
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["exofop://{system}/{+path}"]
        assert templates[0].description
        text = await client.read_resource("exofop://TOI-1130/imaging/900001/long_notes.txt")
        png = await client.read_resource("exofop://TOI-1130/imaging/900001/small.png")
        ecsv = await client.read_resource("exofop://toi-1130/light_curves/TOI-1130.02_20200330_LCO_zs.ecsv")
    (content,) = text.contents
    assert content.mime_type == "text/plain"
    assert content.text == (directory.path / "imaging/900001/long_notes.txt").read_text()
    (blob,) = png.contents
    assert blob.mime_type == "image/png"
    assert base64.b64decode(blob.blob) == (directory.path / "imaging/900001/small.png").read_bytes()
    assert ecsv.contents[0].text.startswith("# %ECSV")


@pytest.mark.parametrize(
    "uri",
    [
        "exofop://TOI-1130/../TOI-1131/manifest.json",
        "exofop://TOI-1130/imaging/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "exofop://TOI-1130/%2Fetc%2Fpasswd",
        "exofop://TOI-1130/imaging/900001/out.txt",
        "exofop://TOI-1130/imaging/900001/missing.txt",
        "exofop://TOI-1130/imaging/900001",
    ],
)
async def test_reads_outside_the_system_directory_are_refused(warm_settings, tmp_path, uri):
    directory = write_sample_files(warm_settings.data_dir)
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    os.symlink(secret, directory.path / "imaging/900001/out.txt")
    async with Client(build_server(warm_settings)) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri)
    assert "password" not in str(refused.value) and "Traceback" not in str(refused.value)


async def test_prompts_are_listed_with_descriptions_and_render(warm_settings):
    async with Client(build_server(warm_settings)) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert {
            "follow_up_status",
            "plan_download",
            "latest_light_curves",
            "targets_needing_follow_up",
            "plan_my_night",
        } <= set(prompts)
        for prompt in prompts.values():
            assert prompt.description and len(prompt.description) > 40
        status = await client.get_prompt("follow_up_status", {"target": "TOI-1130"})
        plan = await client.get_prompt("plan_download", {"target": "TOI-1130", "filter": "zs"})
        search = await client.get_prompt("targets_needing_follow_up", {})
    text = status.messages[0].content.text
    assert "TOI-1130" in text and "resolve_system" in text and "proprietary" in text
    assert 'filter="zs"' in plan.messages[0].content.text
    assert "search_tois(tfopwg_disposition=['PC', 'APC']" in search.messages[0].content.text

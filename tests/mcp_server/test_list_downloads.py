"""``list_downloads`` on a sandbox of several systems: pages of systems, tags and files, every file findable
from either half of a result, each half under 20 kB."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.manifest import Manifest, ManifestFile, ManifestTag
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.light_curves import SYSTEM, copy_sandbox, downloaded_sandbox
from tests.helpers.tool_client import text_of

pytestmark = pytest.mark.anyio

LIMIT = 20_000
#: A system written straight into the sandbox: 400 tags of 22 files with long names each, one of 202.
BIG_SYSTEM = "TOI-736"
BIG_TAGS = 400
BIG_TAG = 600_123
BIG_FILES = 200


def _big_manifest(root: Path) -> None:
    now = datetime.now(UTC)
    tags = {}
    for i in range(BIG_TAGS):
        tag = 600_000 + i
        stem = f"TIC181804752-01_2023{i % 12 + 1:02d}01_Observatory-With-A-Rather-Long-Name_{'x' * 40}_{i}"
        count = BIG_FILES if tag == BIG_TAG else 20
        files = [ManifestFile(path=f"time_series/{tag}/{stem}_{j:02d}.fits", size=4096 + j) for j in range(count)]
        files.append(ManifestFile(path=f"time_series/{tag}/{stem}_measurements.tbl", size=123_456))
        files.append(ManifestFile(path=f"time_series/{tag}/{stem}_lightcurve.png", size=54_321))
        tags[str(tag)] = ManifestTag(
            tag=tag, kind="time_series", status="downloaded", source_url=f"https://example/{tag}",
            directory=f"time_series/{tag}", files=files, time=now,
        )  # fmt: skip
    manifest = Manifest(system=BIG_SYSTEM, tic_id=181804752, updated=now, tags=tags)
    (root / BIG_SYSTEM).mkdir(parents=True)
    (root / BIG_SYSTEM / "manifest.json").write_text(manifest.model_dump_json())


@pytest.fixture(scope="module")
def several(replica_session: Replica, warm_catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """TOI-141's time series (downloaded and extracted), TOI-1130's five tags, TOI-150's spectra, a huge system."""
    settings = downloaded_sandbox(replica_session, tmp_path_factory.mktemp("inventory"), warm_catalog_file)

    async def fill() -> None:
        async with Exofop(settings) as exofop:
            extracted = await exofop.extract_light_curves(SYSTEM)
            assert extracted.light_curves > 0, extracted.message
            await exofop.download_tags("TOI-1130", tags=[18493, 18598, 19121, 19188, 19442])
            await exofop.download_tags("TOI-150", kind="spectroscopy")

    asyncio.run(fill())
    _big_manifest(settings.data_dir)
    return settings


@pytest.fixture
def settings(several: Settings, warm_catalog_file: Path, tmp_path: Path) -> Settings:
    return copy_sandbox(several, tmp_path, warm_catalog_file)


async def _page(client: Client, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    result = await client.call_tool("list_downloads", args)
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None
    text = text_of(result)
    assert len(json.dumps(data).encode()) < LIMIT and len(text.encode()) < LIMIT, (args, len(json.dumps(data)))
    return data, text


async def _walk(client: Client, args: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    pages = [await _page(client, args)]
    while pages[-1][0].get("next_offset") is not None:
        assert len(pages) < 500
        pages.append(await _page(client, {**args, "offset": pages[-1][0]["next_offset"]}))
    return pages


def _files(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(s["system"], f) for s in data["systems"] for t in s["tags"] for f in t.get("files", [])]


async def test_every_system_page_names_tags_and_key_files_in_both_halves(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        pages = await _walk(client, {})
    assert {p[0]["listing"] for p in pages} == {"systems"}
    systems = [s["system"] for data, _ in pages for s in data["systems"]]
    assert systems == sorted(["TOI-141", "TOI-1130", "TOI-150", BIG_SYSTEM])
    assert pages[0][0]["total"] == 4
    for data, text in pages:
        for system in data["systems"]:
            assert system["system"] in text
            for tag in system["tags"]:
                assert f"tag {tag['tag']}" in text
                assert tag["files"], tag  # every tag shown names its key files
                for f in tag["files"]:
                    assert f"{f['path']} (" in text  # the same file, with its size, in the text
    by_system = {s: f for data, _ in pages for s, f in _files(data)}
    assert by_system  # files named
    toi141 = [f for data, _ in pages for s, f in _files(data) if s == "TOI-141"]
    assert toi141 and toi141[0]["role"] == "light_curve" and toi141[0]["path"].endswith(".ecsv")
    toi1130 = [f for data, _ in pages for s, f in _files(data) if s == "TOI-1130"]
    assert toi1130[0]["role"] == "measurements", toi1130  # the measurement table before the field image
    for system, f in [(s, f) for data, _ in pages for s, f in _files(data) if s != BIG_SYSTEM]:
        on_disk = settings.data_dir / system / f["path"]
        assert on_disk.is_file() and on_disk.stat().st_size == f["size"]
    big_text = next(text for data, text in pages if any(s["system"] == BIG_SYSTEM for s in data["systems"]))
    assert f"list_downloads(system='{BIG_SYSTEM}')" in big_text  # how to see the rest of its tags


async def test_one_systems_tags_page_through_every_tag(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        pages = await _walk(client, {"system": BIG_SYSTEM})
        small = await _walk(client, {"system": "TOI-141"})
    tags = [t["tag"] for data, _ in pages for t in data["systems"][0]["tags"]]
    assert tags == [600_000 + i for i in range(BIG_TAGS)] and len(pages) > 1
    assert all(data["listing"] == "tags" and data["total"] == BIG_TAGS for data, _ in pages)
    first, text = pages[0]
    assert f"offset={first['next_offset']}" in text
    shown = first["systems"][0]["tags"][0]["files"]
    assert [f["role"] for f in shown[:2]] == ["measurements", "plot"]
    assert f"list_downloads(system='{BIG_SYSTEM}', tag=600000)" in text
    assert len(small) == 1
    data, text = small[0]
    pngs = [f["path"] for t in data["systems"][0]["tags"] for f in t["files"] if f["path"].endswith(".png")]
    assert pngs and all(p in text for p in pngs)


async def test_one_tags_files_page_through_every_file(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        pages = await _walk(client, {"system": BIG_SYSTEM, "tag": BIG_TAG})
        missing = await _page(client, {"system": "TOI-1130", "tag": 123})
        refused = await client.call_tool("list_downloads", {"tag": 18493})
    files = [f["path"] for data, _ in pages for _, f in _files(data)]
    assert len(files) == len(set(files)) == BIG_FILES + 2 and len(pages) > 1
    assert files[0].endswith("_measurements.tbl") and files[1].endswith("_lightcurve.png")
    for data, text in pages:
        assert data["listing"] == "files"
        for _, f in _files(data):
            assert f["path"] in text
    assert "has no tag 123" in missing[1] and missing[0]["systems"][0]["tags"] == []
    assert refused.is_error and "system" in text_of(refused)


async def test_download_reports_name_key_files_and_link_to_them(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": [18598]})
    text = text_of(result)
    report = result.structured_content
    assert report is not None
    files = report["results"][0]["files"]
    assert re.search(r"tag 18598 \(time_series\): already_present, \d+ files in time_series/18598; files: ", text)
    assert files[0] in text and not files[0].endswith("field.fits")
    links = [c for c in result.content if c.type == "resource_link"]
    assert links and links[0].uri.endswith(files[0]) and "field" not in links[0].name
    assert any(str(link.uri).endswith(".png") for link in links)

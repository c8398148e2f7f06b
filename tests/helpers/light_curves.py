"""A sandbox holding TOI-141's downloaded time-series tags, and what the replica generated for them."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from pathlib import Path

from exofop_mcp.api import Exofop
from exofop_mcp.replica import Replica
from exofop_mcp.replica.light_curve_files import LIGHT_CURVE_TEST_TIC, Expected
from exofop_mcp.replica.tag_archives import light_curve_tag
from exofop_mcp.settings import Settings
from tests.helpers.environment import make_settings

SYSTEM = "TOI-141"


def warm_copy(settings: Settings, catalog: Path) -> None:
    """Put a fresh copy of the session's catalog cache into ``settings.cache_dir``."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    target = settings.cache_dir / catalog.name
    shutil.copy(catalog, target)
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'fetched_at'", (repr(time.time()),))
    conn.close()


def downloaded_sandbox(replica: Replica, root: Path, catalog: Path) -> Settings:
    """Settings whose sandbox holds every time-series tag of TOI-141, downloaded from the replica."""
    settings = make_settings(replica.base_url, root)
    warm_copy(settings, catalog)

    async def download() -> None:
        async with Exofop(settings) as exofop:
            report = await exofop.download_tags(SYSTEM, kind="time_series")
            assert report.totals == {"downloaded": report.tags_total}, report.message

    asyncio.run(download())
    return settings


def copy_sandbox(settings: Settings, root: Path, catalog: Path) -> Settings:
    """The same sandbox under another root (for tests that change it)."""
    shutil.copytree(settings.data_dir, root / "data", symlinks=True)
    copied = make_settings(settings.base_url, root)
    warm_copy(copied, catalog)
    return copied


def expected_by_tag(replica: Replica) -> dict[int, list[Expected]]:
    """What the replica generated for each time-series tag of TOI-141."""
    dataset = replica.dataset
    star = dataset.star(LIGHT_CURVE_TEST_TIC)
    assert star is not None
    found: dict[int, list[Expected]] = {}
    for info in dataset.tags_of(LIGHT_CURVE_TEST_TIC):
        if info.kind == "tseries":
            found[info.tag] = light_curve_tag(info, star)[1]
    return found

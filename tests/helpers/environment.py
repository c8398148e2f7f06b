"""Settings and environments for tests: a sandbox under a temporary directory, pointing at the replica."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from exofop_mcp.settings import Settings


def make_settings(base_url: str, root: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "base_url": base_url,
        "data_dir": root / "data",
        "cache_dir": root / "cache",
        "config_dir": root / "config",
        "retry_base_delay": 0.01,
        "max_retries": 3,
        "read_timeout": 10.0,
        "connect_timeout": 2.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def server_env(settings: Settings) -> dict[str, str]:
    """Environment for an `exofop-mcp` subprocess using these settings."""
    return {
        "EXOFOP_BASE_URL": settings.base_url,
        "EXOFOP_MCP_DATA_DIR": str(settings.data_dir),
        "EXOFOP_MCP_CACHE_DIR": str(settings.cache_dir),
        "EXOFOP_MCP_CONFIG_DIR": str(settings.config_dir),
        "EXOFOP_MCP_RETRY_BASE_DELAY": str(settings.retry_base_delay),
        "EXOFOP_MCP_MAX_RETRIES": str(settings.max_retries),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
    }


def age_cache(settings, hours: float) -> None:
    path = settings.cache_dir / "toi_catalog.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'fetched_at'", (repr(time.time() - hours * 3600),))
    conn.close()

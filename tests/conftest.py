"""Shared fixtures: one ExoFOP replica per test session, a fresh sandbox per test.

Everything runs over real sockets against the replica on 127.0.0.1; nothing
is mocked.  The full TOI catalog is parsed once per session and its cache
file copied into each test's cache directory, so tests that need a warm
catalog do not pay for the parse again.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from exofop_mcp.replica import Replica, ReplicaConfig
from exofop_mcp.settings import Settings
from tests.helpers.environment import make_settings

REPLICA_DEFAULTS = ReplicaConfig()

# Property tests draw the same examples on every run (a red CI is reproducible, never luck);
# HYPOTHESIS_PROFILE=explore draws new ones and remembers failures in .hypothesis/.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def replica_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    cache = tmp_path_factory.mktemp("replica-cache")
    with Replica(ReplicaConfig(cache_dir=str(cache))) as replica:
        yield replica


@pytest.fixture
def replica(replica_session: Replica) -> Iterator[Replica]:
    """The session's replica, reset to its defaults and with an empty request log."""
    defaults = REPLICA_DEFAULTS.model_dump(exclude={"host", "port", "cache_dir"})
    replica_session.configure(**defaults)
    replica_session.reset_requests()
    yield replica_session
    # Drop connections a test left behind (a cancelled transfer), so that their requests are not
    # logged into the next test's record; then restore the defaults.
    replica_session.stop()
    replica_session.start()
    replica_session.clear_sessions()
    replica_session.configure(**defaults)


@pytest.fixture
def settings(replica: Replica, tmp_path: Path) -> Settings:
    """Settings pointing at the replica, with a cold (empty) catalog cache."""
    return make_settings(replica.base_url, tmp_path)


@pytest.fixture(scope="session")
def warm_catalog_file(replica_session: Replica, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog cache built once from the replica's full TOI table."""
    from exofop_mcp.api import Exofop

    root = tmp_path_factory.mktemp("warm")
    settings = make_settings(replica_session.base_url, root)

    async def build() -> None:
        async with Exofop(settings) as exofop:
            await exofop.catalog.refresh()

    asyncio.run(build())
    return settings.cache_dir / "toi_catalog.sqlite3"


@pytest.fixture
def warm_settings(settings: Settings, warm_catalog_file: Path) -> Settings:
    """Settings whose cache already holds a fresh catalog (its fetch time set to now)."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    target = settings.cache_dir / warm_catalog_file.name
    shutil.copy(warm_catalog_file, target)
    import sqlite3
    import time

    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'fetched_at'", (repr(time.time()),))
    conn.close()
    os.utime(target)
    return settings

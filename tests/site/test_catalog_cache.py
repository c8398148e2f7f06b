"""The TOI catalog cache: shared across processes, refreshed after its TTL, stale when ExoFOP is down."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopUnavailableError
from exofop_mcp.site import catalog as catalog_module
from exofop_mcp.site.catalog import TOICatalog
from exofop_mcp.site.client import ExofopClient
from tests.helpers.environment import age_cache, server_env
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio

RESOLVE_IN_NEW_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from exofop_mcp import Exofop

    async def main():
        async with Exofop() as exofop:
            for query in sys.argv[1:]:
                system = await exofop.resolve_system(query)
                print(system.canonical_name, system.catalog.source if system.catalog else None)

    asyncio.run(main())
    """
)


def resolve_in_new_process(settings, *queries: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", RESOLVE_IN_NEW_PROCESS, *queries],
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.split("\n")[:-1]


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.slow
async def test_second_process_makes_no_catalog_request(settings, replica):
    assert resolve_in_new_process(settings, "TIC 254113311") == ["TOI-1130 network"]
    assert replica.count("download_toi.php") == 1
    assert (settings.cache_dir / "toi_catalog.sqlite3").exists()
    replica.reset_requests()
    lines = resolve_in_new_process(settings, "TIC 254113311", "TOI-1130.01", "WASP-46", "tic 231663901")
    assert lines == ["TOI-1130 cache", "TOI-1130 cache", "TOI-101 cache", "TOI-101 cache"]
    assert replica.count("download_toi.php") == 0


async def test_warm_lookups_in_process_make_no_requests(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        for _ in range(3):
            assert (await exofop.resolve_system("TOI-1130")).canonical_name == "TOI-1130"
            assert (await exofop.resolve_system("254113311")).canonical_name == "TOI-1130"
    assert replica.requests == [] or all("download_toi.php" not in r.path for r in replica.requests)


async def test_cold_toi_lookup_warms_the_full_catalog(settings, replica):
    async with Exofop(settings) as exofop:
        system = await exofop.resolve_system("TOI-1130")
        assert system.catalog is not None and system.catalog.source == "toi_page"
        await exofop.catalog.wait_for_warm_up(60)
        assert exofop.catalog.is_fresh()
        again = await exofop.resolve_system("TIC 254113311")
        assert again.catalog is not None and again.catalog.source == "cache"
    assert replica.count("download_toi.php", toi="1130") == 1
    assert replica.count("download_toi.php") == 2  # the TOI's rows, then the whole table once


async def test_stale_cache_is_refreshed_after_ttl(warm_settings, replica):
    age_cache(warm_settings, 7)
    async with Exofop(warm_settings) as exofop:
        system = await exofop.resolve_system("TIC 254113311")
    assert system.catalog is not None and system.catalog.source == "network" and not system.catalog.stale
    assert replica.count("download_toi.php") == 1


async def test_stale_cache_is_used_when_exofop_is_down(warm_settings):
    age_cache(warm_settings, 30)
    down = replace(warm_settings, base_url=closed_port_url(), max_retries=1)
    for query in ("TIC 254113311", "TOI-1130.02"):
        s = await ok(down, "resolve_system", {"query": query})
        assert s["canonical_name"] == "TOI-1130"
        assert s["catalog"]["stale"] is True and s["catalog"]["age_hours"] >= 29
        assert any("could not be reached" in n for n in s["notes"])


async def test_no_cache_and_exofop_down_is_a_clear_error(settings):
    down = replace(settings, base_url=closed_port_url(), max_retries=1)
    message = await error(down, "resolve_system", {"query": "TOI-1130"})
    assert "unreachable" in message and "EXOFOP_BASE_URL" in message
    with pytest.raises(ExofopUnavailableError):
        async with Exofop(down) as exofop:
            await exofop.resolve_system("TIC 254113311")


async def test_catalog_answering_html_is_reported(settings, replica):
    replica.configure(toi_table_quirk="html")
    message = await error(settings, "resolve_system", {"query": "TIC 254113311"})
    assert "HTML" in message


@pytest.mark.slow
async def test_name_answers_are_remembered_across_processes(warm_settings, replica):
    assert resolve_in_new_process(warm_settings, "WASP-46") == ["TOI-101 cache"]
    assert replica.count("gototicid.php") == 1
    assert resolve_in_new_process(warm_settings, "wasp 46", "WASP-46") == ["TOI-101 cache", "TOI-101 cache"]
    assert replica.count("gototicid.php") == 1


async def test_after_a_failed_refresh_the_stale_cache_answers_at_once(warm_settings, replica):
    age_cache(warm_settings, 30)
    replica.configure(fault_paths=("download_toi.php",), error_rate=1.0, fault_kinds=("5xx",))
    async with Exofop(warm_settings) as exofop:
        first = await exofop.resolve_system("TIC 254113311")
        tried = replica.count("download_toi.php")
        assert tried == warm_settings.max_retries + 1
        again = await exofop.resolve_system("TIC 254113311")
        planet = await exofop.resolve_system("TOI-1130.02")
    assert replica.count("download_toi.php") == tried  # no new attempt while the failure is recent
    for system in (first, again, planet):
        assert system.catalog is not None and system.catalog.stale and system.canonical_name == "TOI-1130"
        assert any("could not be refreshed" in n or "could not be reached" in n for n in system.notes)


async def test_a_one_toi_page_answers_again_from_memory_for_a_while(settings, replica, monkeypatch):
    # While the whole table is being fetched, the calls of one task (resolve, list, download) ask
    # for the same TOI page once.
    async with ExofopClient(settings) as client:
        catalog = TOICatalog(client, settings.cache_dir, settings.catalog_ttl_seconds)
        first = await catalog.fetch_host(1130)
        again = await catalog.fetch_host(1130)
        assert [e.record.toi for e in again] == [e.record.toi for e in first] and first
        assert replica.count("download_toi.php", toi="1130") == 1
        again.clear()  # a caller's list is its own
        assert await catalog.fetch_host(1130)
        monkeypatch.setattr(catalog_module, "HOST_PAGE_SECONDS", 0.0)
        await catalog.fetch_host(1130)
        assert replica.count("download_toi.php", toi="1130") == 2
        catalog.close()

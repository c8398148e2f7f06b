"""The TOI catalog when ExoFOP is unreachable, slow, or answers something that is not the TOI table.

With a cached catalog (even an out-of-date one) every way of naming a system still resolves, and
the answer says it comes from an old cache; with no cache the tool error says what is wrong and
what to do.  Complements tests/site/test_catalog_cache.py (closed port, an HTML answer on a cold cache).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from tests.helpers.environment import age_cache
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio

QUERIES = ("TIC 254113311", "TOI-1130", "toi_1130.02", "TOI-1130 b")
STALE_HOURS = 30

# What the catalog page answers under each quirk, and what the error must then say.
QUIRKS = {
    "html": ["HTML page instead of a pipe table", "exofop-mcp doctor"],
    "redirect": ["HTML page instead of a pipe table", "exofop-mcp doctor"],
    "renamed_columns": ["lacks the expected column(s)", "'TIC ID'", "exofop-mcp doctor"],
    "garbage": ["download_toi.php", "exofop-mcp doctor"],
}


def assert_stale_answer(system: dict, query: str, reason: str) -> None:
    assert system["canonical_name"] == "TOI-1130" and system["tic_id"] == 254113311, query
    assert system["catalog"]["stale"] is True and system["catalog"]["age_hours"] >= STALE_HOURS - 1
    assert system["catalog"]["source"] == "cache"
    notes = " ".join(system["notes"])
    assert f"cached {STALE_HOURS}" in notes or f"cached {STALE_HOURS - 1}" in notes, notes
    assert reason in notes, notes


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
async def test_unusable_catalog_page_falls_back_to_the_stale_cache(warm_settings, replica, quirk):
    age_cache(warm_settings, STALE_HOURS)
    replica.configure(toi_table_quirk=quirk)
    for query in QUERIES:
        system = await ok(warm_settings, "resolve_system", {"query": query})
        # ExoFOP answered: the note must not blame the network, it says what was wrong with the answer
        assert_stale_answer(system, query, "ExoFOP's TOI table could not be refreshed (ExoFOP's download_toi.php")
        assert not any("could not be reached" in n for n in system["notes"])
    assert replica.count("download_toi.php") >= 1  # it did try to refresh


@pytest.mark.parametrize("quirk", sorted(set(QUIRKS) - {"html"}))  # html: tests/site/test_catalog_cache.py
async def test_unusable_catalog_page_without_a_cache_is_a_clear_error(settings, replica, quirk):
    replica.configure(toi_table_quirk=quirk)
    for query in ("TIC 254113311", "TOI-1130"):
        message = await error(settings, "resolve_system", {"query": query})
        for words in QUIRKS[quirk]:
            assert words in message, (query, message)
    assert not (settings.cache_dir / "toi_catalog.sqlite3").exists(), "nothing unusable may be cached"


async def test_stopped_site_resolves_every_form_from_the_stale_cache(warm_settings, replica):
    age_cache(warm_settings, STALE_HOURS)
    replica.stop()
    down = replace(warm_settings, max_retries=1)
    for query in (*QUERIES, "WASP-46"):
        system = await ok(down, "resolve_system", {"query": query})
        if query == "WASP-46":  # the name resolver is down too: the name is found in the cached catalog
            assert system["canonical_name"] == "TOI-101" and system["matched_by"] == "catalog_name"
            assert any("name resolver was unreachable" in n for n in system["notes"])
        else:
            assert_stale_answer(system, query, "could not be reached")
    # with the site down, listing is a clear error, not a hang or a traceback
    message = await error(down, "list_observations", {"system": "TOI-1130"})
    assert "unreachable" in message and "EXOFOP_BASE_URL" in message


@pytest.mark.slow
async def test_slow_site_times_out_and_uses_the_stale_cache(warm_settings, replica):
    age_cache(warm_settings, STALE_HOURS)
    replica.configure(latency=2.0)
    slow = replace(warm_settings, read_timeout=0.3, max_retries=1)
    started = time.monotonic()
    system = await ok(slow, "resolve_system", {"query": "TIC 254113311"})
    assert_stale_answer(system, "TIC 254113311", "could not be reached")
    assert time.monotonic() - started < 5, "the read timeout was not applied"


@pytest.mark.slow
async def test_slow_site_without_a_cache_says_it_timed_out(settings, replica):
    replica.configure(latency=2.0)
    slow = replace(settings, read_timeout=0.3, max_retries=1)
    started = time.monotonic()
    message = await error(slow, "resolve_system", {"query": "TIC 254113311"})
    assert "timed out" in message and "unreachable" in message and "2 attempt" in message
    assert "EXOFOP_BASE_URL" in message or "try again later" in message
    assert time.monotonic() - started < 5

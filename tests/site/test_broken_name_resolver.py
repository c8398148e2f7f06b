"""A broken site is not an unknown star: broken answers of the name resolver say so, and what to do.

``gototicid.php`` answering a redirect to ``file://``, a body of 65 MiB, JSON cut short, JSON of the wrong
types, or arrays nested 100,000 deep tells nothing about the name: the error says the site answered
badly (never "[not_found] No star or planet named ..." and never an internal error), and a name the
cached TOI catalog knows is still answered from it.  Through a real MCP client and through the API.
"""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopResponseError, TargetNotFoundError
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio

#: Each broken answer, and the code its error carries.
BROKEN = {
    "file_redirect": "foreign_redirect",
    "huge": "response_too_large",
    "truncated": "unexpected_response",
    "mistyped": "unexpected_response",
    "deep": "unexpected_response",
}
UNKNOWN_TO_THE_CATALOG = "Kepler-999999"
#: A star of the replica with a stellar parameters row and no TOI (its aliases.json ``stars``).
STAR_WITHOUT_TOI = 169175503


@pytest.mark.parametrize("broken", sorted(BROKEN))
async def test_a_broken_name_answer_is_not_an_unknown_star(
    warm_settings: Settings, replica: Replica, broken: str
) -> None:
    replica.configure(name_service_answer=broken)
    # the default 64 MiB page limit holds as well; a smaller one keeps the test quick
    settings = warm_settings.with_overrides(max_page_bytes=4 << 20)
    message = await error(settings, "resolve_system", {"query": UNKNOWN_TO_THE_CATALOG})
    assert f"[{BROKEN[broken]}]" in message, message
    assert "[not_found]" not in message and "No star or planet named" not in message, message
    assert "[error]" not in message and "internal" not in message.lower(), message
    assert "could not be checked" in message and "answered badly" in message, message
    assert "try again later" in message and "TIC id or TOI" in message, message
    assert len(message) < 1500

    async with Exofop(settings) as exofop:
        with pytest.raises(ExofopResponseError) as caught:
            await exofop.resolve_system(UNKNOWN_TO_THE_CATALOG)
    assert not isinstance(caught.value, TargetNotFoundError)


@pytest.mark.parametrize("broken", sorted(BROKEN))
async def test_a_name_the_catalog_knows_is_answered_from_it(
    warm_settings: Settings, replica: Replica, broken: str
) -> None:
    replica.configure(name_service_answer=broken)
    system = await ok(warm_settings.with_overrides(max_page_bytes=4 << 20), "resolve_system", {"query": "WASP-46"})
    assert system["canonical_name"] == "TOI-101" and system["matched_by"] == "catalog_name"
    assert any("name resolver answered badly" in note for note in system["notes"]), system["notes"]


async def test_the_file_redirect_is_not_followed(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(name_service_answer="file_redirect")
    message = await error(warm_settings, "resolve_system", {"query": UNKNOWN_TO_THE_CATALOG})
    assert "file://" in message and "not followed" in message, message
    assert "root:" not in message  # nothing of a local file


async def test_a_huge_answer_is_refused_at_the_default_page_limit(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(name_service_answer="huge")
    message = await error(warm_settings, "resolve_system", {"query": UNKNOWN_TO_THE_CATALOG})
    assert "[response_too_large]" in message and "64 MiB" in message and "gototicid.php" in message, message


async def test_a_mistyped_answer_to_a_tic_is_a_clear_error(warm_settings: Settings, replica: Replica) -> None:
    # a star without a TOI asked by its TIC: "OK" naming no TIC id is the site answering badly, not "unknown"
    replica.configure(name_service_answer="mistyped")
    message = await error(warm_settings, "resolve_system", {"query": f"TIC {STAR_WITHOUT_TOI}"})
    assert "[unexpected_response]" in message and "named no TIC id" in message, message
    assert "[not_found]" not in message and "exofop-mcp doctor" in message


async def test_a_name_cache_entry_nested_deep_is_asked_again(warm_settings: Settings, replica: Replica) -> None:
    first = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})
    path = warm_settings.cache_dir / "names.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        assert conn.execute("UPDATE names SET tics = ?", ("[" * 100_000 + "]" * 100_000,)).rowcount == 1
    again = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})
    assert again["tic_id"] == first["tic_id"] and again["matched_by"] == "name_resolver"

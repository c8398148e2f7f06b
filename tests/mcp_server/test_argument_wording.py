"""The tools word the command line's papercut cases as clearly: the argument at fault, the format expected."""

from __future__ import annotations

import pytest

from tests.helpers.tool_client import call, error, text_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"planet": ".02"}, "'planet' must be a planet candidate"),
        ({"since": "yesterday"}, "since: a date as YYYY-MM-DD is expected"),
        ({"until": "2024-02-30"}, "until: a date as YYYY-MM-DD is expected"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "'since' (2024-02-01) is after 'until' (2024-01-01)"),
    ],
)
async def test_malformed_filters_name_the_argument(warm_settings, args, words):
    message = await error(warm_settings, "list_observations", {"system": "TOI-1130", **args})
    assert "[invalid_request] Invalid arguments: " in message and words in message
    assert "Invalid arguments: arguments:" not in message
    assert "is not a TIC id" not in message and "too short" not in message


@pytest.mark.parametrize("tool", ["list_observations", "download_tags"])
async def test_a_planet_of_another_system_is_an_error_listing_this_systems_planets(warm_settings, tool):
    args = {"system": "TOI-1130", "kind": "time_series", "planet": "TOI-999.01"}
    message = await error(warm_settings, tool, args)
    assert "[invalid_request]" in message
    assert "'planet' filter TOI-999.01 is not a planet candidate of TOI-1130" in message
    assert "TOI-1130.01, TOI-1130.02" in message and "resolve_system('TOI-999.01')" in message


async def test_a_check_of_several_arguments_is_not_prefixed_with_arguments(warm_settings):
    message = await error(warm_settings, "download_tags", {"system": "TOI-1130", "tags": []})
    assert "Invalid arguments: 'tags' is empty" in message


async def test_an_offset_past_the_end_says_how_many_rows_there_are(warm_settings):
    result = await call(warm_settings, "list_observations", {"system": "TOI-1130", "offset": 10000})
    text = text_of(result)
    assert "79 time series rows" in text and "offset 10000 is past the last row" in text
    assert "10001" not in text and "9999" not in text

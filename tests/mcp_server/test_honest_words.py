"""Words that say what happened: a cancel of a finished job, a job id that is not one, articles."""

from __future__ import annotations

import pytest
from mcp import Client

from exofop_mcp.cli.terminal_output import for_terminal
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.settings import Settings
from exofop_mcp.text_format import counted, with_article
from tests.helpers.tool_client import error, text_of

pytestmark = pytest.mark.anyio


async def test_cancelling_a_finished_download_says_nothing_was_cancelled(warm_settings: Settings) -> None:
    async with Client(build_server(warm_settings)) as client:
        done = await client.call_tool("download_tags", {"system": "TOI-1130", "tags": [18598]})
        report = done.structured_content
        assert report is not None and report["state"] == "completed"
        cancelled = await client.call_tool("cancel_download", {"job_id": report["job_id"]})
    assert not cancelled.is_error
    again = cancelled.structured_content
    assert again is not None and again["state"] == "completed" and again["totals"] == {"downloaded": 1}
    assert again["message"].startswith("Nothing was cancelled: the job had already ended (completed).")
    assert "Nothing was cancelled" in text_of(cancelled)


@pytest.mark.parametrize("tool", ["download_status", "cancel_download", "extraction_status"])
@pytest.mark.parametrize("job_id", ["not-hex!", "JOB", "12 34"])
async def test_a_job_id_that_is_not_one_is_refused_in_words(warm_settings: Settings, tool: str, job_id: str) -> None:
    message = await error(warm_settings, tool, {"job_id": job_id})
    assert f"{job_id!r} is not a job id" in message and "hexadecimal" in message, message
    assert "pattern" not in message and "[0-9a-f]" not in message


def test_articles_and_plurals() -> None:
    assert with_article("imaging") == "an imaging" and with_article("time series") == "a time series"
    assert counted(1, "row") == "1 row" and counted(2, "row") == "2 rows" and counted(0, "TOI") == "0 TOIs"


async def test_a_tag_of_another_kind_reads_right(warm_settings: Settings) -> None:
    message_of = await _result_message(warm_settings, {"system": "TOI-1130", "tags": [18598], "kind": "imaging"})
    assert "is not an imaging observation of TOI-1130" in message_of


async def _result_message(settings: Settings, args: dict[str, object]) -> str:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("download_tags", args)
    assert result.structured_content is not None, text_of(result)
    return str(result.structured_content["results"][0]["message"])


def test_another_stars_tag_reads_as_one_command_at_a_terminal() -> None:
    text = (
        "Download it under its own system: download_tags(system='TOI-2107', tags=[3456]) "
        "(CLI: exofop-mcp download 'TOI-2107' 3456)."
    )
    assert for_terminal(text) == "Download it under its own system: `exofop-mcp download TOI-2107 3456`."


async def test_search_tois_refuses_an_unknown_disposition(warm_settings: Settings) -> None:
    message = await error(warm_settings, "search_tois", {"tfopwg_disposition": ["pc", "XYZ"]})
    assert "'XYZ' is not a disposition" in message and "PC, APC, CP, KP, FP, FA" in message
    ok_result = await _search(warm_settings, {"tfopwg_disposition": ["pc"], "tess_disposition": ["eb"], "limit": 1})
    assert ok_result["filters"] == {"tfopwg_disposition": "PC", "tess_disposition": "EB"}


async def _search(settings: Settings, args: dict[str, object]) -> dict[str, object]:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("search_tois", args)
    assert not result.is_error, text_of(result)
    return dict(result.structured_content or {})


def test_recent_rows_are_the_ones_observed_in_the_last_twelve_months() -> None:
    from datetime import date

    from exofop_mcp.site.observations import recent_tags
    from exofop_mcp.site.records import TimeSeriesObservation

    rows = [
        TimeSeriesObservation.model_validate({"Tag": str(tag), "Obs Date": day})
        for tag, day in ((1, "2025-12-08"), (2, "2025-12-06"), (3, "2026-11-30"))
    ]
    assert recent_tags(rows, date(2026, 12, 7)) == [1, 3]

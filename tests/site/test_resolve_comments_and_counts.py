"""resolve_system shows the TOI table's comments as comments and labels its counts as the catalog's summary counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exofop_mcp.replica import dataset
from exofop_mcp.settings import Settings
from tests.helpers.cli_runner import Capture, Cli
from tests.helpers.tool_client import call, text_of

pytestmark = pytest.mark.anyio

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


async def test_a_free_text_comment_is_a_comment_not_a_name(warm_settings):
    result = await call(warm_settings, "resolve_system", {"query": f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}"})
    planet = result.structured_content["planets"][0]
    assert "name" not in planet and "V-shaped" in planet["comments"]
    text = text_of(result)
    line = next(line for line in text.splitlines() if line.strip().startswith(f"TOI-{planet['toi']}:"))
    assert "V-shaped" not in line and "named" not in line
    fenced = text[text.index("<<< site content") : text.index("<<< end of site content >>>")]
    assert f"TOI-{planet['toi']}: {planet['comments']}" in fenced


async def test_observation_counts_are_labelled_as_the_catalogs_summary(warm_settings):
    result = await call(warm_settings, "resolve_system", {"query": f"TIC {dataset.BUSY_SYSTEM_TIC}"})
    counts = result.structured_content["observation_counts"]
    assert counts["time_series"] == 58  # the TOI table's number; list_observations finds 350 rows
    text = text_of(result)
    assert "Catalog summary counts (TOI table): 58 time series" in text and "list_observations has the rows" in text
    schema = json.loads((SCHEMAS / "resolve_system.output.json").read_text())
    description = schema["properties"]["observation_counts"]["description"]
    assert "summary counts" in description and "list_observations" in description


def test_the_command_line_points_to_the_list_command(
    warm_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    done = Cli(warm_settings, tmp_path, monkeypatch, capsys)("resolve", "TOI-736")
    assert done.returncode == 0, done.stderr
    assert "Catalog summary counts (TOI table): 58 time series" in done.stdout
    assert "`exofop-mcp list TOI-736` has the rows" in done.stdout and "list_observations" not in done.stdout

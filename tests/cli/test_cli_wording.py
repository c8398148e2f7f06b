"""The command line speaks like a command line: commands to run, plurals, sizes, errors that blame the right flag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exofop_mcp.cli.terminal_output import for_terminal
from exofop_mcp.downloads.jobs import DownloadReport
from exofop_mcp.mcp_server.summaries import download_summary
from exofop_mcp.replica import dataset
from exofop_mcp.settings import Settings
from tests.helpers.cli_runner import Capture, Cli

TOOL_WORDS = re.compile(r"list_observations|download_tags|resolve_system|the user runs|assistant")


@pytest.fixture
def cli(warm_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> Cli:
    return Cli(warm_settings, tmp_path, monkeypatch, capsys)


def test_a_tag_of_another_kind_points_to_the_list_command(cli: Cli) -> None:
    done = cli("download", "TOI-1130", "--kind", "spectroscopy", "18598")
    assert done.returncode == 1
    for text in (done.stdout, done.stderr):
        assert "`exofop-mcp list TOI-1130 --kind spectroscopy`" in text
        assert not TOOL_WORDS.search(text), text


def test_a_proprietary_tag_says_which_command_to_run(cli: Cli) -> None:
    tag = dataset.PROPRIETARY_TAGS[0]
    done = cli("download", f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}", str(tag))
    assert done.returncode == 1
    assert "run `exofop-mcp login`, then run this command again" in done.stderr
    assert not TOOL_WORDS.search(done.stdout + done.stderr)


def test_status_tells_the_person_to_run_login(cli: Cli) -> None:
    done = cli("status")
    assert done.returncode == 0
    assert "To log in, run `exofop-mcp login`" in done.stdout and not TOOL_WORDS.search(done.stdout)


def test_one_tag_is_one_tag_and_sizes_are_never_zero_of_a_larger_unit(cli: Cli, replica) -> None:
    replica.configure(tag_sizes={18598: 38 * 1024})
    done = cli("download", "TOI-1130", "18598", "-q")
    assert done.returncode == 0, done.stderr
    assert "1/1 tag done (1 downloaded)" in done.stdout and "The tag is complete." in done.stdout
    assert "1 tags" not in done.stdout and "0.0 MiB" not in done.stdout
    line = r"tag 18598 \(time_series\): downloaded, \d+ files?, \d+(\.\d)? KiB in time_series/18598"
    assert re.search(line, done.stdout), done.stdout


def test_a_cancelled_download_does_not_count_cancelled_tags_as_done() -> None:
    report = DownloadReport(
        job_id="abc", state="cancelled", system="TOI-1130", tic_id=254113311, directory="/d", directory_relative="d",
        tags_total=16, tags_done=16, totals={"cancelled": 16}, elapsed_seconds=1.0, results_total=16,
        message="Cancelled: 0 of 16 tags are complete; nothing partial was left.",
    )  # fmt: skip
    first = download_summary(report, budget=None).splitlines()[0]
    assert first.startswith("TOI-1130: cancelled, 0 of 16 tags complete (16 cancelled)")
    assert "16/16" not in first


def test_an_offset_past_the_end_says_how_many_rows_there_are(cli: Cli) -> None:
    done = cli("list", "TOI-1130", "--offset", "10000")
    assert done.returncode == 0, done.stderr
    assert "No rows shown: 79 rows match and --offset 10000 is past the end." in done.stdout
    assert "First page: exofop-mcp list TOI-1130 --kind time_series" in done.stdout
    assert "10001" not in done.stdout and "9999" not in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--planet", ".02"], "--planet must be a planet candidate"),
        (["--since", "yesterday"], "--since 'yesterday': a date as YYYY-MM-DD is expected"),
        (["--until", "2024-02-30"], "--until '2024-02-30': a date as YYYY-MM-DD is expected"),
        (["--since", "2024-02-01", "--until", "2024-01-01"], "--since (2024-02-01) is after --until (2024-01-01)"),
    ],
)
def test_malformed_filters_blame_the_flag(cli: Cli, args: list[str], words: str) -> None:
    done = cli("list", "TOI-1130", *args)
    assert done.returncode == 2
    assert words in done.stderr
    assert "is not a TIC id" not in done.stderr and "too short" not in done.stderr
    assert "arguments:" not in done.stderr


@pytest.mark.parametrize("command", ["list", "download"])
def test_a_planet_of_another_system_is_refused_naming_this_systems_planets(cli: Cli, command: str) -> None:
    done = cli(command, "TOI-1130", "--kind", "time_series", "--planet", "TOI-999.01")
    assert done.returncode == 2
    assert "--planet filter TOI-999.01 is not a planet candidate of TOI-1130" in done.stderr
    assert "TOI-1130.01, TOI-1130.02" in done.stderr and "`exofop-mcp resolve TOI-999.01`" in done.stderr
    assert done.stdout == ""


def test_tool_advice_becomes_commands() -> None:
    assert for_terminal("Use list_observations(kind='imaging') to see its tags.", "TOI-1130") == (
        "Use `exofop-mcp list TOI-1130 --kind imaging` to see its tags."
    )
    assert for_terminal("The user runs `exofop-mcp login` again in a terminal, then asks again.") == (
        "Run `exofop-mcp login`, then run this command again."
    )
    assert for_terminal("it may be proprietary (the user runs `exofop-mcp login` in a terminal, then asks again)") == (
        "it may be proprietary (run `exofop-mcp login`, then run this command again)"
    )

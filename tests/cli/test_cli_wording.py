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


# -- every command's error and advice paths name commands and flags, never a tool -------------------------

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
TOOL_NAMES = sorted({p.name.split(".")[0] for p in SCHEMA_DIR.glob("*.input.json")})
ANY_TOOL = re.compile(r"\b(" + "|".join(TOOL_NAMES) + r")\b")
NOTES = "time_series/18598/TIC254113311-02_20200330_LCO-SSO-1.0m1m_zs_notes.txt"

#: (arguments, needs TOI-1130's tag 18598 on disk): errors, refusals and the advice each command gives.
WALK: list[tuple[tuple[str, ...], bool]] = [
    (("resolve", "TOI-99999"), False),
    (("resolve", "WASP 4b6"), False),
    (("resolve", dataset.AMBIGUOUS_NAME), False),
    (("resolve", "TIC -5"), False),
    (("resolve", "TOI-1130"), False),
    (("list", "TOI-1130", "--limit", "2"), False),
    (("list", "TOI-1130", "--offset", "10000"), False),
    (("list", "TOI-1130", "--kind", "nearby_targets", "--telescope", "LCO"), False),
    (("list", "TOI-1130", "--planet", "TOI-999.01"), False),
    (("list", f"TIC {dataset.EMPTY_SYSTEM_TIC}"), False),
    (("list", "TOI-1130", "--kind", "spectroscopy", "--limit", "1"), False),
    (("download", "TOI-1130"), False),
    (("download", "TOI-1130", "18598", "--telescope", "LCO"), False),
    (("download", "TOI-1130", "--kind", "spectroscopy", "18598"), False),
    (("download", "TOI-1130", str(dataset.UNKNOWN_TAG), "-q"), False),
    (("download", f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}", str(dataset.PROPRIETARY_TAGS[0]), "-q"), False),
    (("download", "TOI-1130", "18598", "-q"), True),
    (("download", "TOI-1130", "18598", "--concurrency", "0"), False),
    (("extract", "TOI-1130"), False),
    (("extract", "TOI-1130"), True),
    (("search", "--limit", "2"), False),
    (("search", "--tfopwg-disposition", "XYZ"), False),
    (("search", "--sort-by", "-depth_ppm", "--limit", "1"), False),
    (("search", "--tess-mag-min", "12", "--tess-mag-max", "10"), False),
    (("list-downloads",), False),
    (("list-downloads",), True),
    (("list-downloads", "TOI-1130"), True),
    (("list-downloads", "TOI-1130", "--tag", "18598"), True),
    (("list-downloads", "TOI-1130", "--tag", "12345"), True),
    (("list-downloads", "--tag", "18598"), True),
    (("list-downloads", "WASP-46"), False),
    (("preview", "TOI-1130", NOTES, "--max-chars", "200"), True),
    (("preview", "TOI-1130", "../../etc/passwd"), True),
    (("preview", "TOI-1130", "time_series/18598/missing.tbl"), True),
    (("preview", "TOI-1130", NOTES), False),
    (("download-status", "TOI-1130"), True),
    (("download-status", "TOI-1130"), False),
    (("status",), False),
    (("logout",), False),
    (("schemas", "--check", "--dir", "/nonexistent-dir"), False),
    (("plan", "lco-ctio", "2026-12-07", "--systems", "TOI-1130", "--min-observable-fraction", "0"), False),
    (("plan", "nowhere-observatory", "2026-12-07"), False),
    (("follow-up", "TOI-1130", "--notes", "2"), False),
    (("follow-up", "TOI-1130"), True),
    (("status-of", "TOI-99999"), False),
    (("whats-new", "--since", "2025-01-01", "TOI-1130", "--limit", "2"), False),
    (("whats-new", "--since", "2025-01-01"), False),
    (("watch", "list"), False),
]
#: Commands the walk leaves to their own tests (a server, a prompt for a password, the network doctor, ...).
NOT_WALKED = {"serve", "demo", "replica", "login", "doctor"}


def test_the_walk_covers_every_command() -> None:
    from exofop_mcp.cli.main import build_parser

    parser = build_parser(replica_arguments=False)
    sub = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    walked = {args[0] for args, _ in WALK}
    assert set(sub.choices) - NOT_WALKED == walked


@pytest.mark.parametrize(("args", "downloaded"), WALK, ids=[" ".join(a) + ("+18598" if d else "") for a, d in WALK])
def test_no_command_names_a_tool(cli: Cli, args: tuple[str, ...], downloaded: bool) -> None:
    if downloaded:
        assert cli("download", "TOI-1130", "18598", "-q").returncode == 0
    done = cli(*args)
    text = done.stdout + done.stderr
    assert text.strip(), args
    assert not ANY_TOOL.search(text), text
    assert "the user runs" not in text and "assistant" not in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("query", "suggested"),
    [("TOI-11300", "Did you mean TOI-1130, "), ("WASP 4b6", "WASP-46")],
)
def test_a_misspelled_name_gets_the_close_names_the_catalog_knows(cli: Cli, query: str, suggested: str) -> None:
    done = cli("resolve", query)
    assert done.returncode == 1
    assert "Did you mean" in done.stderr and suggested in done.stderr, done.stderr


def test_a_name_nothing_resembles_gets_no_guess(cli: Cli) -> None:
    done = cli("resolve", "Zorblax")
    assert done.returncode == 1 and "Did you mean" not in done.stderr and "Check the spelling" in done.stderr


def test_a_descending_sort_key_may_follow_its_flag(cli: Cli) -> None:
    joined = cli("search", "--sort-by=-depth_ppm", "--limit", "3", "--json")
    apart = cli("search", "--sort-by", "-depth_ppm", "--limit", "3", "--json")
    assert apart.returncode == 0, apart.stderr
    assert apart.stdout == joined.stdout and '"sort_by":"-depth_ppm"' in apart.stdout


def test_an_unknown_disposition_is_refused_listing_the_valid_ones(cli: Cli) -> None:
    done = cli("search", "--tfopwg-disposition", "PC", "XYZ")
    assert done.returncode == 2
    assert "'XYZ' is not a disposition the TOI table uses" in done.stderr
    assert "PC, APC, CP, KP, FP, FA" in done.stderr and done.stdout == ""


def test_list_numbers_rows_as_its_footer_counts_them_and_shows_coverage(cli: Cli) -> None:
    done = cli("list", "TOI-1130", "--offset", "2", "--limit", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("#"))
    assert "coverage" in header.split()
    numbers = [line.split()[0] for line in lines[lines.index(header) + 2 :] if line[:1].isdigit() or line[:2].strip()]
    assert numbers[:3] == ["3", "4", "5"] and "Rows 3-5 of 79." in done.stdout


def test_latest_first_lists_the_newest_observations_first(cli: Cli) -> None:
    newest = cli("list", "TOI-1130", "--latest", "--limit", "5", "--json")
    oldest = cli("list", "TOI-1130", "--offset", "78", "--limit", "1", "--json")  # the last of the usual order
    import json

    dates = [row["obs_date"] for row in json.loads(newest.stdout)["rows"]]
    every = sorted(row["obs_date"] for row in json.loads(oldest.stdout)["rows"])
    assert dates == sorted(dates, reverse=True) and dates[0] == every[-1]
    text = cli("list", "TOI-1130", "--latest", "--limit", "5")
    assert "--latest --offset 5" in text.stdout  # the next page keeps the order
    assert "download TOI-1130 --kind time_series --latest" not in text.stdout

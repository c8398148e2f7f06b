"""The command line: resolve, list and download against the replica, through ``main(argv)`` in this process.

``--json`` output is validated against the tools' output schemas and compared with what the MCP
tools return for the same arguments; the human output, exit codes and files on disk are checked too.
What only a real process shows runs the installed ``exofop-mcp`` command: a clean interruption by
SIGINT or SIGTERM, and the command end to end.  The table and the plain progress display are also
tested directly.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from exofop_mcp.atomic_files import is_temp_name
from exofop_mcp.cli.terminal_output import LiveProgress, PlainProgress, observation_table, progress_display
from exofop_mcp.downloads.downloader import DownloadPlan
from exofop_mcp.downloads.jobs import DownloadJob
from exofop_mcp.downloads.manifest import load_manifest
from exofop_mcp.downloads.request_models import DownloadTagsRequest, TagResult
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import Replica, dataset
from exofop_mcp.settings import Settings
from exofop_mcp.site.observations import ObservationPage
from exofop_mcp.site.records import NearbyTarget, TimeSeriesObservation
from exofop_mcp.site.resolver import ResolvedSystem
from tests.helpers.cli_runner import Capture, Cli, validate
from tests.helpers.environment import server_env

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
LCO_ZS = ["--kind", "time_series", "--telescope", "LCO", "--filter", "zs", "--until", "2020-07-01"]
LCO_ZS_TAGS = [18598, 19121, 19188, 19442]  # the real LCO zs light curves of TOI-1130 up to mid 2020
HOSTILE = f"TIC {dataset.HOSTILE_SYSTEM_TIC}"  # TOI-209
ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def cli(warm_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> Cli:
    return Cli(warm_settings, tmp_path, monkeypatch, capsys)


def installed_command() -> str:
    """The ``exofop-mcp`` console script of this environment."""
    return shutil.which("exofop-mcp") or str(Path(sys.executable).parent / "exofop-mcp")


async def tool_output(settings: Settings, name: str, args: dict[str, Any]) -> dict[str, Any]:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(name, args)
    assert not result.is_error
    assert result.structured_content is not None
    return dict(result.structured_content)


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_temp_name(p.name)]


# -- help -----------------------------------------------------------------------------------------

COMMANDS = ["resolve", "list", "download", "login", "logout", "status", "doctor", "serve", "demo", "replica", "schemas"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(cli: Cli, command: str | None) -> None:
    done = cli(*([command] if command else []), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: exofop-mcp")
    assert "examples:" in done.stdout
    if command in (None, "resolve", "list", "download"):
        assert "exit codes:" in done.stdout
    if command in ("resolve", "list", "download"):
        for flag in (
            "--json",
            "--base-url",
            "--data-dir",
            "--cache-dir",
            "--config-dir",
            "--concurrency",
            "--log-level",
        ):
            assert flag in done.stdout, flag
    if command in ("list", "download"):
        for flag in ("--telescope", "--instrument", "--filter", "--user", "--planet", "--since", "--until"):
            assert flag in done.stdout, flag
    if command == "list":
        assert "--limit" in done.stdout and "--offset" in done.stdout and "nearby_targets" in done.stdout
    if command == "download":
        for flag in ("--no-unzip", "--overwrite", "--keep-zip", "TAG"):
            assert flag in done.stdout, flag


# -- resolve --------------------------------------------------------------------------------------


def test_resolve_prints_the_summary(cli: Cli) -> None:
    done = cli("resolve", "tic 254113311")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("TOI-1130 = TIC 254113311 (matched by tic)")
    assert "TOI-1130.02" in done.stdout and "Catalog summary counts (TOI table): 79 time series" in done.stdout
    assert done.stderr == ""


def test_resolve_json_is_the_tool_output(cli: Cli, warm_settings: Settings) -> None:
    data = cli.json("resolve", "toi_1130.02", schema="resolve_system")
    assert data["canonical_name"] == "TOI-1130" and data["matched_by"] == "planet_toi"
    expected = asyncio.run(tool_output(warm_settings, "resolve_system", {"query": "toi_1130.02"}))
    # the catalog's age moves on between the two calls; everything else is identical
    assert {k: v for k, v in data.items() if k != "catalog"} == {k: v for k, v in expected.items() if k != "catalog"}
    assert data["catalog"]["source"] == expected["catalog"]["source"]


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ("TOI-999999", 1, "not in ExoFOP's TOI table"),
        (dataset.AMBIGUOUS_NAME, 1, "matches 2 stars"),
        ("TOI-1130.07", 1, "not a planet candidate of TOI-1130"),
        ("TOI-0", 2, "not a valid TOI"),
        ("???", 2, "is not a TIC id, a TOI or a star name"),
    ],
)
def test_resolve_errors_and_exit_codes(cli: Cli, query: str, code: int, words: str) -> None:
    done = cli("resolve", query)
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("exofop-mcp: ") and words in done.stderr
    assert "Traceback" not in done.stderr


def test_resolve_json_error_prints_nothing_on_stdout(cli: Cli) -> None:
    done = cli("resolve", "TOI-999999", "--json")
    assert done.returncode == 1 and done.stdout == "" and "TOI-999999" in done.stderr


def test_settings_flags_override_the_environment(cli: Cli, replica: Replica, tmp_path: Path) -> None:
    cli.env = {k: v for k, v in cli.env.items() if not k.startswith("EXOFOP")} | {"HOME": str(tmp_path)}
    cache = cli.settings.cache_dir
    done = cli("resolve", "TOI-1130", "--base-url", replica.base_url, "--cache-dir", str(cache), "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    bad = cli("resolve", "TOI-1130", "--base-url", "ftp://example.org")
    assert bad.returncode == 2 and "--base-url" in bad.stderr


# -- list -----------------------------------------------------------------------------------------


def test_list_prints_a_table_with_paging_hints(cli: Cli) -> None:
    done = cli("list", "TOI-1130")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "TOI-1130 (TIC 254113311): 79 time series rows"
    header = next(line for line in lines if line.lstrip().startswith("#"))
    for column in ("date", "telescope", "instrument", "filter", "planet", "tag", "user", "notes"):
        assert column in header.split(), column
    rows = [line for line in lines if re.match(r"^\s*\d+\s+\d{4}-\d\d-\d\d", line)]
    assert len(rows) == 25 and rows[0].split()[0] == "1" and rows[-1].split()[0] == "25"
    assert all(len(line) <= 120 for line in lines if not line.startswith(("Next", "70 tag", "Download")))
    assert "Rows 1-25 of 79." in lines
    assert "Next page: exofop-mcp list TOI-1130 --kind time_series --offset 25" in lines
    assert any(line.startswith("70 tags in all 79 matching rows: ") for line in lines)
    assert "Download them: exofop-mcp download TOI-1130 --kind time_series" in lines


def test_list_filters_and_paging(cli: Cli) -> None:
    done = cli("list", "TOI-1130", *LCO_ZS, "--limit", "2", "--offset", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("TOI-1130 (TIC 254113311): 4 time series rows matching ")
    rows = [line for line in lines if re.match(r"^\s*\d+\s+\d{4}-", line)]
    assert [r.split()[0] for r in rows] == ["2", "3"]  # rows 2-3, numbered as the footer counts them
    assert all("LCO" in r and " zs " in r for r in rows)
    assert (
        "Next page: exofop-mcp list TOI-1130 --kind time_series --telescope LCO --filter zs --until 2020-07-01 "
        "--offset 3 --limit 2"
    ) in lines
    assert (
        "Download them: exofop-mcp download TOI-1130 --kind time_series --telescope LCO --filter zs --until 2020-07-01"
        in lines
    )


def test_list_json_is_the_tool_output(cli: Cli, warm_settings: Settings) -> None:
    data = cli.json("list", "TOI-1130", *LCO_ZS, "--limit", "2", "--offset", "1", schema="list_observations")
    assert (data["total"], data["offset"], data["returned"], data["next_offset"]) == (4, 1, 2, 3)
    assert data["tags"] == LCO_ZS_TAGS
    assert data["filters"] == {"telescope": "LCO", "filter": "zs", "until": "2020-07-01"}
    args = {"system": "TOI-1130", "kind": "time_series", "telescope": "LCO", "filter": "zs", "until": "2020-07-01"}
    assert data == asyncio.run(tool_output(warm_settings, "list_observations", {**args, "limit": 2, "offset": 1}))


def test_list_nearby_targets_has_its_own_columns(cli: Cli) -> None:
    done = cli("list", "TOI-1130", "--kind", "nearby_targets")
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if line.lstrip().startswith("#"))
    assert header.split()[:5] == ["#", "TIC", 'sep(")', "PA(deg)", "Tmag"]
    assert "254113311" in done.stdout
    validate(cli.json("list", "TOI-1130", "--kind", "nearby_targets", schema="list_observations"), "list_observations")


def test_list_with_nothing_matching(cli: Cli) -> None:
    done = cli("list", "TOI-1130", "--telescope", "no-such-telescope")
    assert done.returncode == 0, done.stderr
    assert "0 time series rows" in done.stdout and "No rows match. Try fewer filters." in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--limit", "0"], "--limit 0"),
        (["--offset", "-1"], "--offset -1"),
        (["--since", "2024-13-01"], "--since '2024-13-01'"),
        (["--since", "2024-05-01", "--until", "2024-01-01"], "--since (2024-05-01) is after --until"),
        (["--planet", "TOI-1130"], "--planet must be a planet candidate"),
        (["--kind", "bogus"], "invalid choice"),
        (["--limit", "many"], "invalid int value"),
        (["--kind", "nearby_targets", "--telescope", "LCO"], "--telescope cannot filter it"),
    ],
)
def test_list_bad_arguments_exit_2(cli: Cli, args: list[str], words: str) -> None:
    done = cli("list", "TOI-1130", *args)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and done.stdout == ""
    assert "Traceback" not in done.stderr


# -- download -------------------------------------------------------------------------------------


def test_download_prints_plain_lines_then_the_summary(cli: Cli, warm_settings: Settings) -> None:
    done = cli("download", "TOI-1130", *LCO_ZS)
    assert done.returncode == 0, done.stderr
    progress = done.stderr.splitlines()
    system_dir = warm_settings.data_dir / "TOI-1130"
    assert progress[0] == f"TOI-1130: 4 tags, into {system_dir}"
    finished = sorted(progress[1:])
    assert len(finished) == 4
    for i, tag in enumerate(LCO_ZS_TAGS):
        assert any(f"tag {tag} downloaded: " in line and f"in time_series/{tag}" in line for line in finished), tag
        assert any(line.startswith(f"[{i + 1}/4] tag ") for line in finished)
    assert not ANSI.search(done.stderr) and "\r" not in done.stderr
    assert done.stdout.startswith("TOI-1130: completed, 4/4 tags done (4 downloaded)")
    assert f"Directory: {system_dir}" in done.stdout
    for tag in LCO_ZS_TAGS:
        assert any((system_dir / "time_series" / str(tag)).iterdir())
    assert (system_dir / "manifest.json").exists() and temp_files(warm_settings.data_dir) == []


def test_download_fetches_what_list_showed_and_reruns_are_already_present(cli: Cli, warm_settings: Settings) -> None:
    listed = cli.json("list", "TOI-1130", *LCO_ZS, schema="list_observations")
    first = cli.json("download", "TOI-1130", *LCO_ZS, schema="download_tags")
    assert [r["tag"] for r in first["results"]] == listed["tags"] == LCO_ZS_TAGS
    assert first["state"] == "completed" and first["totals"] == {"downloaded": 4}
    assert all(r["directory"] == f"time_series/{r['tag']}" for r in first["results"])
    again = cli.json("download", "TOI-1130", *LCO_ZS, schema="download_tags")
    assert again["totals"] == {"already_present": 4} and again["bytes_downloaded"] == 0
    # the same fields as the tool's report for the same request (job id and timing aside)
    tool = asyncio.run(tool_output(warm_settings, "download_tags", {"system": "TOI-1130", "tags": LCO_ZS_TAGS}))
    volatile = {"job_id", "elapsed_seconds"}
    assert {k: v for k, v in again.items() if k not in volatile} == {k: v for k, v in tool.items() if k not in volatile}


def test_download_named_tags_with_options(cli: Cli, warm_settings: Settings) -> None:
    done = cli.json("download", "TOI-1130", "18598,19121", "--no-unzip", schema="download_tags")
    assert [r["status"] for r in done["results"]] == ["downloaded", "downloaded"]
    archives = warm_settings.data_dir / "TOI-1130" / "archives"
    assert sorted(p.name for p in archives.iterdir()) == ["18598.zip", "19121.zip"]
    kept = cli.json("download", "TOI-1130", "19188", "--keep-zip", "--overwrite", "-q", schema="download_tags")
    assert kept["results"][0]["status"] == "downloaded" and (archives / "19188.zip").exists()
    assert (warm_settings.data_dir / "TOI-1130" / "time_series" / "19188").is_dir()


def test_download_failing_tag_exits_1_and_names_it(cli: Cli, warm_settings: Settings) -> None:
    slip, fine = dataset.SPECIAL_TAGS["zip_slip"], dataset.SPECIAL_TAGS["no_top_folder"]
    done = cli("download", HOSTILE, str(slip), str(fine))
    assert done.returncode == 1, done.stderr
    assert f"exofop-mcp: 1 of 2 tags did not succeed:\n  tag {slip} (time_series): unsafe_archive - " in done.stderr
    assert "1 downloaded, 1 unsafe archive" in done.stdout
    assert (warm_settings.data_dir / "TOI-209" / "time_series" / str(fine)).is_dir()
    assert not (warm_settings.data_dir / "TOI-209" / "time_series" / str(slip)).exists()
    as_json = cli("download", HOSTILE, str(slip), "--json")
    assert as_json.returncode == 1 and f"tag {slip}" in as_json.stderr
    report = json.loads(as_json.stdout)
    validate(report, "download_tags")
    assert report["results"][0]["status"] == "unsafe_archive"


def test_download_tags_may_follow_options(cli: Cli) -> None:
    done = cli.json(
        "download", "TOI-1130", "--kind", "time_series", "18598", "--keep-zip", "19121", schema="download_tags"
    )
    assert [r["tag"] for r in done["results"]] == [18598, 19121]
    assert {r["status"] for r in done["results"]} == {"downloaded"}
    stray = cli("list", "TOI-1130", "--json", "18598")
    assert stray.returncode == 2 and "unrecognized arguments: 18598" in stray.stderr
    assert stray.stderr.startswith("usage: exofop-mcp list")


def test_download_tag_of_another_kind_is_not_found(cli: Cli) -> None:
    done = cli("download", "TOI-1130", "18598", "--kind", "spectroscopy")
    assert done.returncode == 1
    assert "tag 18598 (time_series): not_found - " in done.stderr


def test_download_with_nothing_matching_exits_0(cli: Cli) -> None:
    done = cli("download", "TOI-1130", "--kind", "time_series", "--since", "2031-01-01")
    assert done.returncode == 0, done.stderr
    assert "nothing to download" in done.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["18598", "--telescope", "LCO"], "cannot be combined with TAG numbers"),
        (["18598", "--since", "2020-01-01", "--kind", "time_series"], "--kind time_series --since 2020-01-01"),
        ([], "say what to download: TAG numbers"),
        (["time_series"], "use --kind time_series"),
        (["0"], "TAG 0: "),
        (["--kind", "files"], "invalid choice"),
        (["--kind", "time_series", "--until", "yesterday"], "--until 'yesterday'"),
    ],
)
def test_download_bad_arguments_exit_2(cli: Cli, warm_settings: Settings, args: list[str], words: str) -> None:
    done = cli("download", "TOI-1130", *args)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr, done.stderr
    assert done.stderr.startswith("usage: exofop-mcp download")
    assert not warm_settings.data_dir.exists(), "nothing may be written for a malformed command"


# -- the installed command -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_installed_command_end_to_end(cli: Cli) -> None:
    """The console script and ``python -m exofop_mcp``, in child processes, answer as ``main(argv)`` does."""
    expected = cli.json("list", "TOI-1130", *LCO_ZS, schema="list_observations")
    for command in ([installed_command()], [sys.executable, "-m", "exofop_mcp"]):
        done = subprocess.run(
            [*command, "list", "TOI-1130", *LCO_ZS, "--json"],
            env=cli.env,
            cwd=cli.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == expected, command
        assert done.stderr == ""


# -- interruption ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_download_cancels_cleanly(
    cli: Cli, warm_settings: Settings, replica: Replica, signum: int, code: int
) -> None:
    small, big = 18493, [18598, 19121, 19188]
    replica.configure(tag_sizes={small: 64 * 1024}, tag_size=4 * 2**20, bandwidth=256 * 1024)
    child = subprocess.Popen(
        [installed_command(), "download", "TOI-1130", str(small), *map(str, big)],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    stderr_lines: list[str] = []

    def read_stderr() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            lines.put(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the small tag is reported done
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            stderr_lines.append(line)
            if f"tag {small} downloaded" in line:
                break
        else:
            pytest.fail("the download never reported progress:\n" + "".join(stderr_lines))
        child.send_signal(signum)
        child.wait(timeout=60)  # the summary is short: it fits in the pipe meanwhile
        assert child.stdout is not None
        out = child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    reader.join(10)
    while not lines.empty():
        stderr_lines.append(lines.get())
    err = "".join(stderr_lines)
    assert child.returncode == code, err
    assert out.startswith("TOI-1130: cancelled, ")
    assert "1 downloaded" in out and "3 cancelled" in out
    assert "exofop-mcp: interrupted: the download was cancelled; 1 of 4 tags are complete" in err
    system_dir = warm_settings.data_dir / "TOI-1130"
    assert temp_files(warm_settings.data_dir) == []
    assert any((system_dir / "time_series" / str(small)).iterdir())
    for tag in big:
        assert not (system_dir / "time_series" / str(tag)).exists()
    assert not any((system_dir / "archives").glob("*"))
    manifest = load_manifest(SystemDirectory(warm_settings.data_dir, "TOI-1130"))
    assert manifest is not None and set(manifest.tags) == {str(small)}


# -- rendering, directly -------------------------------------------------------------------------


def _ts_row(i: int, notes: str | None = None) -> TimeSeriesObservation:
    return TimeSeriesObservation.model_validate(
        {
            "TIC ID": 254113311,
            "TOI": "TOI 1130.02",
            "Telescope": "LCO-SSO-1.0m (1.0 m) with a rather long telescope name",
            "Camera": "Sinistro",
            "Filter": "zs",
            "Obs Date": f"2020-03-{10 + i:02d}",
            "User": "stockdale",
            "Tag": 18000 + i,
            "Notes": notes,
        }
    )


def test_table_fits_the_width_and_shortens_long_text() -> None:
    rows = [_ts_row(i, "a very long note " * 10 if i == 1 else None) for i in range(3)]
    page = ObservationPage(system="TOI-1130", tic_id=254113311, kind="time_series", total=40, offset=10, returned=3)
    page.rows = rows  # type: ignore[assignment]
    lines = observation_table(page, width=90, mark="…")
    assert lines[0].split() == ["#", "date", "telescope", "instrument", "filter", "planet", "tag", "user", "notes"]
    assert set(lines[1]) <= {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == ["11", "12", "13"]
    assert all(len(line) <= 90 for line in lines)
    assert "…" in lines[3] and "18001" in lines[3] and "1130.02" in lines[3]
    # without notes on the page, the notes column is left out
    page.rows = [_ts_row(0)]  # type: ignore[assignment]
    assert "notes" not in observation_table(page)[0].split()


def test_nearby_targets_table_columns() -> None:
    row = NearbyTarget.model_validate(
        {"TIC ID": 254116596, "Separation (arcsec)": 5.98, "Position Angle (deg E. of N.)": 122.9, "TESS Mag": 12.567}
    )
    page = ObservationPage(system="TOI-1130", tic_id=254113311, kind="nearby_targets", total=1, offset=0, returned=1)
    page.rows = [row]  # type: ignore[assignment]
    header, _, line = observation_table(page)
    assert header.split() == ["#", "TIC", 'sep(")', "PA(deg)", "Tmag"]
    assert line.split() == ["1", "254116596", "5.98", "122.9", "12.567"]


def _job(tmp_path: Path, tags: list[int]) -> DownloadJob:
    system = ResolvedSystem(
        query="TOI-1130",
        canonical_name="TOI-1130",
        tic_id=254113311,
        matched_by="toi",
        exofop_url="https://exofop.ipac.caltech.edu/tess/target.php?id=254113311",
    )
    plan = DownloadPlan(
        system=system,
        directory=SystemDirectory(tmp_path, "TOI-1130"),
        request=DownloadTagsRequest(system="TOI-1130", tags=tags),
        kinds=dict.fromkeys(tags, "time_series"),
    )
    return DownloadJob(plan)


def test_plain_progress_writes_one_line_per_finished_tag(tmp_path: Path) -> None:
    job = _job(tmp_path, [1, 2, 3])
    stream = io.StringIO()
    display = progress_display(stream)
    assert isinstance(display, PlainProgress)  # a StringIO is no terminal
    display.start(job)
    job.update(TagResult(tag=1, kind="time_series", status="downloading"))
    display.update(job)
    job.update(
        TagResult(
            tag=2, kind="time_series", status="downloaded", bytes=3 * 2**20, directory="time_series/2", file_count=4
        )
    )
    job.add_bytes(3 * 2**20)
    display.update(job)
    display.update(job)  # nothing new: nothing written
    job.update(TagResult(tag=3, kind="time_series", status="corrupt", message="CRC mismatch; download it again"))
    job.update(TagResult(tag=1, kind="time_series", status="already_present", directory="time_series/1"))
    display.update(job)
    job.state = "completed"
    display.finish(job.report())
    assert stream.getvalue().splitlines() == [
        f"TOI-1130: 3 tags, into {tmp_path.resolve() / 'TOI-1130'}",
        "[1/3] tag 2 downloaded: 3 MiB, 4 files in time_series/2",
        "[2/3] tag 1 already present in time_series/1",
        "[3/3] tag 3 corrupt: CRC mismatch; download it again",
    ]
    assert progress_display(stream, quiet=True).__class__.__name__ == "QuietProgress"


def test_plain_progress_heartbeat_and_cancelled_tags(tmp_path: Path) -> None:
    now = [0.0]
    job = _job(tmp_path, [1, 2])
    stream = io.StringIO()
    display = PlainProgress(stream, clock=lambda: now[0], heartbeat_seconds=60)
    display.start(job)
    job.add_bytes(2**20)
    now[0] = 61.0
    display.update(job)
    job.update(TagResult(tag=1, kind="time_series", status="cancelled", message="cancelled"))
    job.state = "cancelled"
    display.finish(job.report())  # cancelled tags are left to the summary
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("... 0/2 tags done, 1 MiB")


def test_live_progress_redraws_in_place(tmp_path: Path) -> None:
    job = _job(tmp_path, [1, 2, 3])
    stream = io.StringIO()
    display = LiveProgress(stream, width=lambda: 60)
    display.start(job)
    job.update(TagResult(tag=1, kind="time_series", status="downloading"))
    job.update(TagResult(tag=2, kind="time_series", status="downloaded", bytes=1024, directory="time_series/2"))
    display.update(job)
    job.state = "completed"
    display.finish(job.report())
    text = stream.getvalue()
    assert "\x1b[2F\x1b[J" in text  # the first block (overall line + "waiting") is redrawn
    assert "[1/3] tag 2 downloaded" in text and "1/3 tags" in text and "tag 1 (time_series): starting" in text
    block = [line for line in re.split(r"\x1b\[\d*[FJ]|\n", text) if line.startswith(("TOI-1130 [", "  "))]
    assert block and all(len(line) < 60 for line in block)  # redrawn lines never wrap


def test_download_verify_checks_every_file_again(cli, replica):
    first = cli.json("download", "TOI-1130", "18493", schema="download_tags")
    victim = Path(first["directory"]) / first["results"][0]["files"][0]
    st = victim.stat()
    victim.write_bytes(b"\x00" * st.st_size)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same time, other content
    assert cli.json("download", "TOI-1130", "18493", schema="download_tags")["totals"] == {"already_present": 1}
    again = cli.json("download", "TOI-1130", "18493", "--verify", schema="download_tags")
    assert again["totals"] == {"downloaded": 1}
    assert victim.stat().st_size == st.st_size and victim.read_bytes() != b"\x00" * st.st_size


@pytest.mark.slow  # runs the installed command
@pytest.mark.parametrize("argv", [["status", "--json"], ["resolve", "TOI-1130", "--json"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(settings, argv) -> None:
    """`exofop-mcp status --json | head`: no BrokenPipeError traceback, a failure exit code."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    try:
        done = subprocess.run(
            [installed_command(), *argv], stdout=write_end, stderr=subprocess.PIPE, env=server_env(settings), timeout=60
        )
    finally:
        os.close(write_end)
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 1

"""exofop-mcp doctor against the replica, over real sockets: all pass when the site behaves, and each
way the site can differ from our assumptions fails (or warns) loudly and names what changed."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import json
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from exofop_mcp import __version__
from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.auth.session_store import StoredSession, load_sessions, store_login, utc_now
from exofop_mcp.cli import doctor_command as doctor_cli
from exofop_mcp.cli.doctor_command import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_doctor_command, run_doctor_command
from exofop_mcp.doctor import (
    CHECK_TITLES,
    DOCUMENTED_COLUMNS,
    OBSERVATION_RECORDS,
    SITE_CHECKS,
    DoctorOptions,
    DoctorReport,
)
from exofop_mcp.replica import Replica
from exofop_mcp.replica.dataset import PROPRIETARY_TAGS, SPECIAL_TAGS
from exofop_mcp.settings import Settings
from tests.helpers.environment import server_env

TABLE_CHECKS = ("time_series", "spectroscopy", "imaging", "stellar_companions")
ENVIRONMENT = {"EXOFOP_MCP_RETRY_BASE_DELAY": "0.01", "EXOFOP_MCP_MAX_RETRIES": "1"}
PASSWORD = "doctor-Pw-3x!q#9=z"
LINE = re.compile(r"^(PASS|WARN|FAIL|SKIP)  (\w+)\s+(.*)$")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="exofop-mcp")
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    add_doctor_command(sub)
    return root


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def lines(self) -> dict[str, tuple[str, str]]:
        """check name -> (status, summary), from the text output."""
        found = {}
        for line in self.out.splitlines():
            match = LINE.match(line)
            if match:
                found[match.group(2)] = (match.group(1), match.group(3))
        return found

    def status(self, name: str) -> str:
        return self.lines[name][0]

    def summary(self, name: str) -> str:
        return self.lines[name][1]

    @property
    def report(self) -> DoctorReport:
        return DoctorReport.model_validate_json(self.out)


def doctor(settings: Settings, *argv: str, base_url: str | None = None) -> Run:
    """``exofop-mcp doctor`` with these settings, parsed by the command's own parser."""
    args = parser().parse_args(
        [
            "doctor",
            "--base-url",
            base_url or settings.base_url,
            "--data-dir",
            str(settings.data_dir),
            "--cache-dir",
            str(settings.cache_dir),
            "--config-dir",
            str(settings.config_dir),
            *argv,
        ]
    )
    out, err = io.StringIO(), io.StringIO()
    code = run_doctor_command(args, stdout=out, stderr=err, environ=dict(ENVIRONMENT))
    return Run(code, out.getvalue(), err.getvalue())


def assert_site_passes(run: Run, *, except_for: tuple[str, ...] = ()) -> None:
    for name in SITE_CHECKS - {"toi_table_full", *except_for}:
        assert run.status(name) == "PASS", (name, run.out)


# -- the site as documented ---------------------------------------------------------------------------


def test_everything_passes_against_the_replica(settings: Settings) -> None:
    run = doctor(settings, "--full")
    assert run.code == EXIT_OK, run.out
    assert list(run.lines) == list(CHECK_TITLES)
    statuses = {name: status for name, (status, _) in run.lines.items()}
    assert statuses == {**dict.fromkeys(CHECK_TITLES, "PASS"), "session": "SKIP", "login_answer": "SKIP"}, run.out
    assert "TIC 254113311" in run.summary("toi_table")
    assert "RA 286.37" in run.summary("toi_table")
    assert "7,710 rows" in run.summary("toi_table_full")
    assert "TIC 254113311" in run.summary("name_resolver")
    assert "79 row(s)" in run.summary("time_series")
    # The first tag of the time-series table (its oldest observation) downloads as a valid zip.
    assert re.search(r"tag 6070: valid zip, .* in one top folder", run.summary("tag_download"))
    assert "Content-Length" in run.summary("tag_download")
    assert "not logged in" in run.summary("login")
    assert "0 failed, 0 warning(s), 14 passed, 2 skipped" in run.out
    assert "----- exofop-mcp doctor report -----" not in run.out
    assert run.err == ""


def test_json_report_validates_against_the_model(settings: Settings) -> None:
    run = doctor(settings, "--json")
    assert run.code == EXIT_OK
    report = run.report
    assert [c.name for c in report.checks] == list(CHECK_TITLES)
    assert report.status == "PASS" and report.exit_code == 0 and report.report_text is None
    assert report.base_url == settings.base_url
    assert report.counts == {"PASS": 13, "WARN": 0, "FAIL": 0, "SKIP": 3}
    assert report.check("toi_table_full").status == "SKIP"
    assert "--full" in report.check("toi_table_full").summary
    assert report.check("time_series").url == (
        f"{settings.base_url}/tess/download_tseries.php?target=254113311&output=pipe"
    )
    assert report.check("time_series").http_status == 200
    assert {"exofop-mcp", "python", "httpx", "pydantic", "astropy", "platform"} <= set(report.versions)
    assert report.options["toi"] == 1130 and report.options["target"] == "TOI-1130"
    # Plain JSON, every check carrying the documented fields.
    raw = json.loads(run.out)
    assert {"name", "status", "summary", "details", "expected", "got"} <= set(raw["checks"][0])


def test_nothing_is_left_behind_and_the_sandbox_is_untouched(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "system-temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    settings.cache_dir.mkdir(parents=True)
    run = doctor(settings)
    assert run.code == EXIT_OK, run.out
    assert run.status("tag_download") == "PASS"
    assert list(temp.iterdir()) == []  # the archive was checked in a temporary directory, now gone
    assert not settings.data_dir.exists() and not settings.config_dir.exists()  # nothing created
    assert list(settings.cache_dir.iterdir()) == []  # the writability probe removed its file


# -- the TOI table answering in unexpected ways ----------------------------------------------------------


@pytest.mark.parametrize(
    ("quirk", "expected"),
    [
        (
            "renamed_columns",
            r"lacks the required column\(s\) 'TIC ID' \(renamed to 'TIC'\?\), 'TOI' \(renamed to 'TOI Number'\?\)",
        ),
        ("html", r"answered an HTML page titled 'Maintenance \| ExoFOP-TESS' instead of a pipe table"),
        ("garbage", r"lacks the required column\(s\) 'TIC ID', 'TOI', 'TESS Disposition', 'TFOPWG Disposition'"),
        ("redirect", r"was redirected \(302 → /tess/login\.php\?ref=.*\) and answered a login page"),
    ],
)
def test_a_toi_table_that_changed_fails_loudly(replica: Replica, settings: Settings, quirk: str, expected: str) -> None:
    replica.configure(toi_table_quirk=quirk)
    run = doctor(settings)
    assert run.code == EXIT_FAILED
    assert run.status("toi_table") == "FAIL"
    assert re.search(expected, run.summary("toi_table")), run.summary("toi_table")
    # The other pages still work: the star's TIC comes from the name resolver instead.
    assert_site_passes(run, except_for=("toi_table",))
    assert "(TIC 254113311, from the name resolver)" in run.summary("time_series")
    # What was expected, what came back, and a block to paste.
    assert "expected: " in run.out and "got:      HTTP 200" in run.out
    block = run.out.split("----- exofop-mcp doctor report -----", 1)[1]
    assert f"base URL: {settings.base_url}" in block
    assert "FAIL toi_table:" in block and "download_toi.php?toi=1130&output=pipe" in block
    assert f"exofop-mcp {__version__}; Python " in block


def test_renamed_columns_in_json_name_the_columns_found(replica: Replica, settings: Settings) -> None:
    replica.configure(toi_table_quirk="renamed_columns")
    report = doctor(settings, "--json").report
    check = report.check("toi_table")
    assert check.status == "FAIL" and report.exit_code == 1 and report.status == "FAIL"
    assert check.expected is not None and "'TIC ID'" in check.expected
    assert check.got is not None and "'TIC', 'TOI Number'" in check.got and "63 columns" in check.got
    assert report.report_text is not None and "FAIL toi_table" in report.report_text


def test_the_whole_table_is_checked_with_full(replica: Replica, settings: Settings) -> None:
    replica.configure(toi_table_quirk="html")
    run = doctor(settings, "--full")
    assert run.status("toi_table_full") == "FAIL"
    assert "HTML page" in run.summary("toi_table_full")


def test_an_unknown_toi_fails_saying_so(settings: Settings) -> None:
    run = doctor(settings, "--toi", "99999")
    assert run.code == EXIT_FAILED
    assert run.status("toi_table") == "FAIL"
    assert "has no row for TOI-99999" in run.summary("toi_table")
    assert run.status("name_resolver") == "FAIL"
    assert "'No object found.'" in run.summary("name_resolver")


# -- an unreachable site -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_closed_port_is_unreachable_connection_refused(settings: Settings) -> None:
    port = _free_port()
    run = doctor(settings, base_url=f"http://127.0.0.1:{port}")
    assert run.code == EXIT_FAILED
    assert run.status("reachable") == "FAIL"
    assert f"unreachable: connection refused by 127.0.0.1:{port}" in run.summary("reachable")
    for name in SITE_CHECKS - {"reachable"}:
        assert run.status(name) == "SKIP", name
        assert "is unreachable" in run.summary(name)
    # Local checks still run.
    assert run.status("login") == "PASS" and run.status("settings") == "PASS"


@pytest.mark.slow  # waits for the read timeout
def test_a_silent_server_times_out_precisely(settings: Settings) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # connections complete, but nobody ever answers
        port = listener.getsockname()[1]
        started = time.monotonic()
        # A 5 s budget leaves the 4 s read timeout a second of margin on a loaded machine.
        run = doctor(settings, "--timeout", "5", base_url=f"http://127.0.0.1:{port}")
    assert time.monotonic() - started < 15
    assert run.status("reachable") == "FAIL"
    assert f"connected to 127.0.0.1:{port}, but no answer within 4 s (read timeout)" in run.summary("reachable")


@pytest.fixture
def plain_http_responder() -> Iterator[int]:
    """A port that answers anything, TLS hellos included, with a plain-HTTP 400."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def test_https_to_a_plain_http_port_is_a_tls_failure(settings: Settings, plain_http_responder: int) -> None:
    run = doctor(settings, base_url=f"https://127.0.0.1:{plain_http_responder}")
    assert run.status("reachable") == "FAIL"
    summary = run.summary("reachable")
    assert f"TLS handshake with 127.0.0.1:{plain_http_responder} failed" in summary
    assert "does not seem to speak https" in summary


# -- tags ------------------------------------------------------------------------------------------------


def test_a_proprietary_tag_gets_the_login_page_instead_of_a_zip(settings: Settings) -> None:
    tag = PROPRIETARY_TAGS[0]
    run = doctor(settings, "--tag", str(tag))
    assert run.code == EXIT_FAILED
    assert run.status("tag_download") == "FAIL"
    assert f"tag {tag}: ExoFOP answered its login page instead of a zip" in run.summary("tag_download")
    assert "HTML login page" in run.out  # the first bytes, described
    assert_site_passes(run, except_for=("tag_download",))


def test_a_corrupt_tag_is_not_a_valid_zip(settings: Settings) -> None:
    tag = SPECIAL_TAGS["corrupt"]
    run = doctor(settings, "--tag", str(tag))
    assert run.code == EXIT_FAILED
    assert run.status("tag_download") == "FAIL"
    assert f"tag {tag}: not a valid zip" in run.summary("tag_download")
    assert "CRC" in run.summary("tag_download") or "damaged" in run.summary("tag_download")


@pytest.mark.parametrize(
    ("special", "status", "expected"),
    [
        ("zip_slip", "FAIL", "would be refused as unsafe"),
        ("no_files", "FAIL", "a page saying the tag has no files"),
        ("missing_404", "FAIL", "HTTP 404"),
        ("no_top_folder", "WARN", "no single top-level folder"),
    ],
)
def test_other_awkward_tags(settings: Settings, special: str, status: str, expected: str) -> None:
    run = doctor(settings, "--tag", str(SPECIAL_TAGS[special]))
    assert run.status("tag_download") == status
    assert expected in run.summary("tag_download")
    assert run.code == (EXIT_OK if status == "WARN" else EXIT_FAILED)


def test_archives_sent_chunked_pass_and_say_so(replica: Replica, settings: Settings) -> None:
    replica.configure(chunked=True)
    run = doctor(settings)
    assert run.code == EXIT_OK
    assert run.status("tag_download") == "PASS"
    assert "no Content-Length (chunked transfer, fine)" in run.summary("tag_download")


# -- one page failing ---------------------------------------------------------------------------------------


def test_server_errors_on_one_page_fail_that_item_only(replica: Replica, settings: Settings) -> None:
    replica.configure(error_rate=1.0, fault_paths=("download_spect.php",), fault_kinds=("5xx",))
    run = doctor(settings)
    assert run.code == EXIT_FAILED
    assert run.status("spectroscopy") == "FAIL"
    assert re.search(
        r"download_spect\.php answered HTTP 50[023] \(a server error\) after 2 attempts", run.summary("spectroscopy")
    )
    assert_site_passes(run, except_for=("spectroscopy",))
    assert run.status("login") == "PASS" and run.status("settings") == "PASS"
    assert "FAIL spectroscopy:" in run.out.split("----- exofop-mcp doctor report -----", 1)[1]


# -- columns that drifted: a stand-in in front of the replica ---------------------------------------------------


@pytest.fixture
def drifting_site(replica: Replica) -> Iterator[str]:
    """The replica behind a proxy that renames and adds imaging columns and sends the TIC as a number."""
    host, port = replica.base_url.removeprefix("http://").split(":")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            upstream = http.client.HTTPConnection(host, int(port), timeout=10)
            upstream.request("GET", self.path)
            answer = upstream.getresponse()
            body = answer.read()
            content_type = answer.getheader("Content-Type", "text/plain")
            if self.path.startswith("/tess/download_imaging.php"):
                lines = body.decode().split("\n")
                lines[0] = lines[0].replace("|Contrast|", "|Seeing|") + "|Airmass"
                body = "\n".join(line + "|1.2" if i and line else line for i, line in enumerate(lines)).encode()
            elif self.path.startswith("/tess/gototicid.php"):
                data = json.loads(body)
                data["TIC"] = int(data["TIC"])
                body = json.dumps(data).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            upstream.close()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_drifted_columns_and_json_shape_warn(settings: Settings, drifting_site: str) -> None:
    run = doctor(settings, base_url=drifting_site)
    assert run.code == EXIT_OK, run.out  # warnings do not fail
    assert run.status("imaging") == "WARN"
    summary = run.summary("imaging")
    assert "documented column(s) missing: 'Contrast'" in summary
    assert "unexpected extra column(s): 'Seeing', 'Airmass'" in summary
    assert run.status("name_resolver") == "WARN"
    assert "'TIC' is int 254113311, documented as a string" in run.summary("name_resolver")
    for name in ("toi_table", "time_series", "spectroscopy", "stellar_companions", "tag_download"):
        assert run.status(name) == "PASS", name
    block = run.out.split("----- exofop-mcp doctor report -----", 1)[1]
    assert "WARN imaging:" in block and "WARN name_resolver:" in block


def test_documented_columns_cover_what_the_records_read() -> None:
    for kind, record in OBSERVATION_RECORDS.items():
        documented = set(DOCUMENTED_COLUMNS[kind])
        assert set(record.required_columns) <= documented, kind
        read = {f.validation_alias for f in record.model_fields.values() if isinstance(f.validation_alias, str)}
        assert read <= documented, (kind, read - documented)


# -- login and settings ------------------------------------------------------------------------------------------


def test_a_login_expiring_within_a_day_warns(settings: Settings) -> None:
    now = utc_now()
    session = StoredSession(
        "PHPSESSID",
        "cookie-value-never-shown",
        created=now - timedelta(days=6),
        expires=now + timedelta(hours=10),
        origin=settings.origin,
    )
    store_login(settings.config_dir, "alice", [session])
    run = doctor(settings)
    assert run.code == EXIT_OK, run.out
    assert run.status("login") == "WARN"
    assert "logged in as alice with 1 session(s)" in run.summary("login")
    assert "expires within 24 hours" in run.summary("login")
    assert "exofop-mcp login --username alice" in run.out
    assert run.status("session") == "SKIP" and "--check-session" in run.summary("session")
    assert "cookie-value-never-shown" not in run.out
    assert "----- exofop-mcp doctor report -----" not in run.out  # a local matter, nothing to report


def test_check_session_asks_the_site(replica: Replica, settings: Settings) -> None:
    replica.configure(accounts={"alice": PASSWORD})
    asyncio.run(login(settings, Credentials("alice", PASSWORD, source="test"), sessions=1))
    cookie = load_sessions(settings.config_dir).sessions_of("alice")[0].cookie_value
    accepted = doctor(settings, "--check-session")
    assert accepted.code == EXIT_OK, accepted.out
    assert accepted.status("login") == "PASS"
    assert accepted.status("session") == "PASS"
    assert "accepts the stored session of alice" in accepted.summary("session")

    replica.clear_sessions()  # the site forgets the login
    ended = doctor(settings, "--check-session", "--json")
    assert ended.report.exit_code == 1
    check = ended.report.check("session")
    assert check.status == "FAIL" and "does not recognise the stored session of alice" in check.summary
    assert check.hint is not None and "exofop-mcp login" in check.hint
    for output in (accepted.out, ended.out):
        assert PASSWORD not in output and cookie not in output
    assert load_sessions(settings.config_dir).sessions_of("alice")  # the doctor changes nothing


def test_a_directory_that_cannot_be_created_fails_settings(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    run = doctor(settings.with_overrides(data_dir=blocker / "data"))
    assert run.code == EXIT_FAILED
    assert run.status("settings") == "FAIL"
    assert f"cannot be created: {blocker} is not a directory" in run.summary("settings")
    assert_site_passes(run)


# -- the command line ---------------------------------------------------------------------------------------------


def test_usage_errors_exit_2(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    run = doctor(settings, base_url="ftp://exofop.example.org")
    assert run.code == EXIT_USAGE
    assert "--base-url must be an http(s) URL" in run.err and run.out == ""
    for bad in (["--timeout", "0"], ["--tag", "abc"], ["--toi", "-3"], ["--retries", "99"]):
        with pytest.raises(SystemExit) as exit_info:
            parser().parse_args(["doctor", *bad])
        assert exit_info.value.code == EXIT_USAGE, bad


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["doctor", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "exofop-mcp doctor --full" in text and "--tag" in text
    assert "Exit status: 0 when nothing failed" in text


def test_cli_defaults_match_the_options() -> None:
    options = DoctorOptions()
    assert (
        options.toi,
        options.timeout,
        options.retries,
    ) == (doctor_cli.DEFAULT_TOI, doctor_cli.DEFAULT_TIMEOUT, doctor_cli.DEFAULT_RETRIES)


def test_the_module_entry_point(
    replica: Replica, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``doctor_command.main(argv)``, the stand-alone entry point, reads its settings from the environment."""
    for name in [n for n in os.environ if n.startswith("EXOFOP")]:
        monkeypatch.delenv(name)
    for name, value in {**server_env(settings), "EXOFOP_MCP_RETRY_BASE_DELAY": "0.01"}.items():
        monkeypatch.setenv(name, value)
    assert doctor_cli.main(["--json"]) == EXIT_OK, capsys.readouterr().err
    report = DoctorReport.model_validate_json(capsys.readouterr().out)
    assert report.status == "PASS" and report.base_url == settings.base_url

    replica.configure(toi_table_quirk="html")
    assert doctor_cli.main([]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert re.search(r"^FAIL  toi_table\s+download_toi\.php answered an HTML page", out, re.MULTILINE)
    assert "----- exofop-mcp doctor report -----" in out

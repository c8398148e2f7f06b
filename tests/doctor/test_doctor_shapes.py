"""exofop-mcp doctor reports the shapes of the site's undocumented answers, in --json and in the text."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from pathlib import Path

import pytest

from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.cli.doctor_command import EXIT_OK, add_doctor_command, run_doctor_command
from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings

PASSWORD = "shape-Pw-7!k#2"
ENVIRONMENT = {"EXOFOP_MCP_RETRY_BASE_DELAY": "0.01", "EXOFOP_MCP_MAX_RETRIES": "1"}


def doctor(settings: Settings, *argv: str, environ: dict[str, str] | None = None) -> tuple[int, str]:
    root = argparse.ArgumentParser(prog="exofop-mcp")
    add_doctor_command(root.add_subparsers(dest="command"))
    args = root.parse_args(
        [
            "doctor",
            "--base-url",
            settings.base_url,
            "--data-dir",
            str(settings.data_dir),
            "--cache-dir",
            str(settings.cache_dir),
            "--config-dir",
            str(settings.config_dir),
            *argv,
        ]
    )
    out = io.StringIO()
    code = run_doctor_command(args, stdout=out, stderr=io.StringIO(), environ={**ENVIRONMENT, **(environ or {})})
    return code, out.getvalue()


def shapes(settings: Settings, *argv: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    code, out = doctor(settings, "--json", *argv, environ=environ)
    report = json.loads(out)
    assert code == report["exit_code"]
    return report["shapes"]


@pytest.mark.parametrize(("shape", "word"), [("list", "list"), ("string", "string"), ("comma", "comma")])
def test_the_multi_match_shape_is_reported(replica: Replica, settings: Settings, shape: str, word: str) -> None:
    replica.configure(name_multi_shape=shape)
    seen = shapes(settings)
    assert seen["name_multi_match"].split(":", 1)[0] == word, seen
    assert "446549905" in seen["name_multi_match"]


def test_an_html_table_for_several_matches_warns(replica: Replica, settings: Settings) -> None:
    replica.configure(name_multi_shape="html")
    code, out = doctor(settings, "--json")
    report = json.loads(out)
    assert code == EXIT_OK  # a warning, not a failure
    assert report["shapes"]["name_multi_match"].startswith("html_table: an HTML table of 2 candidate(s)")
    check = next(c for c in report["checks"] if c["name"] == "name_shapes")
    assert check["status"] == "WARN" and "unexpected response" in check["summary"]
    assert "name_multi_match: html_table" in report["report_text"]


def test_whether_a_tic_form_target_is_accepted_is_reported(replica: Replica, settings: Settings) -> None:
    assert shapes(settings)["name_accepts_tic"].startswith("accepted: 'TIC 254113311'")
    replica.configure(name_service_accepts_tic=False)
    refused = shapes(settings)["name_accepts_tic"]
    assert refused.startswith("refused: 'TIC 254113311'") and "No object found." in refused


def test_time_to_first_byte_and_body_time_are_reported(replica: Replica, settings: Settings) -> None:
    quick = shapes(settings)["archive_timing"]
    assert quick.startswith("first byte after 0.") and "built before" not in quick
    replica.configure(archive_header_delay=1.5)
    slow = shapes(settings)["archive_timing"]
    first = float(slow.removeprefix("first byte after ").split(" ", 1)[0])
    assert first >= 1.5 and "the zip is built before its first byte is sent" in slow


@pytest.mark.parametrize(
    ("landing", "word", "where"),
    [
        ("index", "redirect_index", "302 to /tess/index.php"),
        ("ref_page", "redirect_ref_page", "302 to /tess/"),
        ("page", "page", "HTTP 200 at /tess/password_check.php, no redirect"),
    ],
)
def test_where_a_login_lands_is_reported_only_when_asked(
    replica: Replica, settings: Settings, tmp_path: Path, landing: str, word: str, where: str
) -> None:
    replica.configure(accounts={"alice": PASSWORD}, login_success=landing)
    not_asked = shapes(settings)
    assert "login_answer" not in not_asked
    assert replica.count("password_check.php") == 0
    account = {"EXOFOP_USERNAME": "alice", "EXOFOP_PASSWORD": PASSWORD}
    code, out = doctor(settings, "--try-login", environ=account)
    assert code == EXIT_OK, out
    assert f"login_answer: {word}: {where}" in out  # the text report
    assert PASSWORD not in out
    seen = shapes(settings, "--try-login", environ=account)
    assert seen["login_answer"].startswith(f"{word}: {where}")
    assert not (settings.config_dir / "sessions.json").exists(), "the doctor stores no session"


def test_try_login_without_credentials_asks_for_no_password(replica: Replica, settings: Settings) -> None:
    code, out = doctor(settings, "--try-login", "--json")
    assert code == EXIT_OK
    check = next(c for c in json.loads(out)["checks"] if c["name"] == "login_answer")
    assert check["status"] == "SKIP" and "no credentials" in check["summary"]
    assert replica.count("password_check.php") == 0


def test_a_rejected_login_fails_that_check(replica: Replica, settings: Settings) -> None:
    replica.configure(accounts={"alice": PASSWORD})
    account = {"EXOFOP_USERNAME": "alice", "EXOFOP_PASSWORD": "wrong-password"}
    code, out = doctor(settings, "--try-login", "--json", environ=account)
    report = json.loads(out)
    assert code == 1 and report["shapes"]["login_answer"].startswith("rejected")
    assert "wrong-password" not in out


@pytest.mark.parametrize(("landing", "word"), [("index", "redirect_index"), ("page", "page")])
def test_where_the_last_login_landed_is_reported_without_logging_in(
    replica: Replica, settings: Settings, landing: str, word: str
) -> None:
    replica.configure(accounts={"alice": PASSWORD}, login_success=landing)
    asyncio.run(login(settings, Credentials("alice", PASSWORD, source="test"), sessions=1))
    stored = json.loads((settings.config_dir / "sessions.json").read_text())
    assert stored["users"]["alice"][0]["landing"].startswith(word)
    logins_before = replica.count("password_check.php")
    code, out = doctor(settings, "--json")
    assert code == EXIT_OK, out
    report = json.loads(out)
    assert report["shapes"]["login_answer"].startswith(word), report["shapes"]
    check = next(c for c in report["checks"] if c["name"] == "login_answer")
    assert check["status"] == "PASS" and "last login" in check["summary"]
    assert replica.count("password_check.php") == logins_before, "the doctor did not log in"
    assert PASSWORD not in out


def test_broken_free_text_and_untidy_tables_are_reported(replica: Replica, settings: Settings) -> None:
    clean = shapes(settings)
    assert clean["free_text"].startswith("0 continuation line(s) joined to their rows, 0 row(s) with '|'")
    assert clean["table_layout"].startswith("0 header cell(s) with stray spaces, 0 decimal(s)")
    replica.configure(broken_free_text=True, untidy_tables=True)
    code, out = doctor(settings, "--json")
    report = json.loads(out)
    assert code == EXIT_OK, out
    seen = report["shapes"]
    joined, pipes, html = (int(part.strip().split(" ", 1)[0]) for part in seen["free_text"].split(",")[:3])
    assert joined >= 2 and pipes >= 2 and html >= 1, seen["free_text"]
    assert "time series" in seen["free_text"] and "observing notes" in seen["free_text"]
    padded, bare, blank = (int(part.strip().split(" ", 1)[0]) for part in seen["table_layout"].split(",")[:3])
    assert padded > 0 and bare > 0 and blank >= 3, seen["table_layout"]
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["time_series"] == statuses["observing_notes"] == "PASS"  # the tools read all of it
    assert "  free_text: " in doctor(settings)[1]  # the text report names them too


def test_the_observing_notes_and_target_json_shapes_are_reported(replica: Replica, settings: Settings) -> None:
    seen = shapes(settings)
    assert seen["observing_notes"].startswith("header ID|TIC ID|Username|Groupname|TAG ID|Lastmod|notes; ")
    assert seen["observing_notes"].endswith("note(s)")
    assert seen["target_json"].startswith("real: 18 keys; ") and "ra is a degree string" in seen["target_json"]
    assert "stellar_parameters first entry a provenance header" in seen["target_json"]
    few = shapes(settings, "--toi", "546")  # TOI-546 has no observations: its notes are the header alone
    assert few["observing_notes"].endswith("; the header alone (no notes)")


def test_a_page_answering_empty_bodies_is_reported_as_throttling(replica: Replica, settings: Settings) -> None:
    assert "empty_body" not in shapes(settings)
    replica.configure(page_faults={"download_tseries.php": "empty"})
    code, out = doctor(settings, "--json")
    report = json.loads(out)
    assert code == report["exit_code"]
    assert "download_tseries.php" in report["shapes"]["empty_body"]
    assert "throttling" in report["shapes"]["empty_body"]
    assert {c["name"]: c["status"] for c in report["checks"]}["time_series"] != "PASS"

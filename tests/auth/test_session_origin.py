"""A login session belongs to the site that set it: it is sent there only, and counts as a login there only."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.auth.session_store import StoredSession, load_sessions, store_login, utc_now
from exofop_mcp.cli.login_commands import add_login_commands, run_login_command
from exofop_mcp.replica import Replica, ReplicaConfig, dataset
from exofop_mcp.settings import DEFAULT_BASE_URL, DEFAULT_ORIGIN, Settings, origin_of
from tests.helpers.tool_client import ok

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"
SYSTEM = f"TIC {dataset.PROPRIETARY_SYSTEM_TIC}"
TAG = dataset.PROPRIETARY_TAGS[0]


def cli_status(settings: Settings) -> str:
    import argparse

    root = argparse.ArgumentParser()
    add_login_commands(root.add_subparsers(dest="command"))
    args = root.parse_args(["status", "--base-url", settings.base_url, "--config-dir", str(settings.config_dir)])
    out = io.StringIO()
    run_login_command(args, stdout=out, stderr=io.StringIO(), environ={})
    return out.getvalue()


def test_origins_are_normalised() -> None:
    assert origin_of("https://EXOFOP.ipac.caltech.edu") == "https://exofop.ipac.caltech.edu:443"
    assert origin_of("http://127.0.0.1:8080/tess") == "http://127.0.0.1:8080"
    assert origin_of("http://127.0.0.1:8080") != origin_of("http://127.0.0.1:8081")
    assert origin_of("http://localhost") != origin_of("https://localhost")
    assert origin_of(DEFAULT_BASE_URL) == DEFAULT_ORIGIN


async def test_a_session_is_sent_only_to_the_site_that_set_it(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(accounts={"alice": PASSWORD})
    await login(warm_settings, Credentials("alice", PASSWORD, source="test"), sessions=2)
    stored = load_sessions(warm_settings.config_dir).users["alice"]
    assert {s.origin for s in stored} == {warm_settings.origin}
    cookies = {s.cookie_value for s in stored}

    with Replica(ReplicaConfig(accounts={"alice": PASSWORD})) as other:
        elsewhere = warm_settings.with_overrides(base_url=other.base_url)
        status = await ok(elsewhere, "login_status", {})
        assert status["logged_in"] is False
        assert f"Not logged in to {other.base_url}" in status["message"]
        assert replica.base_url.split("//")[1] in status["message"]  # it says where the login belongs
        assert "Logged in" not in cli_status(elsewhere)
        assert f"Not logged in to {other.base_url}" in cli_status(elsewhere)

        report = await ok(elsewhere, "download_tags", {"system": SYSTEM, "tags": [TAG]})
        assert report["results"][0]["status"] == "login_required"
        assert other.requests, "the second site was asked"
        assert all(r.session is None for r in other.requests), "no cookie ever reaches the second site"
        assert not any(c in str(r.query) for r in other.requests for c in cookies)

    # the first site still works with the same stored login
    status = await ok(warm_settings, "login_status", {})
    assert status["logged_in"] is True and status["valid_sessions"] == 2
    assert f"Logged in to {warm_settings.base_url}" in cli_status(warm_settings)
    replica.reset_requests()
    report = await ok(warm_settings, "download_tags", {"system": SYSTEM, "tags": [TAG]})
    assert report["results"][0]["status"] == "downloaded"
    archives = [r for r in replica.requests if r.path.endswith("download_tag_files_zip.php")]
    assert archives and all(r.user == "alice" for r in archives)


async def test_logging_in_on_a_second_site_keeps_the_first(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(accounts={"alice": PASSWORD})
    await login(warm_settings, Credentials("alice", PASSWORD, source="test"), sessions=1)
    with Replica(ReplicaConfig(accounts={"alice": PASSWORD})) as other:
        elsewhere = warm_settings.with_overrides(base_url=other.base_url)
        await login(elsewhere, Credentials("alice", PASSWORD, source="test"), sessions=1)
        assert (await ok(elsewhere, "login_status", {}))["logged_in"] is True
    sites = {s.origin for s in load_sessions(warm_settings.config_dir).users["alice"]}
    assert sites == {warm_settings.origin, origin_of(other.base_url)}
    assert (await ok(warm_settings, "login_status", {}))["valid_sessions"] == 1


async def test_sessions_stored_without_a_site_count_for_the_default_site_only(
    warm_settings: Settings, replica: Replica
) -> None:
    now = utc_now()
    legacy = StoredSession("PHPSESSID", "old-cookie", now, now + timedelta(days=7))
    store_login(warm_settings.config_dir, "alice", [legacy])
    status = await ok(warm_settings, "login_status", {})
    assert status["logged_in"] is False and "Not logged in to" in status["message"]
    replica.reset_requests()
    await ok(warm_settings, "list_observations", {"system": "TOI-1130"})
    assert replica.requests and all(r.session is None for r in replica.requests)

    default_site = warm_settings.with_overrides(base_url=DEFAULT_BASE_URL)
    status = await ok(default_site, "login_status", {})  # reads the file only, no request
    assert status["logged_in"] is True and status["username"] == "alice"

"""The login flow over real sockets: the replica, plus a tiny stand-in site for answers the replica never gives."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.auth.session_store import load_sessions, sessions_path, utc_now
from exofop_mcp.errors import (
    ConfigurationError,
    ExofopHTTPError,
    ExofopUnavailableError,
    InvalidRequestError,
    LoginFailedError,
    LoginUnconfirmedError,
)
from exofop_mcp.replica import Replica, ReplicaConfig
from exofop_mcp.replica.dataset import PROPRIETARY_TAGS
from exofop_mcp.settings import Settings
from exofop_mcp.site.client import cookie_header, non_persistent_cookies
from tests.helpers.environment import make_settings

PASSWORD = "Pw-7f3a!k9#zz=q"
ALICE = Credentials("alice", PASSWORD, source="test")


@pytest.fixture
def site(replica: Replica) -> Replica:
    replica.configure(accounts={"alice": PASSWORD, "bob": "bobs-secret"})
    return replica


@pytest.fixture
def site_settings(site: Replica, tmp_path: Path) -> Settings:
    return make_settings(site.base_url, tmp_path, concurrency=3)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.anyio
async def test_login_stores_independent_sessions(site: Replica, site_settings: Settings) -> None:
    before = utc_now()
    sessions = await login(site_settings, ALICE, 3)
    assert len(sessions) == 3
    values = {s.cookie_value for s in sessions}
    assert len(values) == 3

    # Each session went through the site's flow: login page, password check, welcome page.
    checks = [r for r in site.requests if r.path == "/tess/password_check.php"]
    assert len(checks) == 3 and all(r.method == "POST" and r.status == 302 for r in checks)
    assert {r.session for r in checks} == values
    welcomed = [r for r in site.requests if r.path == "/tess/index.php"]
    assert {r.user for r in welcomed} == {"alice"}
    assert site.count("/tess/login.php") == 3

    # Stored privately, and without the password.
    path = sessions_path(site_settings.config_dir)
    assert mode_of(path) == 0o600
    assert mode_of(site_settings.config_dir) == 0o700
    raw = path.read_bytes()
    assert PASSWORD.encode() not in raw
    data = load_sessions(site_settings.config_dir)
    assert data.active == "alice"
    assert {s.cookie_value for s in data.users["alice"]} == values

    # The cookie's expiry is the site's (a week on the replica).
    for s in sessions:
        assert timedelta(days=7) - timedelta(minutes=2) < s.expires - before < timedelta(days=7, minutes=2)
        assert s.created >= before - timedelta(seconds=1)


@pytest.mark.anyio
async def test_stored_sessions_open_proprietary_tags(site: Replica, site_settings: Settings) -> None:
    sessions = await login(site_settings, ALICE, 1)
    tag = PROPRIETARY_TAGS[0]
    async with httpx.AsyncClient(base_url=site.base_url, cookies=non_persistent_cookies()) as http:
        anonymous = await http.get("/tess/download_tag_files_zip.php", params={"tag": tag})
        logged_in = await http.get(
            "/tess/download_tag_files_zip.php", params={"tag": tag}, headers=cookie_header(sessions[0].cookies())
        )
        again_anonymous = await http.get("/tess/download_tag_files_zip.php", params={"tag": tag})
    assert not anonymous.content.startswith(b"PK")
    assert logged_in.content.startswith(b"PK")
    # The shared client kept no cookie from the answers: the next request is anonymous again.
    assert not again_anonymous.content.startswith(b"PK")
    assert len(http.cookies.jar) == 0


@pytest.mark.anyio
async def test_logging_in_again_replaces_the_users_sessions(site: Replica, site_settings: Settings) -> None:
    first = await login(site_settings, ALICE, 2)
    await login(site_settings, Credentials("bob", "bobs-secret"), 1)
    second = await login(site_settings, ALICE, 2)
    data = load_sessions(site_settings.config_dir)
    assert {s.cookie_value for s in data.users["alice"]} == {s.cookie_value for s in second}
    assert not {s.cookie_value for s in first} & {s.cookie_value for s in second}
    assert len(data.users["bob"]) == 1
    assert data.active == "alice"


@pytest.mark.anyio
async def test_default_number_of_sessions_is_one_more_than_the_concurrency(
    site: Replica, site_settings: Settings
) -> None:
    sessions = await login(site_settings, ALICE)
    assert site_settings.concurrency == 3
    assert len(sessions) == 4  # one per parallel download, plus one for table requests


@pytest.mark.anyio
async def test_without_storing(site: Replica, site_settings: Settings) -> None:
    sessions = await login(site_settings, ALICE, 2, store=False)
    assert len(sessions) == 2
    assert not sessions_path(site_settings.config_dir).exists()


@pytest.mark.anyio
@pytest.mark.parametrize("who", [Credentials("alice", "wrong"), Credentials("mallory", PASSWORD)])
async def test_wrong_password_or_user(site: Replica, site_settings: Settings, who: Credentials) -> None:
    with pytest.raises(LoginFailedError) as info:
        await login(site_settings, who, 3)
    assert "Invalid username or password" in str(info.value)
    assert info.value.code == "login_failed"
    assert PASSWORD not in str(info.value) and "wrong" not in str(info.value)
    # One attempt, not one per session, and no retry.
    assert site.count("/tess/password_check.php") == 1
    assert not sessions_path(site_settings.config_dir).exists()


@pytest.mark.anyio
async def test_failed_login_keeps_existing_sessions(site: Replica, site_settings: Settings) -> None:
    good = await login(site_settings, ALICE, 1)
    with pytest.raises(LoginFailedError):
        await login(site_settings, Credentials("alice", "wrong"), 1)
    assert load_sessions(site_settings.config_dir).users["alice"] == good


@pytest.mark.anyio
async def test_server_error_is_not_bad_credentials(site: Replica, site_settings: Settings) -> None:
    site.configure(error_rate=1.0, fault_paths=("password_check.php",), fault_kinds=("5xx",))
    with pytest.raises(ExofopHTTPError) as info:
        await login(site_settings, ALICE, 2)
    assert not isinstance(info.value, LoginFailedError)
    assert info.value.status_code >= 500
    assert "server error" in str(info.value)
    assert "not rejected" in str(info.value)
    # Retried like any transient failure, then given up.
    assert site.count("/tess/password_check.php") == site_settings.max_retries + 1
    assert not sessions_path(site_settings.config_dir).exists()


@pytest.mark.anyio
async def test_rate_limited_login(site: Replica, site_settings: Settings) -> None:
    site.configure(error_rate=1.0, fault_paths=("login.php",), fault_kinds=("429",), retry_after=0)
    with pytest.raises(ExofopHTTPError) as info:
        await login(site_settings, ALICE, 1)
    assert info.value.status_code == 429
    assert site.count("/tess/password_check.php") == 0  # the password was never sent


@pytest.mark.anyio
async def test_transient_faults_are_retried(site: Replica, site_settings: Settings) -> None:
    site.configure(error_rate=0.3, fault_paths=("password_check.php",), fault_kinds=("5xx", "reset"), seed=7)
    settings = make_settings(site.base_url, site_settings.config_dir.parent, max_retries=10)
    sessions = await login(settings, ALICE, 3)
    assert len(sessions) == 3


@pytest.mark.anyio
async def test_closed_port_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(f"http://127.0.0.1:{port}", tmp_path, max_retries=1)
    with pytest.raises(ExofopUnavailableError) as info:
        await login(settings, ALICE, 2)
    assert "unreachable" in str(info.value)
    assert not isinstance(info.value, LoginFailedError)
    assert not sessions_path(settings.config_dir).exists()


@pytest.mark.anyio
async def test_stopped_site_is_unreachable_then_works_again(tmp_path: Path) -> None:
    with Replica(ReplicaConfig(accounts={"alice": PASSWORD})) as own:
        settings = make_settings(own.base_url, tmp_path, max_retries=1)
        own.stop()
        with pytest.raises(ExofopUnavailableError):
            await login(settings, ALICE, 1)
        own.start()
        assert len(await login(settings, ALICE, 1)) == 1


@pytest.mark.anyio
async def test_short_session_lifetime_from_the_cookie(site: Replica, site_settings: Settings) -> None:
    site.configure(session_ttl=3600)
    before = utc_now()
    [session] = await login(site_settings, ALICE, 1)
    assert timedelta(minutes=58) < session.expires - before < timedelta(minutes=62)


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    import asyncio

    settings = make_settings("http://exofop.example.org", tmp_path)
    with pytest.raises(ConfigurationError, match="plain http"):
        asyncio.run(login(settings, ALICE, 1))


def test_number_of_sessions_is_checked(tmp_path: Path) -> None:
    import asyncio

    settings = make_settings("http://127.0.0.1:9", tmp_path)
    for bad in (0, 18):
        with pytest.raises(InvalidRequestError):
            asyncio.run(login(settings, ALICE, bad))


# -- a stand-in site for answers the replica does not give --------------------------------------------------


@pytest.fixture
def standin() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[BaseHTTPRequestHandler], None]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/tess/login.php"):
                    self._send(200, b"<form>Login</form>", [("Set-Cookie", "PHPSESSID=standin123; path=/")])
                elif self.path.startswith("/tess/index.php"):
                    self._send(200, b"<h1>Welcome</h1>")
                else:
                    self._send(404, b"not found")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                answer(self)

            def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
                self.send_response(status)
                for name, value in headers or []:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _redirect_home(handler: BaseHTTPRequestHandler) -> None:
    handler._send(302, b"", [("Location", "/tess/index.php")])  # type: ignore[attr-defined]


def _login_page_again(handler: BaseHTTPRequestHandler) -> None:
    handler._send(200, b"<h2>Login</h2><form>username password</form>")  # type: ignore[attr-defined]


def _not_found(handler: BaseHTTPRequestHandler) -> None:
    handler._send(404, b"no such page")  # type: ignore[attr-defined]


def _redirect_home_new_cookie(handler: BaseHTTPRequestHandler) -> None:
    handler._send(  # type: ignore[attr-defined]
        302, b"", [("Location", "/tess/index.php"), ("Set-Cookie", "PHPSESSID=regenerated; path=/; Max-Age=7200")]
    )


@pytest.mark.anyio
async def test_cookie_without_expiry_lasts_seven_days(standin: Callable[..., str], tmp_path: Path) -> None:
    settings = make_settings(standin(_redirect_home), tmp_path)
    before = utc_now()
    [session] = await login(settings, ALICE, 1)
    assert session.cookie_value == "standin123"
    assert timedelta(days=7) - timedelta(minutes=1) < session.expires - before < timedelta(days=7, minutes=1)


@pytest.mark.anyio
async def test_regenerated_session_id_with_max_age(standin: Callable[..., str], tmp_path: Path) -> None:
    settings = make_settings(standin(_redirect_home_new_cookie), tmp_path)
    before = utc_now()
    [session] = await login(settings, ALICE, 1)
    assert session.cookie_value == "regenerated"
    assert timedelta(minutes=119) < session.expires - before < timedelta(minutes=121)


@pytest.mark.anyio
@pytest.mark.parametrize("answer", [_login_page_again, _not_found])
async def test_unconfirmed_login(
    standin: Callable[..., str], tmp_path: Path, answer: Callable[[BaseHTTPRequestHandler], None]
) -> None:
    settings = make_settings(standin(answer), tmp_path)
    with pytest.raises(LoginUnconfirmedError, match="Could not confirm") as info:
        await login(settings, ALICE, 2)
    assert not isinstance(info.value, LoginFailedError)
    assert not sessions_path(settings.config_dir).exists()


@pytest.mark.anyio
async def test_password_is_not_sent_when_the_login_page_is_missing(site: Replica, tmp_path: Path) -> None:
    settings = make_settings(site.base_url + "/elsewhere", tmp_path)
    with pytest.raises(LoginUnconfirmedError, match="password was not sent"):
        await login(settings, ALICE, 1)
    assert not [r for r in site.requests if r.method == "POST"]


@pytest.mark.anyio
@pytest.mark.parametrize("landing", ["index", "ref_page", "page"])
async def test_a_good_login_counts_wherever_it_lands(site: Replica, tmp_path: Path, landing: str) -> None:
    site.configure(login_success=landing)
    settings = make_settings(site.base_url, tmp_path)
    sessions = await login(settings, ALICE, 2)
    assert len(sessions) == 2
    posts = [r for r in site.requests if r.path == "/tess/password_check.php"]
    assert posts and all(r.status == (200 if landing == "page" else 302) for r in posts)
    # the stored sessions really are logged in on the site
    async with httpx.AsyncClient(base_url=settings.tess_url + "/", cookies=non_persistent_cookies()) as http:
        for session in sessions:
            answer = await http.get(
                "download_tag_files_zip.php",
                params={"tag": PROPRIETARY_TAGS[0]},
                headers=cookie_header(session.cookies()),
            )
            assert answer.content.startswith(b"PK")
    # a wrong password stays a clear failure, whatever the landing
    with pytest.raises(LoginFailedError, match="Invalid username or password"):
        await login(settings, Credentials("alice", "wrong", source="test"), 1)

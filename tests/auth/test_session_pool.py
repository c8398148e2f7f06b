"""SessionPool: one request per session at a time, anonymous without a login, expired sessions skipped."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.auth.login_status import current_login_status
from exofop_mcp.auth.session_pool import SessionPool
from exofop_mcp.auth.session_store import (
    StoredSession,
    delete_sessions,
    load_sessions,
    store_login,
    utc_now,
)
from exofop_mcp.replica import Replica, RequestRecord
from exofop_mcp.replica.dataset import PROPRIETARY_SYSTEM_TIC, PROPRIETARY_TAGS
from exofop_mcp.settings import Settings
from exofop_mcp.site.client import cookie_header, non_persistent_cookies
from tests.helpers.environment import make_settings

PASSWORD = "Pw-7f3a!k9#zz=q"
ALICE = Credentials("alice", PASSWORD, source="test")


def made(value: str, expires_in: timedelta = timedelta(days=7)) -> StoredSession:
    now = utc_now()
    return StoredSession("PHPSESSID", value, now, now + expires_in)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


# -- leasing, without a network ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_one_lease_per_session_at_a_time() -> None:
    pool = SessionPool(sessions=[made("s1"), made("s2")], username="alice")
    assert pool.logged_in and pool.valid_count == 2 and pool.username == "alice"
    first = pool.lease()
    second = pool.lease()
    c1 = await first.__aenter__()
    c2 = await second.__aenter__()
    assert c1 is not None and c2 is not None
    assert {c1["PHPSESSID"], c2["PHPSESSID"]} == {"s1", "s2"}
    assert pool.in_use == 2

    async def third() -> dict[str, str] | None:
        async with pool.lease() as cookies:
            return cookies

    waiting = asyncio.create_task(third())
    await settle()
    assert not waiting.done()  # both sessions are busy: it waits instead of sharing one
    await first.__aexit__(None, None, None)
    assert await waiting == c1  # it gets the session that came back
    await second.__aexit__(None, None, None)
    assert pool.in_use == 0


@pytest.mark.anyio
async def test_many_concurrent_users_never_share_a_session() -> None:
    pool = SessionPool(sessions=[made(f"s{i}") for i in range(3)], username="alice")
    active: set[str] = set()
    peak = 0

    async def work(i: int) -> None:
        nonlocal peak
        async with pool.lease() as cookies:
            assert cookies is not None
            value = cookies["PHPSESSID"]
            assert value not in active
            active.add(value)
            peak = max(peak, len(active))
            await asyncio.sleep(0.001 * (i % 3))
            active.remove(value)

    await asyncio.gather(*(work(i) for i in range(30)))
    assert peak == 3
    assert pool.in_use == 0


@pytest.mark.anyio
async def test_anonymous_without_valid_sessions(tmp_path: Path) -> None:
    for pool in (
        SessionPool(sessions=[]),
        SessionPool(tmp_path / "no-such-dir"),
        SessionPool(sessions=[made("old", timedelta(hours=-1)), made("closing", timedelta(minutes=1))]),
    ):
        assert not pool.logged_in and pool.valid_count == 0
        async with pool.lease() as a, pool.lease() as b:  # many anonymous leases at once, none waits
            assert a is None and b is None


@pytest.mark.anyio
async def test_expired_sessions_are_skipped_at_lease_time(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = SessionPool(sessions=[made("short", timedelta(hours=1)), made("long", timedelta(days=2))])
    later = utc_now() + timedelta(hours=3)
    monkeypatch.setattr("exofop_mcp.auth.session_pool.utc_now", lambda: later)
    for _ in range(3):
        async with pool.lease() as cookies:
            assert cookies == {"PHPSESSID": "long"}
    assert pool.valid_count == 1
    much_later = utc_now() + timedelta(days=3)
    monkeypatch.setattr("exofop_mcp.auth.session_pool.utc_now", lambda: much_later)
    async with pool.lease() as cookies:
        assert cookies is None
    assert not pool.logged_in


@pytest.mark.anyio
async def test_session_expiring_while_lent_is_not_lent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = SessionPool(sessions=[made("only", timedelta(hours=1))])
    holder = pool.lease()
    assert await holder.__aenter__() == {"PHPSESSID": "only"}

    async def waiter() -> dict[str, str] | None:
        async with pool.lease() as cookies:
            return cookies

    task = asyncio.create_task(waiter())
    await settle()
    assert not task.done()
    later = utc_now() + timedelta(hours=2)
    monkeypatch.setattr("exofop_mcp.auth.session_pool.utc_now", lambda: later)
    await holder.__aexit__(None, None, None)
    assert await task is None  # nothing valid is left: anonymous rather than waiting forever


@pytest.mark.anyio
async def test_cancelled_waiter_does_not_block_others() -> None:
    pool = SessionPool(sessions=[made("only")])
    holder = pool.lease()
    await holder.__aenter__()

    async def take() -> dict[str, str] | None:
        async with pool.lease() as cookies:
            return cookies

    doomed = asyncio.create_task(take())
    patient = asyncio.create_task(take())
    await settle()
    doomed.cancel()
    await holder.__aexit__(None, None, None)
    assert await patient == {"PHPSESSID": "only"}
    with pytest.raises(asyncio.CancelledError):
        await doomed


@pytest.mark.anyio
async def test_lease_with_a_timeout_goes_on_anonymously() -> None:
    pool = SessionPool(sessions=[made("only")])
    async with pool.lease() as held:
        assert held == {"PHPSESSID": "only"}
        async with pool.lease(timeout=0) as quick:
            assert quick is None
        async with pool.lease(timeout=0.01) as quick:
            assert quick is None
    async with pool.lease(timeout=0) as free:
        assert free == {"PHPSESSID": "only"}  # a free session is taken even with no time to wait
    # A session that comes back within the timeout is used.
    holder = pool.lease()
    await holder.__aenter__()
    task = asyncio.create_task(_take(pool, timeout=30))
    await settle()
    await holder.__aexit__(None, None, None)
    assert await task == {"PHPSESSID": "only"}
    assert pool.in_use == 0


async def _take(pool: SessionPool, timeout: float | None = None) -> dict[str, str] | None:
    async with pool.lease(timeout) as cookies:
        return cookies


@pytest.mark.anyio
async def test_errors_inside_a_lease_return_the_session() -> None:
    pool = SessionPool(sessions=[made("only")])
    with pytest.raises(RuntimeError):
        async with pool.lease():
            raise RuntimeError("boom")
    async with pool.lease() as cookies:
        assert cookies == {"PHPSESSID": "only"}


# -- following sessions.json ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_mark_dead_stops_lending_and_updates_the_file(tmp_path: Path, replica: Replica) -> None:
    site = make_settings(replica.base_url, tmp_path.parent / "x", config_dir=tmp_path).origin
    s1, s2 = (replace(made(v), origin=site) for v in ("s1", "s2"))
    store_login(tmp_path, "alice", [s1, s2])
    pool = SessionPool(tmp_path, environ={})
    assert pool.valid_count == 2

    async def taker() -> dict[str, str] | None:
        async with pool.lease() as cookies:
            return cookies

    async with pool.lease() as cookies:
        assert cookies is not None
        assert pool.mark_dead(cookies)
        assert not pool.mark_dead(cookies)  # once
        dead_value = cookies["PHPSESSID"]
    assert pool.dead_count == 1 and pool.valid_count == 1
    for _ in range(3):
        assert await taker() != {"PHPSESSID": dead_value}
    stored = load_sessions(tmp_path).users["alice"]
    assert [s.cookie_value for s in stored] == [v for v in ("s1", "s2") if v != dead_value]

    settings = make_settings(replica.base_url, tmp_path.parent / "x", config_dir=tmp_path)
    assert current_login_status(settings, environ={}).valid_sessions == 1

    # The last one dies while another request waits for it: the waiter goes on anonymously.
    holder = pool.lease()
    last = await holder.__aenter__()
    waiting = asyncio.create_task(taker())
    await settle()
    pool.mark_dead(last)
    await holder.__aexit__(None, None, None)
    assert await waiting is None
    status = current_login_status(settings, environ={})
    assert not status.logged_in
    assert "no longer accepts" in status.message
    assert status.action == "exofop-mcp login --username alice"


@pytest.mark.anyio
async def test_pool_follows_login_and_logout_in_another_process(tmp_path: Path) -> None:
    pool = SessionPool(tmp_path, environ={})
    async with pool.lease() as cookies:
        assert cookies is None
    store_login(tmp_path, "alice", [made("a1")])
    async with pool.lease() as cookies:
        assert cookies == {"PHPSESSID": "a1"}
    assert pool.username == "alice"
    store_login(tmp_path, "bob", [made("b1"), made("b2")])
    async with pool.lease() as cookies:
        assert cookies is not None and cookies["PHPSESSID"] in ("b1", "b2")
    assert pool.username == "bob" and pool.valid_count == 2
    delete_sessions(tmp_path, "bob")
    assert pool.username == "alice"
    delete_sessions(tmp_path, None)
    async with pool.lease() as cookies:
        assert cookies is None
    assert pool.username is None and not pool.logged_in


@pytest.mark.anyio
async def test_session_lent_during_a_new_login_is_retired_when_returned(tmp_path: Path) -> None:
    store_login(tmp_path, "alice", [made("old")])
    pool = SessionPool(tmp_path, environ={})
    async with pool.lease() as cookies:
        assert cookies == {"PHPSESSID": "old"}
        store_login(tmp_path, "alice", [made("new")])
        async with pool.lease() as other:
            assert other == {"PHPSESSID": "new"}
    for _ in range(2):
        async with pool.lease() as cookies:
            assert cookies == {"PHPSESSID": "new"}


@pytest.mark.anyio
async def test_active_user_choice(tmp_path: Path) -> None:
    store_login(tmp_path, "alice", [made("a1")])
    store_login(tmp_path, "bob", [made("b1")])
    async with SessionPool(tmp_path, environ={}).lease() as cookies:
        assert cookies == {"PHPSESSID": "b1"}
    async with SessionPool(tmp_path, environ={"EXOFOP_USERNAME": "alice"}).lease() as cookies:
        assert cookies == {"PHPSESSID": "a1"}
    async with SessionPool(tmp_path, username="alice", environ={"EXOFOP_USERNAME": "bob"}).lease() as cookies:
        assert cookies == {"PHPSESSID": "a1"}
    async with SessionPool(tmp_path, username="carol", environ={}).lease() as cookies:
        assert cookies is None


def test_damaged_file_means_anonymous(tmp_path: Path) -> None:
    (tmp_path / "sessions.json").write_text("{not json")
    pool = SessionPool(tmp_path, environ={})
    assert not pool.logged_in and pool.username is None


# -- against the replica: parallel sessions really run in parallel ---------------------------------------------


def _overlap(records: list[RequestRecord]) -> int:
    """The largest number of these requests the server was working on at the same moment."""
    events = sorted([(r.start, 1) for r in records] + [(r.end, -1) for r in records], key=lambda e: (e[0], e[1]))
    peak = level = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


@pytest.fixture
def site(replica: Replica) -> Replica:
    replica.configure(accounts={"alice": PASSWORD})
    return replica


@pytest.mark.anyio
async def test_leases_run_in_parallel_on_the_server(site: Replica, tmp_path: Path) -> None:
    settings = make_settings(site.base_url, tmp_path, concurrency=3)
    await login(settings, ALICE, 3)
    pool = SessionPool.from_settings(settings, environ={})
    site.configure(latency=0.3)
    site.reset_requests()

    async with httpx.AsyncClient(base_url=settings.tess_url + "/", cookies=non_persistent_cookies()) as http:

        async def fetch(i: int) -> None:
            async with pool.lease() as cookies:
                response = await http.get("index.php", params={"n": i}, headers=cookie_header(cookies))
                assert response.status_code == 200

        await asyncio.gather(*(fetch(i) for i in range(3)))
        records = [r for r in site.requests if r.path == "/tess/index.php"]
        assert len(records) == 3
        assert len({r.session for r in records}) == 3
        assert {r.user for r in records} == {"alice"}
        # All three were being served at the same time: each started before any finished.
        assert max(r.start for r in records) < min(r.end for r in records)
        assert _overlap(records) == 3

        # Control: two requests sharing one session are serialised by the site's session lock.
        site.reset_requests()
        one = pool.find({"PHPSESSID": records[0].session or ""})
        assert one is not None
        await asyncio.gather(
            *(http.get("index.php", params={"same": i}, headers=cookie_header(one.cookies())) for i in range(2))
        )
        first, second = sorted((r for r in site.requests if r.path == "/tess/index.php"), key=lambda r: r.start)
        assert second.start >= first.end

        # Six requests through three sessions: never more than three at once, never two on one session.
        site.reset_requests()
        await asyncio.gather(*(fetch(i) for i in range(6)))
        records = [r for r in site.requests if r.path == "/tess/index.php"]
        assert len(records) == 6
        assert _overlap(records) == 3
        for sid in {r.session for r in records}:
            assert _overlap([r for r in records if r.session == sid]) == 1


@pytest.mark.anyio
async def test_archive_downloads_in_parallel_sessions(site: Replica, tmp_path: Path) -> None:
    settings = make_settings(site.base_url, tmp_path, concurrency=2)
    await login(settings, ALICE, 2)
    pool = SessionPool.from_settings(settings, environ={})
    site.configure(bandwidth=256 * 1024, tag_size=64 * 1024)
    site.reset_requests()
    tags = PROPRIETARY_TAGS[:2]
    async with httpx.AsyncClient(base_url=settings.tess_url + "/", cookies=non_persistent_cookies()) as http:

        async def fetch(tag: int) -> bytes:
            async with pool.lease() as cookies:
                response = await http.get(
                    "download_tag_files_zip.php", params={"tag": tag}, headers=cookie_header(cookies)
                )
                return response.content

        bodies = await asyncio.gather(*(fetch(t) for t in tags))
    assert all(body.startswith(b"PK") for body in bodies)
    records = [r for r in site.requests if r.path.endswith("download_tag_files_zip.php")]
    assert len({r.session for r in records}) == 2
    assert max(r.start for r in records) < min(r.end for r in records)


@pytest.mark.anyio
async def test_pool_as_the_downloaders_cookie_lease(site: Replica, warm_settings: Settings) -> None:
    from exofop_mcp.api import Exofop

    tags = list(PROPRIETARY_TAGS[:2])
    async with Exofop(warm_settings) as exofop:
        anonymous = await exofop.download_tags(f"TIC {PROPRIETARY_SYSTEM_TIC}", tags=tags)
        assert {r.status for r in anonymous.results} == {"login_required"}

        await login(warm_settings, ALICE, 2)
        pool = SessionPool.from_settings(warm_settings, environ={})
        exofop.downloader.cookie_lease = pool.lease
        report = await exofop.download_tags(f"TIC {PROPRIETARY_SYSTEM_TIC}", tags=tags)
        assert {r.status for r in report.results} == {"downloaded"}
    archive_requests = [r for r in site.requests if r.path.endswith("download_tag_files_zip.php")]
    assert {r.user for r in archive_requests} == {None, "alice"}

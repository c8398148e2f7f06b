"""sessions.json: private, atomic, several users, tolerant of damage."""

from __future__ import annotations

import json
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exofop_mcp.auth.session_store import (
    SESSIONS_FILE_NAME,
    SessionsData,
    StoredSession,
    active_username,
    delete_sessions,
    ensure_private_dir,
    load_sessions,
    redact_cookie_headers,
    remove_session,
    save_sessions,
    sessions_path,
    store_login,
    valid_sessions,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def session(value: str, expires_in: timedelta = timedelta(days=7), created: datetime = NOW) -> StoredSession:
    return StoredSession("PHPSESSID", value, created, created + expires_in)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_round_trip_and_permissions(tmp_path: Path) -> None:
    config = tmp_path / "deep" / "config"
    sessions = [session("cookie-aaa"), session("cookie-bbb", timedelta(hours=3))]
    store_login(config, "alice", sessions)
    path = config / SESSIONS_FILE_NAME
    assert mode_of(config) == 0o700
    assert mode_of(path) == 0o600
    data = load_sessions(config)
    assert data.readable
    assert data.active == "alice"
    assert data.users["alice"] == sessions
    raw = json.loads(path.read_text())
    assert raw["version"] == 1
    assert raw["users"]["alice"][0] == {
        "cookie_name": "PHPSESSID",
        "cookie_value": "cookie-aaa",
        "created": "2026-11-25T12:00:00Z",
        "expires": "2026-12-02T12:00:00Z",
    }
    leftovers = [p.name for p in config.iterdir() if p.name not in (SESSIONS_FILE_NAME, ".sessions.lock")]
    assert leftovers == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_loose_directory_is_tightened(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir(mode=0o755)
    os.chmod(config, 0o755)
    save_sessions(config, SessionsData())
    assert mode_of(config) == 0o700
    os.chmod(config, 0o750)
    ensure_private_dir(config)
    assert mode_of(config) == 0o700


def test_stored_session_repr_hides_the_cookie() -> None:
    s = session("very-secret-cookie-value")
    assert "very-secret-cookie-value" not in repr(s)
    assert "very-secret-cookie-value" not in str(s)
    assert s.cookies() == {"PHPSESSID": "very-secret-cookie-value"}
    assert len(s.key) == 12 and s.key not in "very-secret-cookie-value"


def test_replacing_a_users_sessions_and_several_users(tmp_path: Path) -> None:
    store_login(tmp_path, "alice", [session("a1"), session("a2")])
    store_login(tmp_path, "bob", [session("b1")])
    store_login(tmp_path, "alice", [session("a3")])
    data = load_sessions(tmp_path)
    assert data.usernames() == ["alice", "bob"]
    assert [s.cookie_value for s in data.users["alice"]] == ["a3"]
    assert data.active == "alice"


def test_active_user_selection(tmp_path: Path) -> None:
    store_login(tmp_path, "alice", [session("a1")])
    store_login(tmp_path, "bob", [session("b1")])
    data = load_sessions(tmp_path)
    assert active_username(data, None, {}) == "bob"  # the last one logged in
    assert active_username(data, None, {"EXOFOP_USERNAME": "alice"}) == "alice"
    assert active_username(data, "carol", {"EXOFOP_USERNAME": "alice"}) == "carol"
    assert active_username(SessionsData(), None, {}) is None
    # Without a recorded active user, the one whose sessions are newest.
    older = SessionsData(users={"x": [session("x1", created=NOW)], "y": [session("y1", created=NOW + timedelta(1))]})
    assert active_username(older, None, {}) == "y"


def test_delete_one_user_then_all(tmp_path: Path) -> None:
    store_login(tmp_path, "alice", [session("a1", created=NOW)])
    store_login(tmp_path, "bob", [session("b1", created=NOW + timedelta(hours=1)), session("b2")])
    assert delete_sessions(tmp_path, "carol") == {}
    assert delete_sessions(tmp_path, "bob") == {"bob": 2}
    data = load_sessions(tmp_path)
    assert data.usernames() == ["alice"]
    assert data.active == "alice"  # the remaining user takes over
    store_login(tmp_path, "bob", [session("b3")])
    assert delete_sessions(tmp_path, None) == {"alice": 1, "bob": 1}
    assert not sessions_path(tmp_path).exists()
    assert delete_sessions(tmp_path, None) == {}
    assert delete_sessions(tmp_path / "never-made", "alice") == {}


def test_remove_one_session(tmp_path: Path) -> None:
    a1, a2 = session("a1"), session("a2")
    store_login(tmp_path, "alice", [a1, a2])
    assert remove_session(tmp_path, "alice", a1.key)
    assert not remove_session(tmp_path, "alice", a1.key)
    assert not remove_session(tmp_path, "bob", a2.key)
    assert load_sessions(tmp_path).users["alice"] == [a2]


def test_valid_sessions_skip_expired_with_a_margin() -> None:
    data = SessionsData(
        users={
            "alice": [
                session("later", timedelta(days=2)),
                session("expired", timedelta(hours=-1)),
                session("almost", timedelta(minutes=2)),
                session("sooner", timedelta(hours=2)),
            ]
        }
    )
    now = NOW
    assert [s.cookie_value for s in valid_sessions(data, "alice", now=now)] == ["sooner", "later"]
    assert [s.cookie_value for s in valid_sessions(data, "alice", now=now, margin=timedelta(0))] == [
        "almost",
        "sooner",
        "later",
    ]
    assert valid_sessions(data, "bob", now=now) == []
    assert valid_sessions(data, None, now=now) == []


@pytest.mark.parametrize(
    "content",
    [
        "not json at all {",
        "[]",
        '{"version": 99, "users": {}}',
        '{"users": {"alice": "nope"}}',
        '{"users": {"alice": [{"cookie_name": "PHPSESSID", "cookie_value": "leaky-cookie"}]}}',
        '{"users": {"alice": [{"cookie_name": "PHPSESSID", "cookie_value": "leaky-cookie", '
        '"created": "yesterday", "expires": "2026-12-01T00:00:00Z"}]}}',
        '{"active": 3, "users": {}}',
    ],
)
def test_damaged_file_counts_as_no_sessions(tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str) -> None:
    sessions_path(tmp_path).write_text(content)
    with caplog.at_level(logging.WARNING, logger="exofop_mcp.auth.session_store"):
        data = load_sessions(tmp_path)
    assert data.users == {} and data.active is None and not data.readable
    assert "damaged" in caplog.text
    assert "leaky-cookie" not in caplog.text


def test_binary_garbage_and_unreadable_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sessions_path(tmp_path).write_bytes(b"\xff\xfe\x00garbage")
    with caplog.at_level(logging.WARNING):
        assert not load_sessions(tmp_path).readable
    assert "could not read" in caplog.text
    folder = tmp_path / "other"
    sessions_path(folder).mkdir(parents=True)  # a directory where the file should be
    assert not load_sessions(folder).readable


def test_login_replaces_a_damaged_file(tmp_path: Path) -> None:
    sessions_path(tmp_path).write_text("{broken")
    store_login(tmp_path, "alice", [session("a1")])
    assert load_sessions(tmp_path).users["alice"][0].cookie_value == "a1"
    # Removing one session never rewrites a file it cannot read.
    sessions_path(tmp_path).write_text("{broken")
    assert not remove_session(tmp_path, "alice", session("a1").key)
    assert sessions_path(tmp_path).read_text() == "{broken"


def test_missing_file_is_empty_without_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        data = load_sessions(tmp_path / "nothing")
    assert data.readable and data.users == {}
    assert caplog.text == ""


def test_http_traces_never_show_cookies(caplog: pytest.LogCaptureFixture) -> None:
    trace = (
        "receive_response_headers.complete return_value=(b'HTTP/1.1', 302, b'Found', [(b'Set-Cookie', "
        "b'PHPSESSID=abc123; path=/'), (b'cookie', b\"x='1'\"), (b'Location', b'/tess/index.php')])"
    )
    cleaned = redact_cookie_headers(trace)
    assert "abc123" not in cleaned and "x='1'" not in cleaned
    assert "(b'Set-Cookie', b'<redacted>')" in cleaned and "b'/tess/index.php'" in cleaned
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("httpcore.http11").debug(trace)
    assert "abc123" not in caplog.text and "<redacted>" in caplog.text

"""How the replica behaves on the wire: faults, pacing, sessions, keep-alive, lifecycle, control."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exofop_mcp.replica import Replica, ReplicaConfig, dataset, parse_size

ZIP_PAGE = "/tess/download_tag_files_zip.php"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    cache = tmp_path_factory.mktemp("replica-behaviour")
    with Replica(ReplicaConfig(cache_dir=str(cache), accounts={"alice": "s3cret", "bob": "hunter2"})) as replica:
        yield replica


@pytest.fixture
def http(site: Replica) -> Iterator[httpx.Client]:
    defaults = ReplicaConfig().model_dump(exclude={"host", "port", "cache_dir", "accounts"})
    site.configure(**defaults)
    site.reset_requests()
    with httpx.Client(base_url=site.base_url, timeout=30) as client:
        yield client
    site.configure(**defaults)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def log_in(base_url: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    client.get("/tess/login.php", params={"ref": "/tess/"})
    form = {"username": user, "password": password, "ref": "login_user", "ref_page": "/tess/"}
    assert client.post("/tess/password_check.php", data=form).status_code == 302
    return client


# --- faults ---------------------------------------------------------------------------------------------
def test_5xx_and_429_faults(site: Replica, http: httpx.Client) -> None:
    site.configure(error_rate=1.0, fault_kinds=("5xx",))
    response = http.get(ZIP_PAGE, params={"tag": "18493"})
    assert response.status_code in (500, 502, 503) and b"<html>" in response.content
    site.configure(fault_kinds=("429",), retry_after=0)
    response = http.get("/tess/download_toi.php", params={"toi": "1130", "output": "pipe"})
    assert response.status_code == 429 and response.headers["retry-after"] == "0"
    site.configure(retry_after=3)
    assert http.get(ZIP_PAGE, params={"tag": "18493"}).headers["retry-after"] == "3"
    assert [record.fault for record in site.requests] == ["5xx", "429", "429"]


def test_reset_truncate_and_stall_faults(site: Replica, http: httpx.Client) -> None:
    http.get(ZIP_PAGE, params={"tag": "18493"})  # build the archive first
    site.configure(error_rate=1.0, fault_kinds=("reset",))
    with pytest.raises(httpx.TransportError):
        http.get(ZIP_PAGE, params={"tag": "18493"})
    site.configure(fault_kinds=("truncate",))
    with pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
        http.get(ZIP_PAGE, params={"tag": "18493"})
    site.configure(fault_kinds=("stall",), stall_seconds=0.6, stall_rate=10)
    started = time.monotonic()
    with pytest.raises(httpx.TransportError):
        http.get(ZIP_PAGE, params={"tag": "18493"})
    assert time.monotonic() - started >= 0.5
    stalled = site.requests[-1]
    assert stalled.fault == "stall" and not stalled.completed and stalled.bytes_sent > 0


def test_corrupt_fault_damages_an_archive_that_still_looks_right(site: Replica, http: httpx.Client) -> None:
    good = http.get(ZIP_PAGE, params={"tag": "19121"}).content
    site.configure(error_rate=1.0, fault_kinds=("corrupt",))
    bad = http.get(ZIP_PAGE, params={"tag": "19121"}).content
    assert len(bad) == len(good) and bad != good and bad[:2] == b"PK"
    assert zipfile.ZipFile(io.BytesIO(bad)).testzip() is not None
    table = http.get("/tess/download_toi.php", params={"toi": "1130", "output": "pipe"})
    assert table.status_code == 200 and site.requests[-1].fault is None  # corrupt only hits archives


def test_random_faults_are_transient_and_seeded(site: Replica, http: httpx.Client) -> None:
    def outcomes() -> list[int]:
        site.configure(error_rate=0.5, fault_kinds=("5xx",), seed=11)
        return [
            http.get("/tess/download_toi.php", params={"toi": "101", "output": "pipe"}).status_code for _ in range(30)
        ]

    first = outcomes()
    assert 200 in first and any(status >= 500 for status in first)
    assert outcomes() == first


def test_fault_paths_limit_random_faults(site: Replica, http: httpx.Client) -> None:
    site.configure(error_rate=1.0, fault_kinds=("5xx",), fault_paths=("download_tag_files_zip.php",))
    assert http.get("/tess/download_toi.php", params={"toi": "101", "output": "pipe"}).status_code == 200
    assert http.get(ZIP_PAGE, params={"tag": "18493"}).status_code >= 500


def test_per_tag_faults_can_fail_the_first_requests_only(site: Replica, http: httpx.Client) -> None:
    site.configure(tag_faults={18598: "5xx:2", 19121: "429"})
    statuses = [http.get(ZIP_PAGE, params={"tag": "18598"}).status_code for _ in range(3)]
    assert statuses[0] >= 500 and statuses[1] >= 500 and statuses[2] == 200
    assert all(http.get(ZIP_PAGE, params={"tag": "19121"}).status_code == 429 for _ in range(2))
    assert http.get(ZIP_PAGE, params={"tag": "18493"}).status_code == 200


# --- pacing -----------------------------------------------------------------------------------------------
def test_bandwidth_cap_is_roughly_respected(site: Replica, http: httpx.Client) -> None:
    site.configure(tag_sizes={19188: 1 << 20})
    http.get(ZIP_PAGE, params={"tag": "19188"})  # generate once, unthrottled
    site.configure(bandwidth=parse_size("4MiB"))
    started = time.monotonic()
    response = http.get(ZIP_PAGE, params={"tag": "19188"})
    elapsed = time.monotonic() - started
    ideal = len(response.content) / (4 << 20)
    assert ideal * 0.95 <= elapsed <= ideal + 0.5


def test_latency_is_added_before_the_headers(site: Replica, http: httpx.Client) -> None:
    site.configure(latency=0.25)
    started = time.monotonic()
    http.get("/tess/gototicid.php", params={"target": "TOI-1130", "json": ""})
    assert time.monotonic() - started >= 0.25


# --- sessions -----------------------------------------------------------------------------------------------
def _parallel(clients: list[httpx.Client], path: str, params: dict[str, str]) -> None:
    threads = [threading.Thread(target=client.get, args=(path,), kwargs={"params": params}) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.slow  # waits out the latency of serialised requests
def test_session_locking_serialises_one_session_only(site: Replica, http: httpx.Client) -> None:
    alice = log_in(site.base_url, "alice", "s3cret")
    alice_again = httpx.Client(base_url=site.base_url, cookies=alice.cookies, timeout=30)
    bob = log_in(site.base_url, "bob", "hunter2")
    site.configure(latency=0.3)
    site.reset_requests()
    _parallel([alice, alice_again], "/tess/download_toi.php", {"toi": "1130", "output": "pipe"})
    same = sorted(site.requests, key=lambda record: record.start)
    assert len(same) == 2 and same[0].session == same[1].session
    assert same[1].start >= same[0].end - 0.01  # one after the other
    site.reset_requests()
    _parallel([alice, bob], "/tess/download_toi.php", {"toi": "1130", "output": "pipe"})
    both = sorted(site.requests, key=lambda record: record.start)
    assert {record.user for record in both} == {"alice", "bob"}
    assert both[1].start < both[0].end  # overlapped
    site.configure(session_locking=False)
    site.reset_requests()
    _parallel([alice, alice_again], "/tess/download_toi.php", {"toi": "1130", "output": "pipe"})
    unlocked = sorted(site.requests, key=lambda record: record.start)
    assert unlocked[1].start < unlocked[0].end
    for client in (alice, alice_again, bob):
        client.close()


# --- connections ---------------------------------------------------------------------------------------------
def test_keep_alive_serves_several_requests_on_one_connection(site: Replica) -> None:
    request = (f"GET /tess/gototicid.php?target=TOI-1130&json HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(request + request)
        received = b""
        while received.count(b'"TIC":"254113311"') < 2:
            chunk = sock.recv(65536)
            assert chunk
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == 2 and b"Connection: Keep-Alive" in received


@pytest.mark.slow  # 24 simultaneous archive downloads
def test_many_concurrent_connections(site: Replica) -> None:
    results: list[int] = []

    def fetch(tag: str) -> None:
        with httpx.Client(base_url=site.base_url, timeout=30) as client:
            results.append(len(client.get(ZIP_PAGE, params={"tag": tag}).content))

    tags = [row[-2] for row in site.dataset.observations(dataset.BUSY_SYSTEM_TIC).tseries[:24]]
    threads = [threading.Thread(target=fetch, args=(tag,)) for tag in tags]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 24 and all(size > 1000 for size in results)


def test_client_leaving_mid_body_is_harmless(site: Replica, http: httpx.Client) -> None:
    site.configure(tag_sizes={19442: 3 << 20})
    with http.stream("GET", ZIP_PAGE, params={"tag": "19442"}) as response:
        next(response.iter_raw(1024))
    time.sleep(0.1)
    assert http.get("/tess/download_toi.php", params={"toi": "1130", "output": "pipe"}).status_code == 200
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not any(r.path == ZIP_PAGE for r in site.requests):
        time.sleep(0.02)
    record = next(r for r in site.requests if r.path == ZIP_PAGE)
    assert record.bytes_sent < 3 << 20


def test_bad_requests_get_400(site: Replica) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 400")


# --- lifecycle ---------------------------------------------------------------------------------------------------
def test_stop_and_start_on_the_same_port(tmp_path: Path) -> None:
    started = time.monotonic()
    replica = Replica(ReplicaConfig(cache_dir=str(tmp_path))).start()
    assert time.monotonic() - started < 1.0
    try:
        port = replica.port
        assert httpx.get(f"{replica.base_url}/tess/index.php").status_code == 200
        replica.stop()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{replica.base_url}/tess/index.php")
        replica.start()
        assert replica.port == port
        assert httpx.get(f"{replica.base_url}/tess/index.php").status_code == 200
        assert replica.count("index.php") == 2
    finally:
        replica.stop()


def test_stopping_drops_connections_in_flight(tmp_path: Path) -> None:
    replica = Replica(ReplicaConfig(cache_dir=str(tmp_path), latency=5.0)).start()
    errors: list[Exception] = []

    def fetch() -> None:
        try:
            httpx.get(f"{replica.base_url}/tess/index.php", timeout=10)
        except httpx.TransportError as exc:
            errors.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    replica.stop()
    thread.join()
    assert time.monotonic() - started < 3 and len(errors) == 1


@pytest.mark.anyio
async def test_async_context_manager(tmp_path: Path) -> None:
    async with Replica(ReplicaConfig(cache_dir=str(tmp_path))) as replica, httpx.AsyncClient() as client:
        response = await client.get(f"{replica.base_url}/tess/gototicid.php", params={"target": "WASP-46", "json": ""})
        assert response.json()["TIC"] == "231663901"
    assert not replica.running


# --- control --------------------------------------------------------------------------------------------------------
def test_control_endpoints(site: Replica, http: httpx.Client) -> None:
    assert http.get("/_replica/health").json()["status"] == "ok"
    http.get("/tess/download_toi.php", params={"toi": "1130", "output": "pipe"})
    records = http.get("/_replica/requests").json()
    assert [record["path"] for record in records] == ["/tess/download_toi.php"]
    assert records[0]["query"] == {"toi": "1130", "output": "pipe"}
    changed = http.post("/_replica/config", content=json.dumps({"latency": 0.01, "tag_size": "2MiB"}))
    assert changed.status_code == 200 and changed.json()["tag_size"] == 2 << 20
    assert site.config.latency == 0.01
    assert "s3cret" not in changed.text
    assert http.post("/_replica/config", content=b'{"latency": -1}').status_code == 400
    assert http.post("/_replica/config", content=b'{"no_such_setting": 1}').status_code == 400
    assert http.post("/_replica/reset").json() == {"status": "ok"}
    assert http.get("/_replica/requests").json() == []
    assert site.count("download_toi.php") == 0


def test_parse_size() -> None:
    assert parse_size("4MiB") == 4 << 20
    assert parse_size("2MB") == 2_000_000
    assert parse_size("512k") == 512 << 10
    assert parse_size("1048576") == 1 << 20
    with pytest.raises(ValueError):
        parse_size("lots")


def test_configure_validates(site: Replica) -> None:
    with pytest.raises(ValueError):
        site.configure(error_rate=2)
    with pytest.raises(ValueError):
        site.configure(tag_faults={1: "meltdown"})
    with pytest.raises(ValueError):
        site.configure(port=1)
    with pytest.raises(ValueError):
        ReplicaConfig(host="0.0.0.0")


@pytest.mark.slow
def test_command_line_serves_until_terminated() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "exofop_mcp.replica", "--port", "0", "--account", "carol:pw", "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("ExoFOP replica serving on http://127.0.0.1:")
        base_url = line.rsplit(" ", 1)[-1]
        assert httpx.get(f"{base_url}/_replica/health").json()["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_command_line_refuses_non_loopback_hosts() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "exofop_mcp.replica", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode != 0 and "loopback" in result.stderr

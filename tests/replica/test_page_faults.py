"""The replica's per-page misbehaviours (``page_faults``), seen byte by byte on a raw socket."""

from __future__ import annotations

import socket
import time

import pytest

from exofop_mcp.replica import Replica

PAGE = "/tess/download_tseries.php?target=254113311&output=pipe"


def _ask(replica: Replica, path: str = PAGE, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", replica.port), timeout=timeout)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    return sock


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


def test_empty_answers_200_with_no_body_then_the_page(replica: Replica) -> None:
    replica.configure(page_faults={"download_tseries.php": "empty:1"})
    first = _read_all(_ask(replica))
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 0" in head and body == b""
    second = _read_all(_ask(replica))
    assert second.partition(b"\r\n\r\n")[2].startswith(b"TIC ID|")  # the header line of the table


def test_silent_accepts_and_sends_nothing(replica: Replica) -> None:
    replica.configure(page_faults={"download_tseries.php": "silent"}, stall_seconds=1.0)
    sock = _ask(replica, timeout=0.3)
    with pytest.raises(TimeoutError):
        sock.recv(1)
    sock.settimeout(5.0)
    assert sock.recv(1) == b""  # closed after the silence, without a byte
    sock.close()


def test_drip_sends_the_whole_page_a_byte_at_a_time(replica: Replica) -> None:
    replica.configure(page_faults={"gototicid.php": "drip"}, stall_rate=100.0)
    sock = _ask(replica, "/tess/gototicid.php?target=WASP-46&json")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += sock.recv(1)
    started = time.monotonic()
    sizes = []
    body = b""
    while chunk := sock.recv(65536):
        sizes.append(len(chunk))
        body += chunk
    elapsed = time.monotonic() - started
    sock.close()
    assert body.startswith(b'{"status":"OK"') and len(body) == int(head.split(b"Content-Length: ")[1].split(b"\r")[0])
    assert max(sizes) <= 2 and elapsed >= (len(body) - 1) / 100.0 * 0.8


def test_slow_headers_drip_the_headers_too(replica: Replica) -> None:
    replica.configure(page_faults={"gototicid.php": "slow_headers"}, stall_rate=200.0)
    started = time.monotonic()
    answer = _read_all(_ask(replica, "/tess/gototicid.php?target=WASP-46&json"))
    head = answer.partition(b"\r\n\r\n")[0]
    assert answer.startswith(b"HTTP/1.1 200") and time.monotonic() - started >= len(head) / 200.0 * 0.8

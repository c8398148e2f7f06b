"""A small asyncio HTTP/1.1 server whose every byte on the wire can be controlled.

It parses requests, keeps connections alive, serves many connections at once and writes responses
with a Content-Length or chunked.  On top of plain delivery it can add latency before the headers,
pace the body to a bandwidth, and misbehave on purpose: reset the connection (TCP RST) before or
during a response, truncate a body after declaring its full length, or stall while trickling bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger("exofop_mcp.replica.http")

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
FILE_READ_SIZE = 64 * 1024
PLAIN_PIECE_SIZE = 64 * 1024
SERVER_HEADER = "Apache/2.4.37 (Rocky Linux) OpenSSL/1.1.1k"


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.x."""


class ClientGone(Exception):
    """The client closed the connection while we were answering."""


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    version: str

    @property
    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        with contextlib.suppress(CookieError):
            jar.load(self.headers.get("cookie", ""))
        return {name: morsel.value for name, morsel in jar.items()}

    def form(self) -> dict[str, str]:
        """Fields of an ``application/x-www-form-urlencoded`` body (last value wins)."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def wants_keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


@dataclass
class FileBody:
    """A body streamed from a file on disk, chunk by chunk (flat memory)."""

    path: Path
    corrupt_at: tuple[int, ...] = ()

    @property
    def length(self) -> int:
        return self.path.stat().st_size


@dataclass
class StreamBody:
    """A body produced chunk by chunk; ``length`` None means unknown (sent chunked)."""

    chunks: Iterable[bytes]
    length: int | None = None


Body = bytes | FileBody | StreamBody


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""
    chunked: bool = False
    close: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


WireFaultKind = Literal["reset_before", "reset_mid", "truncate", "stall", "silent", "drip", "slow_head"]


@dataclass(frozen=True)
class WireFault:
    """How the wire misbehaves while a response is written.

    ``fraction`` is the share of the body sent before a mid-body reset or a truncation.
    A stall sends the headers and a few bytes, then trickles ``stall_rate`` bytes per second
    for ``stall_seconds`` and drops the connection without finishing.  ``silent`` sends nothing at all
    for ``stall_seconds``, then closes the connection; ``drip`` sends the whole response, its body one
    byte every ``1 / stall_rate`` seconds; ``slow_head`` sends even the headers that way.
    """

    kind: WireFaultKind
    fraction: float = 0.5
    stall_seconds: float = 30.0
    stall_rate: float = 2.0


@dataclass
class Delivery:
    """What happened to a response on the wire."""

    status: int = 0
    bytes_sent: int = 0
    completed: bool = False
    connection_closed: bool = False


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _body_length(body: Body) -> int | None:
    if isinstance(body, bytes):
        return len(body)
    return body.length


def _pieces(body: Body, piece_size: int) -> Iterator[bytes]:
    if isinstance(body, bytes):
        for start in range(0, len(body), piece_size):
            yield body[start : start + piece_size]
    elif isinstance(body, FileBody):
        yield from _file_pieces(body, piece_size)
    else:
        for chunk in body.chunks:
            for start in range(0, len(chunk), piece_size):
                yield chunk[start : start + piece_size]


def _file_pieces(body: FileBody, piece_size: int) -> Iterator[bytes]:
    offset = 0
    damage = sorted(body.corrupt_at)
    with body.path.open("rb") as handle:
        while True:
            chunk = handle.read(piece_size)
            if not chunk:
                return
            end = offset + len(chunk)
            hits = [position for position in damage if offset <= position < end]
            if hits:
                mutable = bytearray(chunk)
                for position in hits:
                    mutable[position - offset] ^= 0xFF
                chunk = bytes(mutable)
            offset = end
            yield chunk


class ResponseChannel:
    """Writes exactly one response on a connection, with pacing and faults.

    ``on_finish`` is called once with the final ``Delivery`` at the *commit point*: just before the
    last bytes of a complete response are written, or just before the connection is dropped.  A
    client that has the whole answer can therefore rely on the server having accounted for it.
    """

    def __init__(
        self, writer: asyncio.StreamWriter, request: Request, on_finish: Callable[[Delivery], None] | None = None
    ) -> None:
        self._writer = writer
        self._request = request
        self.delivery = Delivery()
        self.sent = False
        self.on_finish = on_finish
        self._committed = False

    @property
    def closed(self) -> bool:
        return self.delivery.connection_closed

    def commit(self, *, completed: bool, bytes_sent: int | None = None) -> None:
        """Settle the delivery's outcome and report it (only the first call counts)."""
        if self._committed:
            return
        self._committed = True
        self.delivery.completed = completed
        if bytes_sent is not None:
            self.delivery.bytes_sent = bytes_sent
        if self.on_finish is not None:
            self.on_finish(self.delivery)

    async def send(
        self,
        response: Response,
        *,
        latency: float = 0.0,
        bandwidth: float | None = None,
        fault: WireFault | None = None,
    ) -> Delivery:
        if self.sent:
            raise RuntimeError("a response was already sent on this exchange")
        self.sent = True
        self.delivery.status = response.status
        try:
            await self._send(response, latency, bandwidth, fault)
        except (ClientGone, ConnectionError, OSError) as exc:
            log.debug("client went away during %s %s: %r", self._request.method, self._request.path, exc)
            self.commit(completed=False)
            self._abort(reset=False)
        finally:
            self.commit(completed=False)
        return self.delivery

    async def _send(self, response: Response, latency: float, bandwidth: float | None, fault: WireFault | None) -> None:
        # The body is paced from when the headers are due, not from when a late timer sent them: a
        # response takes latency + size / bandwidth, whatever this loop's timer slack.
        due = asyncio.get_running_loop().time() + latency
        if latency > 0:
            await asyncio.sleep(latency)
        if fault is not None and fault.kind == "reset_before":
            self.commit(completed=False)
            await self._reset()
            return
        if fault is not None and fault.kind == "silent":
            self.commit(completed=False)
            await asyncio.sleep(fault.stall_seconds)
            self._abort(reset=False)
            return
        length = _body_length(response.body)
        chunked = response.chunked or length is None
        keep_alive = self._request.wants_keep_alive and not response.close
        head = self._head(response, length, chunked, keep_alive)
        if fault is not None and fault.kind == "slow_head":
            await self._drip(head, fault.stall_rate)
            head, fault = b"", None
        if fault is not None and fault.kind == "drip":
            self._write(head)
            await self._drain()
            body = b"".join(_pieces(response.body, PLAIN_PIECE_SIZE))
            if chunked:
                body = (b"%x\r\n%b\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
            self.commit(completed=True, bytes_sent=len(body))
            await self._drip(body, fault.stall_rate)
            self._finish(keep_alive)
            return
        if self._request.method == "HEAD" or (length == 0 and not chunked and fault is None):
            self.commit(completed=True, bytes_sent=0)
            self._write(head)
            await self._drain()
            self._finish(keep_alive)
            return
        self._write(head)
        await self._drain()
        if fault is None:
            await self._stream_all(response.body, chunked, bandwidth, length, due)
            self._finish(keep_alive)
            return
        limit = self._fault_limit(fault, length)
        rest = await self._stream_limited(response.body, chunked, bandwidth, limit, due)
        await self._misbehave(rest, fault, chunked)

    def _head(self, response: Response, length: int | None, chunked: bool, keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        lines.append(f"Server: {SERVER_HEADER}")
        for name, value in response.headers:
            lines.append(f"{name}: {value}")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        if keep_alive:
            lines.append("Keep-Alive: timeout=15, max=100")
            lines.append("Connection: Keep-Alive")
        else:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @staticmethod
    def _fault_limit(fault: WireFault, length: int | None) -> int:
        """How many body bytes go out before a fault strikes."""
        if fault.kind == "stall":
            return 0 if not length else min(64, max(1, length // 4))
        if length is None:
            return 4096
        return max(0, min(length - 1, int(length * fault.fraction)))

    async def _pace(self, started: float, sent: int, bandwidth: float | None) -> None:
        """Sleep until ``sent`` body bytes are due at ``bandwidth`` bytes per second."""
        if bandwidth:
            delay = started + sent / bandwidth - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)

    def _write_piece(self, piece: bytes, chunked: bool) -> None:
        self._write(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)

    async def _stream_all(
        self, body: Body, chunked: bool, bandwidth: float | None, length: int | None, started: float
    ) -> None:
        """Send the whole body, committing just before the bytes that complete it."""
        pieces = _pieces(body, self._piece_size(bandwidth))
        sent = 0
        current = next(pieces, None)
        while current is not None:
            following = next(pieces, None)
            await self._pace(started, sent + len(current), bandwidth)
            if following is None and not chunked:
                self.commit(completed=True, bytes_sent=sent + len(current))
            self._write_piece(current, chunked)
            await self._drain()
            sent += len(current)
            self.delivery.bytes_sent = sent
            current = following
        if chunked:
            self.commit(completed=True, bytes_sent=sent)
            self._write(b"0\r\n\r\n")
            await self._drain()
        elif length is not None and sent < length:  # pragma: no cover - a body shorter than declared
            self.commit(completed=False)
            self._abort(reset=False)

    async def _stream_limited(
        self, body: Body, chunked: bool, bandwidth: float | None, limit: int, started: float
    ) -> Iterator[bytes]:
        """Send the first ``limit`` body bytes; return an iterator over what was held back."""
        pieces = _pieces(body, self._piece_size(bandwidth))
        if limit <= 0:
            return pieces
        sent = 0
        for piece in pieces:
            held_back = b""
            if sent + len(piece) > limit:
                piece, held_back = piece[: limit - sent], piece[limit - sent :]
            await self._pace(started, sent + len(piece), bandwidth)
            self._write_piece(piece, chunked)
            await self._drain()
            sent += len(piece)
            self.delivery.bytes_sent = sent
            if sent >= limit:
                return itertools.chain([held_back], pieces)
        return iter(())

    @staticmethod
    def _piece_size(bandwidth: float | None) -> int:
        if not bandwidth:
            return PLAIN_PIECE_SIZE
        return int(min(64 * 1024, max(1024, bandwidth / 50)))

    async def _misbehave(self, rest: Iterator[bytes], fault: WireFault, chunked: bool) -> None:
        if fault.kind == "stall":
            await self._trickle(rest, fault, chunked)
        else:
            await self._flush()
        self.commit(completed=False)
        if fault.kind == "truncate":
            self._abort(reset=False)
        else:
            await self._reset()

    async def _trickle(self, rest: Iterator[bytes], fault: WireFault, chunked: bool) -> None:
        """Dribble held-back bytes, never the last one, until the stall is over."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + fault.stall_seconds
        if fault.stall_rate <= 0:
            await asyncio.sleep(fault.stall_seconds)
            return
        interval = 1.0 / fault.stall_rate
        pending = bytearray()
        while loop.time() + interval <= deadline:
            await asyncio.sleep(interval)
            while len(pending) < 2:
                piece = next(rest, None)
                if piece is None:
                    break
                pending += piece
            if len(pending) < 2:
                continue
            byte = bytes(pending[:1])
            del pending[:1]
            self._write(b"1\r\n%b\r\n" % byte if chunked else byte)
            await self._drain()
            self.delivery.bytes_sent += 1
        await asyncio.sleep(max(0.0, deadline - loop.time()))

    async def _drip(self, data: bytes, rate: float) -> None:
        """Write ``data`` one byte at a time, ``rate`` bytes a second."""
        interval = 1.0 / rate if rate > 0 else 1.0
        for position in range(len(data)):
            if position:
                await asyncio.sleep(interval)
            self._write(data[position : position + 1])
            await self._drain()

    def _write(self, data: bytes) -> None:
        if self._writer.transport.is_closing():
            raise ClientGone("transport closed")
        self._writer.write(data)

    async def _drain(self) -> None:
        if self._writer.transport.is_closing():
            raise ClientGone("transport closed")
        await self._writer.drain()

    async def _flush(self) -> None:
        """Wait until everything written so far has left the transport's buffer."""
        transport = self._writer.transport
        for _ in range(500):
            if transport.is_closing() or transport.get_write_buffer_size() == 0:
                return
            await asyncio.sleep(0.002)

    async def _reset(self) -> None:
        """Drop the connection with a TCP RST (SO_LINGER 0), the way a crashing server would."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._abort(reset=True)

    def _abort(self, *, reset: bool) -> None:
        self.delivery.connection_closed = True
        transport = self._writer.transport
        if reset:
            transport.abort()
        else:
            transport.close()

    def _finish(self, keep_alive: bool) -> None:
        if not keep_alive:
            self._abort(reset=False)


Handler = Callable[[Request, ResponseChannel], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None on a clean end of stream between requests."""
    try:
        raw_head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadRequest("incomplete request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too large") from exc
    lines = raw_head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:100]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line[:100]!r}")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    body = await _read_body(reader, headers)
    split = urlsplit(target)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    return Request(
        method=method.upper(),
        target=target,
        path=unquote(split.path) or "/",
        query=query,
        headers=headers,
        body=body,
        version=version,
    )


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequest("request body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length_text = headers.get("content-length")
    if not length_text:
        return b""
    try:
        length = int(length_text)
    except ValueError as exc:
        raise BadRequest("bad Content-Length") from exc
    if length < 0 or length > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    return await reader.readexactly(length)


class HTTPServer:
    """Serves ``handler`` on a loopback address until ``stop`` is called."""

    def __init__(self, handler: Handler, *, keepalive_timeout: Callable[[], float] = lambda: 15.0) -> None:
        self._handler = handler
        self._keepalive_timeout = keepalive_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(
            self._serve_connection, host, port, limit=MAX_HEADER_BYTES, reuse_address=True, backlog=256
        )
        sockets = self._server.sockets or ()
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)
        self._server = None

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await self._exchange_loop(reader, writer)
        except asyncio.CancelledError:
            # The server is stopping.  Finish quietly: asyncio logs connection tasks that end cancelled.
            writer.transport.abort()
        except (ConnectionError, OSError, ClientGone) as exc:
            log.debug("connection dropped: %r", exc)
        finally:
            if task is not None:
                self._connections.discard(task)
            if not writer.transport.is_closing():
                writer.transport.close()

    async def _exchange_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await asyncio.wait_for(read_request(reader), timeout=self._keepalive_timeout())
            except (TimeoutError, asyncio.IncompleteReadError):
                return
            except BadRequest as exc:
                log.debug("bad request: %s", exc)
                await self._send_bad_request(writer)
                return
            if request is None:
                return
            channel = ResponseChannel(writer, request)
            try:
                await self._handler(request, channel)
            except Exception:
                log.exception("handler failed for %s %s", request.method, request.path)
                if not channel.sent:
                    body = b"<h1>Internal error</h1>"
                    await channel.send(Response(500, [("Content-Type", "text/html; charset=UTF-8")], body, close=True))
                return
            if not channel.sent:
                await channel.send(Response(500, [("Content-Type", "text/plain")], b"no response"))
            if channel.closed or not request.wants_keep_alive or writer.transport.is_closing():
                return

    @staticmethod
    async def _send_bad_request(writer: asyncio.StreamWriter) -> None:
        body = b"<html><body><h1>Bad Request</h1></body></html>"
        head = (
            f"HTTP/1.1 400 Bad Request\r\nServer: {SERVER_HEADER}\r\nContent-Type: text/html\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("latin-1")
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(head + body)
            await writer.drain()

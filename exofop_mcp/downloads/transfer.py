"""Fetching one tag's archive from ExoFOP onto disk, verified and with retries.

The body is streamed in chunks to a temporary file (memory stays flat), hashed
on the way, and moved to its final name only when it is complete: a body
shorter than its ``Content-Length`` is a failure and is retried.  What came
back is sniffed, not trusted: an HTML login page means ``login_required``, a
"no files" page or a 404 means ``not_found``, anything else that is not a zip
is ``failed`` with its first bytes described.

Transient failures (connection errors, 429 with ``Retry-After``, 5xx,
truncation, a stalled body) are retried with backoff and jitter by the
client's one retry loop (:meth:`~exofop_mcp.site.client.ExofopClient.retrying`);
permanent ones are not.  This module decides, per attempt, which is which;
the client sends the request and the policy gives the delay.  A stall detector
and an overall deadline bound each tag, so a body that trickles a few bytes a
second cannot hold a download hostage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from exofop_mcp.atomic_files import AtomicStreamWriter
from exofop_mcp.downloads.streaming_unpack import StreamingUnpacker
from exofop_mcp.errors import ExofopResponseError
from exofop_mcp.site.client import ExofopClient, TransientFailure
from exofop_mcp.site.responses import SNIFF_BYTES, describe_bytes, sniff_body
from exofop_mcp.site.retry_policy import RetryPolicy, is_retryable_status, parse_retry_after

log = logging.getLogger(__name__)

TAG_ZIP_PAGE = "download_tag_files_zip.php"
CHUNK_SIZE = 64 * 1024

TransferStatus = Literal["ok", "not_found", "login_required", "failed", "timed_out"]


@dataclass(frozen=True)
class TransferLimits:
    """Time limits of one tag's transfer."""

    #: Overall limit for one tag, retries included.
    deadline_seconds: float = 1800.0
    #: A body that delivers fewer than ``stall_min_bytes`` within this many seconds has stalled.
    stall_seconds: float = 30.0
    stall_min_bytes: int = 16 * 1024


@dataclass
class TransferOutcome:
    status: TransferStatus
    attempts: int
    size: int = 0
    sha256: str | None = None
    message: str | None = None
    #: With ``unpacker``, the one fed the successful attempt's body (``ok`` only); its holder closes it.
    streamed: StreamingUnpacker | None = None


class _Permanent(Exception):
    def __init__(self, status: TransferStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Stalled(TransientFailure):
    """The body stopped coming: retried once only."""


def tag_url(client: ExofopClient, tag: int) -> str:
    return client.url(TAG_ZIP_PAGE, {"tag": tag})


async def fetch_tag_archive(
    client: ExofopClient,
    tag: int,
    destination: Path,
    *,
    retry: RetryPolicy,
    limits: TransferLimits,
    cookies: Mapping[str, str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    durable: bool = True,
    unpacker: Callable[[], StreamingUnpacker | None] | None = None,
) -> TransferOutcome:
    """Download tag ``tag``'s zip to ``destination`` (atomically); never raises for network trouble.

    ``durable=False`` skips the ``fsync`` before the rename, for an archive that is unpacked and
    removed at once: what stays is the unpacked files (synced), and an archive a crash left behind
    is recorded nowhere, so it is fetched anew.

    ``unpacker`` makes a :class:`~exofop_mcp.downloads.streaming_unpack.StreamingUnpacker` (or
    ``None``) for each attempt once the body begins, fed the body as it is written; a failed
    attempt's is closed, the successful one's is returned in :attr:`TransferOutcome.streamed`.

    Each attempt is one :meth:`ExofopClient.stream_attempt`; the client's retry loop, with ``retry``,
    decides whether and when to try again.  Here: the stall detector, the overall deadline, and what
    each answer means (transient, or a final status).
    """
    started = time.monotonic()
    last_error = "no attempt made"
    stalls = 0

    async def attempt(number: int) -> TransferOutcome:
        nonlocal last_error, stalls
        remaining = limits.deadline_seconds - (time.monotonic() - started)
        if remaining <= 0:
            return TransferOutcome(
                "timed_out",
                number - 1,
                message=f"gave up after {limits.deadline_seconds:.0f} s ({last_error}). Try again later.",
            )
        try:
            async with asyncio.timeout(remaining):
                size, sha, streamed = await _attempt(
                    client, tag, destination, limits, cookies, on_bytes, durable, unpacker
                )
            return TransferOutcome("ok", number, size=size, sha256=sha, streamed=streamed)
        except _Permanent as exc:
            return TransferOutcome(exc.status, number, message=str(exc))
        except ExofopResponseError as exc:
            # A redirect to another site, or a body past the archive limit: that tag fails, saying why.
            return TransferOutcome("failed", number, message=f"tag {tag}: {exc}")
        except TimeoutError:
            return TransferOutcome(
                "timed_out",
                number,
                message=f"the transfer did not finish within {limits.deadline_seconds:.0f} s; try again later.",
            )
        except OSError as exc:
            # Writing the archive failed (disk full, permissions): the message says what to do; a retry
            # would only download the same bytes again.
            return TransferOutcome("failed", number, message=str(exc))
        except TransientFailure as exc:
            last_error = exc.reason
            if isinstance(exc, _Stalled):
                stalls += 1
                # A stalled body is retried once; other transient failures up to the retry budget.
                exc.final = stalls > 1
            raise

    try:
        return await client.retrying(f"tag {tag}", attempt, policy=retry)
    except TransientFailure as exc:
        status: TransferStatus = "timed_out" if isinstance(exc, _Stalled) else "failed"
        return TransferOutcome(
            status,
            exc.attempts,
            message=f"{exc.reason} (after {exc.attempts} attempts). Try again later; "
            "a repeated call fetches only what is missing.",
        )


async def _attempt(
    client: ExofopClient,
    tag: int,
    destination: Path,
    limits: TransferLimits,
    cookies: Mapping[str, str] | None,
    on_bytes: Callable[[int], None] | None,
    durable: bool = True,
    unpacker: Callable[[], StreamingUnpacker | None] | None = None,
) -> tuple[int, str, StreamingUnpacker | None]:
    counted = 0
    streamed: StreamingUnpacker | None = None
    try:
        # The archive is committed (final flush, fsync and rename in a worker thread; without fsync, here)
        # when ``finishing`` closes, after the response: the request's lane is free as soon as the body is
        # complete.
        async with (
            contextlib.AsyncExitStack() as finishing,
            client.stream_attempt(
                TAG_ZIP_PAGE, {"tag": tag}, cookies=cookies, header_timeout=client.settings.header_wait_seconds
            ) as response,
        ):
            _check_status(response, tag, logged_in=cookies is not None)
            declared = _declared_length(response)
            body = client.body_chunks(
                response,
                TAG_ZIP_PAGE,
                limit=client.settings.max_archive_bytes,
                setting="EXOFOP_MCP_MAX_ARCHIVE_BYTES",
                chunk_size=CHUNK_SIZE,
            )
            chunks = _watched(body, limits)
            head = await _read_head(chunks)
            if sniff_body(bytes(head[:4])) != "zip":
                # Not a zip: read a little more to tell a login page from a "no files" page; write nothing.
                async for chunk in chunks:
                    head += chunk
                    if len(head) >= SNIFF_BYTES:
                        break
                await chunks.aclose()
                _classify_non_zip(bytes(head), tag, logged_in=cookies is not None)
            writer = await finishing.enter_async_context(AtomicStreamWriter(destination, head_size=16, durable=durable))
            writer.write(head)
            streamed = unpacker() if unpacker is not None else None
            feed = streamed.feed if streamed is not None else _ignore
            feed(bytes(head))
            counted = _count(on_bytes, len(head), counted)
            async for chunk in chunks:
                writer.write(chunk)
                feed(chunk)
                counted = _count(on_bytes, len(chunk), counted)
            if declared is not None and response.num_bytes_downloaded < declared:
                raise TransientFailure(
                    f"the body was truncated ({response.num_bytes_downloaded:,} of {declared:,} bytes)"
                )
            size, sha = writer.bytes_written, writer.sha256_hex()
        if streamed is not None:
            streamed.end()
        return size, sha, streamed
    except TransientFailure as exc:
        _uncount(on_bytes, counted)
        if streamed is not None:
            await streamed.aclose()  # the next attempt starts afresh
        if exc.cause is None:
            raise
        # The network failed: say whether the body had begun, and why, precisely.
        if exc.timed_out:
            raise _Stalled(f"ExoFOP stopped sending data ({exc.reason})", timed_out=True, cause=exc.cause) from None
        what = "the connection was cut" if counted else "the request failed"
        raise TransientFailure(f"{what} ({exc.reason})", cause=exc.cause) from None
    except BaseException:
        _uncount(on_bytes, counted)
        if streamed is not None:
            await streamed.aclose()
        raise


def _ignore(chunk: bytes) -> None:
    pass


async def _watched(chunks: AsyncIterator[bytes], limits: TransferLimits) -> AsyncGenerator[bytes, None]:
    """The body's chunks; raises :class:`_Stalled` when a window of ``stall_seconds`` brings too few bytes.

    A body that sends nothing trips the window's timer; one that trickles trips the byte count.
    """
    loop = asyncio.get_running_loop()
    window_end = loop.time() + limits.stall_seconds
    window_bytes = 0
    iterator = chunks.__aiter__()
    while True:
        try:
            async with asyncio.timeout_at(window_end):
                chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise _Stalled(
                f"the transfer stalled ({window_bytes} bytes in the last {limits.stall_seconds:g} s)"
            ) from None
        window_bytes += len(chunk)
        if window_bytes >= limits.stall_min_bytes:
            window_end, window_bytes = loop.time() + limits.stall_seconds, 0
        yield chunk


async def _read_head(chunks: AsyncIterator[bytes]) -> bytearray:
    """At least the first 4 bytes of the body (less only if the body is shorter)."""
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) >= 4:
            break
    return head


def _count(on_bytes: Callable[[int], None] | None, n: int, counted: int) -> int:
    if on_bytes is not None and n:
        on_bytes(n)
    return counted + n


def _uncount(on_bytes: Callable[[int], None] | None, counted: int) -> None:
    """Take back the progress of an attempt that did not complete."""
    if on_bytes is not None and counted:
        on_bytes(-counted)


def _declared_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("Content-Length")
    if raw is None or response.headers.get("Content-Encoding"):
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _check_status(response: httpx.Response, tag: int, *, logged_in: bool) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if is_retryable_status(status):
        raise TransientFailure(
            f"ExoFOP answered HTTP {status}", retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    if status == 404:
        raise _Permanent("not_found", f"tag {tag} does not exist on ExoFOP (HTTP 404). Check the tag number.")
    if status in (401, 403):
        raise _Permanent("login_required", _login_message(tag, logged_in))
    raise _Permanent("failed", f"ExoFOP refused tag {tag} with HTTP {status}.")


def _classify_non_zip(head: bytes, tag: int, *, logged_in: bool) -> None:
    """Raise the right permanent failure for a body that is not a zip."""
    kind = sniff_body(head)
    if kind == "html_login":
        raise _Permanent("login_required", _login_message(tag, logged_in))
    if kind in ("html_no_files", "html_not_found"):
        raise _Permanent(
            "not_found",
            f"ExoFOP has no files for tag {tag} (it answered a page saying so). Check the tag number with "
            "list_observations.",
        )
    if kind == "empty":
        raise TransientFailure(
            "ExoFOP sent an empty body, as it does when it throttles requests (wait a few minutes, and lower "
            "EXOFOP_MCP_CONCURRENCY)"
        )
    raise _Permanent(
        "failed",
        f"ExoFOP answered tag {tag} with something that is not a zip: {describe_bytes(head)}.",
    )


def _login_message(tag: int, logged_in: bool) -> str:
    if logged_in:
        return (
            f"tag {tag}: ExoFOP answered its login page although a stored login was sent: the login has expired "
            "or was ended on the site, or this account has no rights to the tag. The user runs `exofop-mcp login` "
            "again in a terminal, then asks again."
        )
    return (
        f"tag {tag} is proprietary (TFOP data stays private for 12 months) and needs a login: the user runs "
        "`exofop-mcp login` in a terminal, then asks again."
    )

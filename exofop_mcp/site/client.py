"""The one HTTP client that talks to ExoFOP.

Every request the project sends to the site goes through :class:`ExofopClient`:
tables and JSON (:meth:`~ExofopClient.get`, :meth:`~ExofopClient.fetch`), tag
archives (:meth:`~ExofopClient.stream_attempt`), the login form
(:meth:`~ExofopClient.cookie_session`) and the doctor's checks.  It owns one
:class:`httpx.AsyncClient` per process (one connection pool), separate connect
and read timeouts, a ``User-Agent`` naming exofop-mcp and its version, the
request counter, how cookies are sent, and the one retry loop
(:meth:`~ExofopClient.retrying`), driven by a
:class:`~exofop_mcp.site.retry_policy.RetryPolicy`.  Every failure comes out as
one of the project's errors with a message that says what to do.

Nothing here knows about stored logins: a table request asked ``logged_in``
borrows cookies from any object with a session pool's ``lease()`` (see
:class:`CookieLease`).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Protocol, TypeVar

import httpx

from exofop_mcp import __version__
from exofop_mcp.errors import (
    ExofopHTTPError,
    ExofopResponseError,
    ExofopThrottledError,
    ExofopUnavailableError,
    ForeignRedirectError,
    ResponseTooLargeError,
)
from exofop_mcp.settings import Settings, origin_of
from exofop_mcp.site.http_stack import tls_context, warm_up
from exofop_mcp.site.request_lanes import RequestLanes
from exofop_mcp.site.retry_policy import RetryPolicy, is_retryable_status, parse_retry_after
from exofop_mcp.site.transport_errors import ExofopUnreachableError, describe_transport_error, failure_kind
from exofop_mcp.text_format import format_bytes

log = logging.getLogger(__name__)

USER_AGENT = f"exofop-mcp/{__version__} (+https://pypi.org/project/exofop-mcp/)"
#: Redirects followed for one request (all within the configured site).
MAX_REDIRECTS = 20

T = TypeVar("T")
_PAGE_LIMIT = "EXOFOP_MCP_MAX_PAGE_BYTES"
#: Decoded bytes from which a body's growth over its bytes on the wire is checked (``max_decoded_ratio``).
RATIO_CHECKED_FROM = 4 << 20
#: Set while a page's deadline runs: a request inside it keeps that (earlier) deadline.
_IN_PAGE_DEADLINE: contextvars.ContextVar[bool] = contextvars.ContextVar("exofop_page_deadline", default=False)
#: Why an answer with no body is tried again: ExoFOP throttles by answering 200 and nothing.
EMPTY_ANSWER = "an empty answer (ExoFOP answers so when it throttles)"


class CookieLease(Protocol):
    """What the client needs of a session pool: ``async with pool.lease(timeout) as cookies``.

    ``cookies`` is a session's cookies (``{"PHPSESSID": "…"}``), or ``None`` to go anonymously.
    """

    def lease(
        self, timeout: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[Mapping[str, str] | None]: ...


def cookie_header(cookies: Mapping[str, str] | None) -> dict[str, str]:
    """Request headers that carry ``cookies`` (``{}`` for ``None``): ``{"Cookie": "PHPSESSID=…"}``.

    Sending the session as a header, on a client whose own jar keeps nothing (see
    :func:`non_persistent_cookies`), keeps every request's session exactly the one leased.
    """
    if not cookies:
        return {}
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def non_persistent_cookies() -> CookieJar:
    """A cookie jar that stores nothing the server sets, for ``httpx.AsyncClient(cookies=...)``.

    The shared connection pool has one: otherwise a ``PHPSESSID`` set on one answer would be sent
    with every later request, anonymous or not, and PHP would serialise them all behind one session.
    It is a plain :class:`~http.cookiejar.CookieJar`, not an ``httpx.Cookies``: httpx keeps a jar it
    is given, but copies an ``httpx.Cookies`` into a new jar with the default policy (which stores
    everything).
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class TransientFailure(Exception):
    """One attempt failed in a way worth another: raised inside an attempt given to :meth:`ExofopClient.retrying`.

    The client raises it for network errors (``cause`` set) and for 429/5xx answers (``response``
    set); callers raise it for their own transient reasons (a truncated or stalled body).  When no
    attempt is left, the loop raises the last one again with ``attempts`` filled in.
    """

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        timed_out: bool = False,
        response: httpx.Response | None = None,
        cause: httpx.TransportError | None = None,
        final: bool = False,
        empty: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        #: Seconds the server asked to wait (``Retry-After``), if it did.
        self.retry_after = retry_after
        #: The attempt ran out of time (a policy may decline to try again).
        self.timed_out = timed_out
        #: The answer, when the failure is an HTTP status.
        self.response = response
        #: The network error, when there was no answer.
        self.cause = cause
        #: Worth no further attempt whatever the policy allows.
        self.final = final
        #: The answer was a success with an empty body (how ExoFOP throttles).
        self.empty = empty
        #: Attempts made when the loop gave up (filled in by the loop).
        self.attempts = 0

    @property
    def kind(self) -> str:
        """``'timed out'``, ``'could not connect'``, ... for a network error; the reason otherwise."""
        return failure_kind(self.cause) if self.cause is not None else self.reason


@dataclass(frozen=True)
class Answer:
    """The site's last answer to a request (whatever its status) and the attempts it took."""

    response: httpx.Response
    attempts: int


class CookieSession:
    """Requests that share one private cookie jar (one login on the site), on the client's connection pool.

    Each request is one attempt (wrap a whole flow in :meth:`ExofopClient.retrying`); a network
    error raises :class:`TransientFailure`.  Cookies the site sets, redirects included, stay in
    :attr:`cookies` and go with the session's later requests only.
    """

    def __init__(self, client: ExofopClient) -> None:
        self._client = client
        self.cookies = httpx.Cookies()

    async def get(self, page: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        return await self._client._attempt("GET", page, params, jar=self.cookies)

    async def post(self, page: str, data: Mapping[str, str]) -> httpx.Response:
        return await self._client._attempt("POST", page, None, data=data, jar=self.cookies)


class ExofopClient:
    """Async access to ExoFOP-TESS pages (``{base_url}/tess/<page>``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sessions: CookieLease | None = None,
    ) -> None:
        self.settings = settings
        #: Stored ExoFOP login sessions; pages asked for ``logged_in=True`` carry one when available.
        self.sessions = sessions
        self.retry = retry or RetryPolicy(max_retries=settings.max_retries, base_delay=settings.retry_base_delay)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        #: Count of HTTP requests sent (including retries), for diagnostics and benchmarks.
        self.requests_sent = 0
        #: At most ``concurrency`` archives and ``concurrency + 1`` requests in flight from this client.
        self.lanes = RequestLanes(settings.concurrency)

    @property
    def _pool(self) -> httpx.AsyncClient:
        """The connection pool, built at first use: an answer from the caches never pays for its TLS setup."""
        if self._http is None:
            self._http = self._build_pool()
        return self._http

    def _build_pool(self) -> httpx.AsyncClient:
        settings = self.settings
        limits = httpx.Limits(
            max_connections=settings.concurrency + 4, max_keepalive_connections=settings.concurrency + 4
        )
        return httpx.AsyncClient(
            base_url=settings.tess_url + "/",
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=None,
            ),
            limits=limits,
            verify=tls_context(),  # one per process, shared by every pool
            # The pool's own jar keeps nothing: a session cookie is sent only when one is leased (or from a
            # cookie session's private jar), so anonymous requests never drag a stray PHPSESSID (and PHP's
            # session lock) along.
            cookies=non_persistent_cookies(),
            # Redirects are followed by hand (:meth:`_send`), within the configured site only.
            follow_redirects=False,
            transport=self._transport,
        )

    def prepare(self) -> None:
        """Build the connection pool and load the network backend now (the TLS context, certificates and
        anyio's modules take a moment), so that the first request's time measures the site rather than
        this machine: the doctor times its checks.  Blocking: from a coroutine, run it in a thread."""
        warm_up()
        _ = self._pool

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` every request carries."""
        return self._pool.headers["User-Agent"]

    @property
    def requests_so_far(self) -> int:
        """Requests this client has sent (the client alone counts them; others only read the figure)."""
        return self.requests_sent

    async def __aenter__(self) -> ExofopClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def url(self, page: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of a page, for messages and manifests."""
        url = httpx.URL(self.settings.tess_url + "/" + page)
        return str(url.copy_merge_params(_clean(params)) if params else url)

    # -- the one retry loop --------------------------------------------------------------------------

    async def retrying(
        self, what: str, attempt: Callable[[int], Awaitable[T]], *, policy: RetryPolicy | None = None
    ) -> T:
        """Run ``attempt(1)``, ``attempt(2)``, ... until one returns; the only place a request is retried.

        An attempt that raises :class:`TransientFailure` is tried again after the delay the policy
        gives (backoff with jitter, or the server's ``Retry-After``); when the policy gives none (or the
        failure is ``final``), the last failure is raised again with its ``attempts`` filled in.
        Anything else an attempt raises or returns ends the loop at once.
        """
        rules = policy or self.retry
        started = time.monotonic()
        number = 0
        while True:
            number += 1
            try:
                return await attempt(number)
            except TransientFailure as failure:
                delay = None
                if not failure.final:
                    delay = rules.next_delay(
                        number,
                        retry_after=failure.retry_after,
                        timed_out=failure.timed_out,
                        elapsed=time.monotonic() - started,
                    )
                if delay is None:
                    failure.attempts = number
                    raise
                log.info("ExoFOP %s: %s; retrying in %.1f s", what, failure.reason, delay)
            await asyncio.sleep(delay)

    # -- one attempt ---------------------------------------------------------------------------------

    def describe(self, exc: BaseException, url: str | httpx.URL) -> str:
        """Why a request to ``url`` got no answer, precisely, with this client's timeouts."""
        return describe_transport_error(
            exc, url, connect_timeout=self.settings.connect_timeout, read_timeout=self.settings.read_timeout
        )

    def _transient(self, exc: httpx.TransportError, page: str, params: Mapping[str, Any] | None) -> TransientFailure:
        return TransientFailure(
            self.describe(exc, self.url(page, params)),
            timed_out=isinstance(exc, httpx.TimeoutException),
            cause=exc,
        )

    async def _attempt(
        self,
        method: str,
        page: str,
        params: Mapping[str, Any] | None,
        *,
        cookies: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        jar: httpx.Cookies | None = None,
    ) -> httpx.Response:
        """Send one request (redirects within the site followed), body read and decoded as UTF-8.

        A network error raises :class:`TransientFailure`; a body decoding to more than
        ``settings.max_page_bytes`` raises :class:`ResponseTooLargeError`, a redirect to another site
        :class:`ForeignRedirectError`.
        """
        query = _clean(params)
        request = self._pool.build_request(method, page, params=query, data=data, headers=cookie_header(cookies))
        try:
            async with self.lanes.small(), self.page_deadline(page):
                self.requests_sent += 1
                response = await self._send(request, page, cookies=cookies, jar=jar)
                await self.read_body(response, page, limit=self.settings.max_page_bytes)
                return response
        except httpx.TransportError as exc:
            raise self._transient(exc, page, query) from None

    @contextlib.asynccontextmanager
    async def page_deadline(self, page: str) -> AsyncIterator[None]:
        """Bound everything inside (headers, body, retries) by ``settings.page_deadline_seconds``.

        A page that drips a byte at a time never trips the read timeout, which waits for one byte: this
        bounds the whole.  Past it, :class:`ExofopUnavailableError` naming the page and the setting.
        Nested uses keep the outer, earlier deadline.
        """
        if _IN_PAGE_DEADLINE.get():
            yield
            return
        seconds = self.settings.page_deadline_seconds
        token = _IN_PAGE_DEADLINE.set(True)
        try:
            async with asyncio.timeout(seconds):
                yield
        except TimeoutError:
            raise ExofopUnavailableError(
                f"ExoFOP's {page or '/tess/'} did not arrive in full within {seconds:g} s: the site sent it far "
                "too slowly, or accepted the request and sent nothing (as it does when it throttles), and the "
                "request was given up.",
                hint="Wait a few minutes and try again, with fewer requests at once (EXOFOP_MCP_CONCURRENCY). If "
                "pages are known to be this slow on your network, raise EXOFOP_MCP_PAGE_DEADLINE_SECONDS.",
            ) from None
        finally:
            _IN_PAGE_DEADLINE.reset(token)

    async def _send(
        self,
        request: httpx.Request,
        page: str,
        *,
        cookies: Mapping[str, str] | None = None,
        jar: httpx.Cookies | None = None,
    ) -> httpx.Response:
        """Send ``request``, its body not read yet, following redirects by hand within the configured site.

        Each hop carries the same cookies (the leased ones, or ``jar``'s, which keeps what the site sets).
        A redirect to another scheme, host or port is not followed: :class:`ForeignRedirectError`, and
        nothing is sent there.
        """
        history: list[httpx.Response] = []
        while True:
            if jar is not None:
                jar.set_cookie_header(request)
            response = await self._pool.send(request, follow_redirects=False, stream=True)
            if jar is not None:
                jar.extract_cookies(response)
            following = response.next_request
            if following is None or len(history) >= MAX_REDIRECTS:
                response.history = history
                return response
            await response.aclose()
            if origin_of(str(following.url)) != self.settings.origin:
                raise self._foreign(page, following.url)
            if jar is None and cookies:
                following.headers.update(cookie_header(cookies))
            history.append(response)
            request = following

    def _foreign(self, page: str, url: httpx.URL) -> ForeignRedirectError:
        where = str(url.copy_with(query=None, fragment=None))
        return ForeignRedirectError(
            f"ExoFOP's {page or '/tess/'} redirected to {where}, which is not the configured site "
            f"{self.settings.base_url}; the redirect was not followed and nothing was sent there.",
            where,
            hint="Check EXOFOP_BASE_URL (it should be https://exofop.ipac.caltech.edu); if it is right, the site "
            "may have moved a page (run `exofop-mcp doctor`).",
        )

    def too_large(self, page: str, limit: int, setting: str) -> ResponseTooLargeError:
        """The error for an answer of ``page`` that decoded past ``limit`` bytes (``setting`` raises it)."""
        return ResponseTooLargeError(
            f"ExoFOP's {page or '/tess/'} sent more than {format_bytes(limit)} once decoded; the answer was "
            "refused before it could fill the memory.",
            hint=f"This is far more than the page should hold; if it is really that large, raise {setting}.",
        )

    async def body_chunks(
        self, response: httpx.Response, page: str, *, limit: int, setting: str, chunk_size: int | None = None
    ) -> AsyncIterator[bytes]:
        """``response``'s decoded body in chunks; raises :class:`ResponseTooLargeError` past ``limit`` bytes.

        The count is of decoded bytes, taken as they stream in, so a small compressed body that inflates
        without bound is stopped at the limit; and once past :data:`RATIO_CHECKED_FROM` decoded bytes, a
        body that grew more than ``settings.max_decoded_ratio`` times its bytes on the wire is refused
        too, long before the limit (a decompression bomb, not a table or an archive).
        """
        total = 0
        ratio = self.settings.max_decoded_ratio
        async for chunk in response.aiter_bytes(chunk_size):
            total += len(chunk)
            if total > limit:
                await response.aclose()
                raise self.too_large(page, limit, setting)
            if total > RATIO_CHECKED_FROM and total > ratio * max(1, response.num_bytes_downloaded):
                wire = response.num_bytes_downloaded
                await response.aclose()
                raise ResponseTooLargeError(
                    f"ExoFOP's {page or '/tess/'} sent {format_bytes(wire)} that decoded to more than "
                    f"{format_bytes(total)}, over {ratio:g} times as much: a decompression bomb, not a table or an "
                    "archive. It was refused before it could fill the disk or the memory.",
                    hint="Try again later (run `exofop-mcp doctor` to see what the site sends); if such answers "
                    "are really expected, raise EXOFOP_MCP_MAX_DECODED_RATIO.",
                )
            yield chunk

    async def read_body(self, response: httpx.Response, page: str, *, limit: int) -> bytes:
        """Read a streamed ``response``'s body (at most ``limit`` decoded bytes); its text is UTF-8.

        ExoFOP's tables and pages are UTF-8 whatever the ``Content-Type`` header claims.
        """
        parts = [
            chunk async for chunk in self.body_chunks(response, page, limit=limit, setting="EXOFOP_MCP_MAX_PAGE_BYTES")
        ]
        response._content = b"".join(parts)
        response.encoding = "utf-8"
        return response._content

    @contextlib.asynccontextmanager
    async def stream_attempt(
        self,
        page: str,
        params: Mapping[str, Any] | None = None,
        *,
        cookies: Mapping[str, str] | None = None,
        header_timeout: float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """``async with client.stream_attempt(page, params) as response``: one attempt, the body not read yet.

        Whatever the status; a network error (connecting or mid-body) raises :class:`TransientFailure`
        with ``cause`` set, a redirect to another site :class:`ForeignRedirectError`.  Read the body with
        :meth:`body_chunks` (it bounds the decoded size).  Retrying is the caller's: wrap the attempt in
        :meth:`retrying`.  The attempt holds one of the archive lanes (:class:`RequestLanes`) until the
        block ends: finish with the bytes inside it and do slow work on them (fsync, unpacking) after it.
        """
        query = _clean(params)
        timeout: httpx.Timeout | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
        if header_timeout is not None:
            # The read timeout covers the wait for the headers (a large zip is built before its first byte);
            # once the body flows, the caller's stall window is the tighter limit.
            settings = self.settings
            timeout = httpx.Timeout(
                connect=settings.connect_timeout,
                read=max(header_timeout, settings.read_timeout),
                write=settings.read_timeout,
                pool=None,
            )
        request = self._pool.build_request("GET", page, params=query, headers=cookie_header(cookies), timeout=timeout)
        try:
            async with self.lanes.archive():
                self.requests_sent += 1
                sent = self.lanes.sending()

                async def trace(event: str, info: Mapping[str, Any]) -> None:
                    if event.endswith("send_request_body.complete"):
                        sent()

                request.extensions = {**request.extensions, "trace": trace}
                try:
                    response = await self._headers_within(request, page, cookies, header_timeout)
                finally:
                    sent()
                try:
                    yield response
                finally:
                    await response.aclose()
        except httpx.TransportError as exc:
            raise self._transient(exc, page, query) from None

    async def _headers_within(
        self, request: httpx.Request, page: str, cookies: Mapping[str, str] | None, seconds: float | None
    ) -> httpx.Response:
        """:meth:`_send`, the response headers bounded as a whole by ``seconds`` (not only byte to byte).

        Headers that trickle in a byte at a time never trip the read timeout; past ``seconds`` the
        attempt fails as a timeout (:class:`TransientFailure`), which the caller's policy may retry.
        """
        if seconds is None:
            return await self._send(request, page, cookies=cookies)
        try:
            async with asyncio.timeout(seconds):
                return await self._send(request, page, cookies=cookies)
        except TimeoutError:
            raise TransientFailure(
                f"ExoFOP sent no complete response headers for {page} within {seconds:g} s "
                "(EXOFOP_MCP_HEADER_WAIT_SECONDS)",
                timed_out=True,
            ) from None

    def cookie_session(self) -> CookieSession:
        """Requests with a private cookie jar (a login), on this client's pool, User-Agent and timeouts."""
        return CookieSession(self)

    def unreachable(
        self,
        failure: TransientFailure,
        subject: str,
        *,
        hint: str = "Check your network connection and EXOFOP_BASE_URL, or try again later.",
    ) -> ExofopUnreachableError:
        """The error for a request that got no answer after retries (``subject``: the page, 'the login', ...)."""
        description = failure.reason
        if isinstance(failure.cause, httpx.ReadTimeout):
            hint = (
                "ExoFOP accepted the connection but sent nothing: it does this when it throttles a computer (after "
                "many requests, such as repeated downloads of the whole TOI table), and it clears by itself. Wait a "
                "few minutes and try again later, with fewer requests at once (EXOFOP_MCP_CONCURRENCY); if it "
                "persists, check your network connection and EXOFOP_BASE_URL."
            )
        return ExofopUnreachableError(
            f"ExoFOP at {self.settings.base_url} is unreachable: {subject} {failure.kind} after "
            f"{failure.attempts} attempt(s) ({description}).",
            description=description,
            attempts=failure.attempts,
            hint=hint,
        )

    # -- pages ---------------------------------------------------------------------------------------

    async def fetch(
        self,
        page: str,
        params: Mapping[str, Any] | None = None,
        *,
        cookies: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
    ) -> Answer:
        """GET a page, retrying network errors, 429 and 5xx; the last answer whatever its status, body read.

        An empty ``2xx`` body is retried too (ExoFOP's way of throttling); when it stays empty, the last
        (empty) answer is returned.  Everything, retries included, is bounded by
        ``settings.page_deadline_seconds`` (:meth:`page_deadline`).  Raises
        :class:`ExofopUnreachableError` when no attempt got an answer.
        """

        async def attempt(number: int) -> Answer:
            response = await self._attempt("GET", page, params, cookies=cookies)
            if is_retryable_status(response.status_code):
                raise TransientFailure(
                    f"HTTP {response.status_code}",
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    response=response,
                )
            if response.is_success and _blank(response.content):
                raise TransientFailure(EMPTY_ANSWER, response=response, empty=True)
            return Answer(response, number)

        try:
            async with self.page_deadline(page):
                return await self.retrying(page or "/tess/", attempt, policy=policy)
        except TransientFailure as failure:
            if failure.response is not None:
                return Answer(failure.response, failure.attempts)
            raise self.unreachable(failure, page or "/tess/") from None

    async def get(
        self,
        page: str,
        params: Mapping[str, Any] | None = None,
        *,
        logged_in: bool = False,
    ) -> httpx.Response:
        """GET a page with retries; return the final successful (2xx) response, body read.

        With ``logged_in``, the request carries a stored login session when one is free (waiting a
        few seconds at most, so a table is not stuck behind long downloads), else goes anonymously.
        """
        if logged_in and self.sessions is not None:
            async with self.sessions.lease(timeout=5.0) as cookies:
                return await self._get(page, params, cookies)
        return await self._get(page, params, None)

    async def _get(
        self, page: str, params: Mapping[str, Any] | None, cookies: Mapping[str, str] | None
    ) -> httpx.Response:
        answer = await self.fetch(page, params, cookies=cookies)
        response = answer.response
        if response.is_success and _blank(response.content):
            raise self.throttled(page, answer.attempts)
        if response.is_success:
            return response
        retry_after = None
        if is_retryable_status(response.status_code):
            asked = parse_retry_after(response.headers.get("Retry-After"))
            if asked is not None and asked > self.retry.max_retry_after:
                retry_after = asked
        raise _http_error(page, response, answer.attempts, retry_after)

    async def get_text(self, page: str, params: Mapping[str, Any] | None = None, *, logged_in: bool = False) -> str:
        response = await self.get(page, params, logged_in=logged_in)
        return response.text

    async def get_json(self, page: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.get(page, params)
        try:
            return json.loads(response.text)
        except (ValueError, RecursionError):  # RecursionError: arrays or objects nested thousands deep
            snippet = " ".join(response.text[:80].split())
            raise ExofopResponseError(
                f"ExoFOP's {page} did not answer JSON (it began {snippet!r}).",
                hint="The site may be down or its interface changed; run `exofop-mcp doctor`.",
            ) from None

    async def read_lines(
        self,
        page: str,
        params: Mapping[str, Any] | None,
        consume: Callable[[AsyncIterator[list[str]]], Awaitable[T]],
    ) -> T:
        """GET a page with retries, handing its body to ``consume`` as it arrives, a few lines at a time.

        The lines (UTF-8, split at ``\\n`` only, without it) come in batches as the body streams, at most
        ``settings.max_page_bytes`` decoded in all, so a large table is never held whole.  A failure
        mid-body retries the whole request: ``consume`` is called afresh and must start over.  Errors
        are those of :meth:`get`.  The request takes the small lane while it streams.
        """
        query = _clean(params)

        async def attempt(number: int) -> T:
            request = self._pool.build_request("GET", page, params=query)
            try:
                async with self.lanes.small():
                    self.requests_sent += 1
                    response = await self._send(request, page)
                    try:
                        if not response.is_success:
                            await self.read_body(response, page, limit=self.settings.max_page_bytes)
                            if is_retryable_status(response.status_code):
                                raise TransientFailure(
                                    f"HTTP {response.status_code}",
                                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                    response=response,
                                )
                            raise _http_error(page, response, number, None)
                        limit = self.settings.max_page_bytes
                        chunks = self.body_chunks(response, page, limit=limit, setting=_PAGE_LIMIT)
                        first = await _first_bytes(chunks)
                        if _blank(first):
                            raise TransientFailure(EMPTY_ANSWER, response=response, empty=True)
                        return await consume(self._line_batches(first, chunks))
                    finally:
                        await response.aclose()
            except httpx.TransportError as exc:
                raise self._transient(exc, page, query) from None

        try:
            async with self.page_deadline(page):
                return await self.retrying(page or "/tess/", attempt)
        except TransientFailure as failure:
            if failure.response is None:
                raise self.unreachable(failure, page or "/tess/") from None
            if failure.empty:
                raise self.throttled(page, failure.attempts) from None
            asked = parse_retry_after(failure.response.headers.get("Retry-After"))
            retry_after = asked if asked is not None and asked > self.retry.max_retry_after else None
            raise _http_error(page, failure.response, failure.attempts, retry_after) from None

    def throttled(self, page: str, attempts: int) -> ExofopThrottledError:
        """The error for a page that stayed empty through ``attempts`` tries: ExoFOP is throttling."""
        return ExofopThrottledError(
            f"ExoFOP answered {page or '/tess/'} with an empty page {attempts} time(s) in a row: the site is "
            "throttling requests (it answers nothing instead of saying so). This is not an empty result: a "
            "table without rows still has its header line.",
            hint="Wait a few minutes and try again, with fewer requests at once (lower EXOFOP_MCP_CONCURRENCY, now "
            f"{self.settings.concurrency}). Answers from the cached TOI catalog keep working meanwhile.",
        )

    async def _line_batches(self, first: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[list[str]]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        rest = ""
        async for chunk in _prepend(first, chunks):
            *lines, rest = (rest + decoder.decode(chunk)).split("\n")
            if lines:
                yield lines
        rest += decoder.decode(b"", final=True)
        if rest:
            yield [rest]


def _blank(body: bytes) -> bool:
    """Whether a body is empty or only whitespace (looked at without copying it)."""
    return not body or body.isspace()


async def _first_bytes(chunks: AsyncIterator[bytes]) -> bytes:
    """The start of a body up to its first chunk holding more than whitespace (all of it if none does)."""
    parts: list[bytes] = []
    async for chunk in chunks:
        parts.append(chunk)
        if not _blank(chunk):
            break
    return b"".join(parts)


async def _prepend(first: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in chunks:
        yield chunk


def _clean(params: Mapping[str, Any] | None) -> dict[str, str]:
    if not params:
        return {}
    return {k: ("" if v is True else str(v)) for k, v in params.items() if v is not None and v is not False}


def _http_error(page: str, response: httpx.Response, attempts: int, retry_after: float | None) -> ExofopHTTPError:
    status = response.status_code
    if status == 429:
        wait = f" It asks to wait {retry_after:.0f} s." if retry_after else ""
        return ExofopHTTPError(
            f"ExoFOP is rate-limiting requests (HTTP 429 on {page}).{wait}",
            status,
            hint="Wait a minute and try again, or lower EXOFOP_MCP_CONCURRENCY.",
        )
    if status >= 500:
        return ExofopHTTPError(
            f"ExoFOP had a server error (HTTP {status}) on {page}, {attempts} attempt(s).",
            status,
            hint="The site may be under maintenance; try again later.",
        )
    return ExofopHTTPError(
        f"ExoFOP refused {page} with HTTP {status}.",
        status,
        hint="Check EXOFOP_BASE_URL; if it is right, the site's interface may have changed (run `exofop-mcp doctor`).",
    )

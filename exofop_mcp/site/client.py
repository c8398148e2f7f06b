"""The one HTTP client that talks to ExoFOP.

One :class:`httpx.AsyncClient` per process (one connection pool), separate
connect and read timeouts, a ``User-Agent`` naming exofop-mcp and its version,
and retries with backoff and jitter for transient failures.  Every failure
comes out as one of the project's errors with a message that says what to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from exofop_mcp import __version__
from exofop_mcp.auth.session_pool import SessionPool, cookie_header, non_persistent_cookies
from exofop_mcp.errors import ExofopHTTPError, ExofopResponseError, ExofopUnavailableError
from exofop_mcp.settings import Settings
from exofop_mcp.site.retry_policy import RetryPolicy, is_retryable_status, parse_retry_after

log = logging.getLogger(__name__)

USER_AGENT = f"exofop-mcp/{__version__} (+https://pypi.org/project/exofop-mcp/)"


class ExofopClient:
    """Async access to ExoFOP-TESS pages (``{base_url}/tess/<page>``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sessions: SessionPool | None = None,
    ) -> None:
        self.settings = settings
        #: Stored ExoFOP login sessions; pages asked for ``logged_in=True`` carry one when available.
        self.sessions = sessions
        self.retry = retry or RetryPolicy(max_retries=settings.max_retries, base_delay=settings.retry_base_delay)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        #: Count of HTTP requests sent (including retries), for diagnostics and benchmarks.
        self.requests_sent = 0

    @property
    def http(self) -> httpx.AsyncClient:
        """The connection pool, built at first use: an answer from the caches never pays for its TLS setup."""
        if self._http is None:
            self._http = self._build_http()
        return self._http

    def _build_http(self) -> httpx.AsyncClient:
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
            # The client's own jar keeps nothing: a session cookie is sent only when one is leased,
            # so anonymous requests never drag a stray PHPSESSID (and PHP's session lock) along.
            cookies=non_persistent_cookies(),
            follow_redirects=True,
            transport=self._transport,
        )

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

    async def _get(self, page: str, params: Mapping[str, Any] | None, cookies: dict[str, str] | None) -> httpx.Response:
        query = _clean(params)
        attempt = 0
        while True:
            attempt += 1
            try:
                self.requests_sent += 1
                response = await self.http.get(page, params=query, headers=cookie_header(cookies))
            except httpx.TransportError as exc:
                if attempt > self.retry.max_retries:
                    raise _unavailable(self.settings.base_url, page, exc, attempt) from None
                delay = self.retry.delay(attempt)
                log.info("ExoFOP %s: %s; retrying in %.1f s", page, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            if response.is_success:
                return response
            if is_retryable_status(response.status_code) and attempt <= self.retry.max_retries:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.retry.max_retry_after:
                    raise _http_error(page, response, attempt, retry_after)
                delay = self.retry.delay(attempt, retry_after)
                log.info("ExoFOP %s: HTTP %s; retrying in %.1f s", page, response.status_code, delay)
                await asyncio.sleep(delay)
                continue
            raise _http_error(page, response, attempt, None)

    async def get_text(self, page: str, params: Mapping[str, Any] | None = None, *, logged_in: bool = False) -> str:
        response = await self.get(page, params, logged_in=logged_in)
        return response.text

    async def get_json(self, page: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.get(page, params)
        try:
            return json.loads(response.text)
        except ValueError:
            snippet = " ".join(response.text[:80].split())
            raise ExofopResponseError(
                f"ExoFOP's {page} did not answer JSON (it began {snippet!r}).",
                hint="The site may be down or its interface changed; run `exofop-mcp doctor`.",
            ) from None


def _clean(params: Mapping[str, Any] | None) -> dict[str, str]:
    if not params:
        return {}
    return {k: ("" if v is True else str(v)) for k, v in params.items() if v is not None and v is not False}


def transport_failure(exc: httpx.TransportError) -> str:
    """What went wrong on the wire, in a few words: 'timed out', 'could not connect', ..."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    return f"lost the connection ({type(exc).__name__})"


def _unavailable(base_url: str, page: str, exc: httpx.TransportError, attempts: int) -> ExofopUnavailableError:
    return ExofopUnavailableError(
        f"ExoFOP at {base_url} is unreachable: {page} {transport_failure(exc)} after {attempts} attempt(s).",
        hint="Check your network connection and EXOFOP_BASE_URL, or try again later.",
    )


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

"""Logging in to ExoFOP: the site's own form, run in the user's terminal, never through an assistant.

The flow, once per session:

1. ``GET /tess/login.php?ref=%2Ftess%2F`` sets a ``PHPSESSID`` cookie;
2. ``POST /tess/password_check.php`` with ``username``, ``password``, ``ref=login_user`` and
   ``ref_page=/tess/``, following redirects (within the site only).  A page saying ``Invalid username or
   password`` means the account was rejected.  Where success lands is not documented, so it is never
   decided from one redirect target: the login is good when the answer lacks the rejection text, a
   session cookie was set, and the final page is a 2xx that is not the login form (a redirect to
   ``/tess/index.php``, to ``ref_page`` ``/tess/``, or a 200 page all qualify).

PHP serves one request at a time per session, so parallel downloads need several sessions: :func:`login`
logs in ``sessions`` times with independent cookie jars.  The first login runs alone, so a wrong
password costs one attempt, not one per session.

Nothing here logs the password or a cookie value: only the username and how many sessions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.session_store import SESSION_COOKIE, StoredSession, store_login, utc_now
from exofop_mcp.errors import (
    ConfigurationError,
    ExofopHTTPError,
    ExofopUnavailableError,
    InvalidRequestError,
    LoginFailedError,
    LoginUnconfirmedError,
)
from exofop_mcp.settings import MAX_CONCURRENCY, Settings
from exofop_mcp.site.client import ExofopClient, TransientFailure
from exofop_mcp.site.responses import sniff_body
from exofop_mcp.site.retry_policy import RetryPolicy, is_retryable_status, parse_retry_after

log = logging.getLogger(__name__)

LOGIN_PAGE = "login.php"
PASSWORD_CHECK_PAGE = "password_check.php"
SUCCESS_PAGE = "index.php"
INVALID_LOGIN_TEXT = "Invalid username or password"
#: How long a session lasts when the site's cookie does not say (ExoFOP keeps logins about a week).
DEFAULT_SESSION_LIFETIME = timedelta(days=7)
#: Only the start of an answer is searched for the rejection text.
_MAX_BODY_SCAN = 1_000_000


class _Busy(TransientFailure):
    """The site answered HTTP 429 or a server error on one page of the login flow: worth another attempt."""

    def __init__(self, page: str, response: httpx.Response) -> None:
        super().__init__(
            f"HTTP {response.status_code} on {page}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            response=response,
        )
        self.page = page
        self.status_code = response.status_code


MAX_SESSIONS = MAX_CONCURRENCY + 1


def default_session_count(settings: Settings) -> int:
    """One session per parallel download, plus one so that table requests never wait behind downloads."""
    return settings.concurrency + 1


async def login(
    settings: Settings,
    credentials: Credentials,
    sessions: int | None = None,
    *,
    store: bool = True,
    retry: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[StoredSession]:
    """Log in ``sessions`` times (default :func:`default_session_count`) and return the new sessions.

    With ``store`` (the default) they replace the user's stored sessions in
    ``<config_dir>/sessions.json`` and the user becomes the active one.

    Raises :class:`LoginFailedError` when ExoFOP rejects the account (one attempt only, no retry),
    :class:`ExofopUnavailableError` when the site cannot be reached, :class:`ExofopHTTPError` when it
    answers with a server error, and :class:`LoginUnconfirmedError` when the answer is neither a
    welcome nor a rejection.  If the first session succeeds and some others fail for a transient
    reason, the sessions that worked are kept (a warning says how many).
    """
    count = default_session_count(settings) if sessions is None else sessions
    if not 1 <= count <= MAX_SESSIONS:
        raise InvalidRequestError(
            f"The number of sessions must be between 1 and {MAX_SESSIONS}, got {count}.",
            hint="Each session carries one download at a time; a handful is plenty.",
        )
    _check_secure(settings)
    policy = retry or RetryPolicy(max_retries=settings.max_retries, base_delay=settings.retry_base_delay)
    log.info("logging in to ExoFOP as %s (%d session(s))", credentials.username, count)

    async with ExofopClient(settings, retry=policy, transport=transport) as client:
        first = await _login_with_retries(client, credentials)
        results: list[StoredSession] = [first]
        others: list[StoredSession | BaseException] = []
        if count > 1:
            others = await asyncio.gather(
                *(_login_with_retries(client, credentials) for _ in range(count - 1)),
                return_exceptions=True,
            )
    if others:
        failures: list[BaseException] = []
        for outcome in others:
            if isinstance(outcome, StoredSession):
                results.append(outcome)
            elif isinstance(outcome, Exception):
                failures.append(outcome)
            else:  # CancelledError, KeyboardInterrupt: not ours to swallow
                raise outcome
        hard = [f for f in failures if not isinstance(f, ExofopUnavailableError | ExofopHTTPError)]
        if hard:
            raise hard[0]
        if failures:
            log.warning(
                "only %d of %d ExoFOP sessions could be opened for %s (%s); downloads will run with fewer connections",
                len(results),
                count,
                credentials.username,
                type(failures[0]).__name__,
            )
    if store:
        await asyncio.to_thread(store_login, settings.config_dir, credentials.username, results)
    log.info("logged in to ExoFOP as %s: %d session(s)", credentials.username, len(results))
    return results


async def _login_with_retries(client: ExofopClient, credentials: Credentials) -> StoredSession:
    """One session, the whole flow tried again (with a fresh cookie jar) after a transient failure."""
    try:
        return await client.retrying("login", lambda _attempt: login_once(client, credentials))
    except _Busy as failure:
        raise _server_error(failure.page, failure.status_code, failure.attempts) from None
    except TransientFailure as failure:
        raise _unreachable(client, failure) from None


async def login_once(client: ExofopClient, credentials: Credentials) -> StoredSession:
    """One pass through the site's login flow with a fresh cookie jar; the new session.

    Transient failures raise :class:`~exofop_mcp.site.client.TransientFailure` (use :func:`login`,
    which retries them).
    """
    session, _ = await login_once_answer(client, credentials)
    return session


async def login_once_answer(client: ExofopClient, credentials: Credentials) -> tuple[StoredSession, httpx.Response]:
    """:func:`login_once`, with the password check's final answer (its redirects in ``history``)."""
    settings = client.settings
    _check_secure(settings)
    session = client.cookie_session()
    started = utc_now().replace(microsecond=0)
    form_page = await session.get(LOGIN_PAGE, {"ref": "/tess/"})
    _check_transient(form_page, LOGIN_PAGE)
    if not form_page.is_success:
        # Never send the password to a page that is not the site's login form.
        raise LoginUnconfirmedError(
            f"ExoFOP's login page answered HTTP {form_page.status_code} "
            f"({form_page.url.path or '/'}); the password was not sent.",
            hint="Check EXOFOP_BASE_URL (it should be https://exofop.ipac.caltech.edu) and try again.",
        )
    answer = await session.post(
        PASSWORD_CHECK_PAGE,
        data={
            "username": credentials.username,
            "password": credentials.password,
            "ref": "login_user",
            "ref_page": "/tess/",
        },
    )
    stored = _evaluate(settings, credentials, session.cookies, answer, started)
    return dataclasses.replace(stored, landing=landing_shape(answer)), answer


def landing_shape(answer: httpx.Response) -> str:
    """Where the password check led: ``redirect_index``, ``redirect_ref_page``, ``redirect_other`` or ``page``."""
    final = f"HTTP {answer.status_code} at {answer.url.path}"
    if not answer.history:
        return f"page: {final}, no redirect"
    first = answer.history[0]
    location = httpx.URL(first.headers.get("Location", "")).path or "?"
    more = len(answer.history) - 1
    hops = f"{first.status_code} to {location}" + (f" (+{more} more)" if more else "")
    if location.endswith("/index.php"):
        code = "redirect_index"
    elif location.rstrip("/").endswith("/tess"):
        code = "redirect_ref_page"
    else:
        code = "redirect_other"
    return f"{code}: {hops}, then {final}"


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _check_secure(settings: Settings) -> None:
    """Refuse to send a password in clear text over the network (plain http is fine on this machine only)."""
    parts = urlsplit(settings.base_url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and not (host in LOOPBACK_HOSTS or host.startswith("127.")):
        raise ConfigurationError(
            f"Refusing to send the ExoFOP password over plain http to {settings.base_url}.",
            hint="Use https (EXOFOP_BASE_URL=https://exofop.ipac.caltech.edu).",
        )


def _check_transient(response: httpx.Response, page: str) -> None:
    status = response.status_code
    if status >= 500 or is_retryable_status(status):
        raise _Busy(page, response)


def _evaluate(
    settings: Settings,
    credentials: Credentials,
    cookies: httpx.Cookies,
    answer: httpx.Response,
    started: datetime,
) -> StoredSession:
    _check_transient(answer, PASSWORD_CHECK_PAGE)
    body = answer.text[:_MAX_BODY_SCAN] if answer.content else ""
    if INVALID_LOGIN_TEXT.lower() in body.lower():
        raise LoginFailedError(
            f"ExoFOP rejected the login for {credentials.username}: Invalid username or password.",
            hint="Check the username and password (they are those of the ExoFOP web site) and run "
            "`exofop-mcp login` again.",
        )
    if not answer.is_success or sniff_body(answer.content) == "html_login":
        where = answer.url.path or "/"
        what = "its login form again" if answer.is_success else f"HTTP {answer.status_code}"
        raise LoginUnconfirmedError(
            f"Could not confirm the ExoFOP login for {credentials.username}: after the password check the site "
            f"answered {what} at {where}, neither a welcome nor a rejection.",
            hint="Check EXOFOP_BASE_URL and try `exofop-mcp login` again; if it keeps happening, the site's login "
            "form may have changed.",
        )

    cookie = _session_cookie(cookies)
    if cookie is None:
        raise LoginUnconfirmedError(
            f"ExoFOP accepted the login for {credentials.username} but set no {SESSION_COOKIE} cookie.",
            hint="Try `exofop-mcp login` again; if it keeps happening, the site's login may have changed.",
        )
    value, expires_epoch = cookie
    now = utc_now()
    expires = (
        datetime.fromtimestamp(expires_epoch, UTC) if expires_epoch is not None else started + DEFAULT_SESSION_LIFETIME
    )
    if expires <= now:
        raise LoginUnconfirmedError(
            f"ExoFOP accepted the login for {credentials.username} but its session cookie has already expired.",
            hint="Check this computer's clock, then run `exofop-mcp login` again.",
        )
    return StoredSession(
        cookie_name=SESSION_COOKIE, cookie_value=value, created=started, expires=expires, origin=settings.origin
    )


def _session_cookie(cookies: httpx.Cookies) -> tuple[str, int | None] | None:
    """The session cookie the site left in the jar: (value, expiry as epoch seconds or None)."""
    found: tuple[str, int | None] | None = None
    for cookie in cookies.jar:
        if cookie.name != SESSION_COOKIE or not cookie.value:
            continue
        # Prefer the cookie carrying an expiry (the one set when the login succeeded).
        if found is None or (found[1] is None and cookie.expires is not None):
            found = (cookie.value, cookie.expires)
    return found


def _unreachable(client: ExofopClient, failure: TransientFailure) -> ExofopUnavailableError:
    return client.unreachable(
        failure,
        "the login",
        hint="Check your network connection and EXOFOP_BASE_URL, or try again later. Your password was not "
        "rejected: nothing was checked.",
    )


def _server_error(page: str, status: int, attempts: int) -> ExofopHTTPError:
    if status == 429:
        return ExofopHTTPError(
            f"ExoFOP is rate-limiting requests (HTTP 429 on {page}) while logging in.",
            status,
            hint="Wait a minute and run `exofop-mcp login` again.",
        )
    return ExofopHTTPError(
        f"ExoFOP had a server error (HTTP {status}) on {page} while logging in, {attempts} attempt(s).",
        status,
        hint="The site may be under maintenance; try `exofop-mcp login` again later. Your password was not rejected.",
    )

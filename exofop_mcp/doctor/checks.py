"""``exofop-mcp doctor``: does the configured ExoFOP site still behave the way exofop-mcp assumes?

Each check asks the site one small question and judges the answer with the same code the tools use
(:func:`~exofop_mcp.site.pipe_table.check_pipe_table`, :func:`~exofop_mcp.site.pipe_table.read_pipe_table`, the
record models, :func:`~exofop_mcp.site.catalog.parse_toi_table`, :func:`~exofop_mcp.downloads.archive_safety.sniff_body`
and :func:`~exofop_mcp.downloads.archive_safety.inspect_zip`), so a PASS here means the tools will understand
the site, and a FAIL names what changed: what was expected, what came back (status, first bytes,
columns) and a block to paste into a bug report.

The checks, in order:

``reachable``
    ``<base>/tess/`` answers; DNS, refused connections, TLS and timeouts are told apart.
``toi_table`` / ``toi_table_full``
    ``download_toi.php?toi=N&output=pipe`` parses with the columns the catalog reads, has a row for
    the host and its RA/Dec convert; with ``full``, the whole table parses and has thousands of rows.
``name_resolver``
    ``gototicid.php?target=...&json`` answers ``{"status":"OK","num":1,"TIC":"..."}``.
``time_series``, ``spectroscopy``, ``imaging``, ``stellar_companions``
    the star's observation tables parse; missing required columns fail, missing documented columns
    and unexpected extra columns warn.
``tag_download``
    one public tag's ``download_tag_files_zip.php`` answer is a valid zip (checked in a temporary
    directory that is removed afterwards); whether ``Content-Length`` was sent is reported.
``login`` / ``session``
    the stored login state and its expiry; with ``check_session``, one request asks the site whether
    the stored session is still accepted.
``settings``
    the data, cache and config directories exist or can be created, and are writable.

Nothing is written outside a temporary directory, the login state is only read, and no cookie or
password ever appears in a report.  Plain async over the core: no MCP imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import errno
import json
import os
import platform
import re
import socket
import ssl
import tempfile
import time
import zipfile
import zlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, Field

from exofop_mcp import __version__
from exofop_mcp.auth.login_status import RENEW_BEFORE_HOURS, current_login_status
from exofop_mcp.auth.session_pool import SessionPool, cookie_header
from exofop_mcp.auth.session_store import load_sessions
from exofop_mcp.downloads.archive_extraction import inspect_zip
from exofop_mcp.downloads.archive_plan import ZipPlan
from exofop_mcp.downloads.transfer import TAG_ZIP_PAGE
from exofop_mcp.errors import ArchiveError, CorruptArchive, ExofopMcpError, UnsafeArchive
from exofop_mcp.settings import Settings
from exofop_mcp.site.catalog import CatalogEntry, parse_toi_table
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.pipe_table import check_pipe_table, read_pipe_table, split_header
from exofop_mcp.site.records import (
    ImagingObservation,
    SpectroscopyObservation,
    StellarCompanion,
    TableRecord,
    TimeSeriesObservation,
    TOIRecord,
)
from exofop_mcp.site.resolver import NAME_RESOLVER_PAGE
from exofop_mcp.site.resolver import tic_list as _tic_list
from exofop_mcp.site.responses import describe_bytes, sniff_body
from exofop_mcp.site.retry_policy import RetryPolicy, is_retryable_status, parse_retry_after

CheckStatus = Literal["PASS", "WARN", "FAIL", "SKIP"]

DEFAULT_TOI = 1130
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 1
#: The whole TOI table has ~7,700 rows; fewer than this means it is not the whole table.
MIN_FULL_TOI_ROWS = 1000
#: A tag larger than this is not downloaded whole: only its first bytes are checked.
DEFAULT_MAX_TAG_BYTES = 64 * 1024 * 1024
#: A Retry-After longer than this is not waited for by the doctor: the answer is reported as it is.
MAX_RETRY_AFTER = 10.0
SNIFF_BYTES = 64 * 1024
TEMP_PREFIX = "exofop-mcp-doctor-"

#: Check names, in the order they run, with a short title each.
CHECK_TITLES: dict[str, str] = {
    "reachable": "base URL reachable",
    "toi_table": "TOI table, one host",
    "toi_table_full": "TOI table, whole",
    "name_resolver": "name resolver",
    "time_series": "time-series table",
    "spectroscopy": "spectroscopy table",
    "imaging": "imaging table",
    "stellar_companions": "stellar companions table",
    "tag_download": "tag archive download",
    "login": "login state",
    "session": "stored session accepted",
    "settings": "settings and directories",
}
#: Checks about the site's behaviour (what a bug report is about); the others are about this computer.
SITE_CHECKS = frozenset(
    {
        "reachable",
        "toi_table",
        "toi_table_full",
        "name_resolver",
        "time_series",
        "spectroscopy",
        "imaging",
        "stellar_companions",
        "tag_download",
    }
)

ObservationCheck = Literal["time_series", "spectroscopy", "imaging", "stellar_companions"]
OBSERVATION_RECORDS: dict[ObservationCheck, type[TableRecord]] = {
    "time_series": TimeSeriesObservation,
    "spectroscopy": SpectroscopyObservation,
    "imaging": ImagingObservation,
    "stellar_companions": StellarCompanion,
}


#: The observation tables' columns as documented (exofop-api.md, "Columns (pipe output)").
def _pipe(header: str) -> tuple[str, ...]:
    return tuple(header.split("|"))


DOCUMENTED_COLUMNS: dict[ObservationCheck, tuple[str, ...]] = {
    "time_series": _pipe(
        "TIC ID|TIC|TOI|Telescope|Camera|Filter|Pixel Scale|PSF|Phot Aperture Rad|Obs Date|Obs Duration|Num Obs"
        "|Obs Type|Transit Coverage|Delta Mag|User|Group|Tag|Notes"
    ),
    "spectroscopy": _pipe(
        "TIC ID|TIC|TOI|Telescope|Instrument|Spectral resolution|Wavelength coverage|SNR/resolution"
        "|SNR wavelength|Appropriate to PRV|Obs Date|User|Group|Tag|Notes"
    ),
    "imaging": _pipe(
        "TIC ID|TIC|TOI|Telescope|Instrument|Filter|Image Type|Pixel Scale|PSF|Contrast|Obs Date|User|Group|Tag|Notes"
    ),
    "stellar_companions": _pipe(
        "TIC ID|TOI|Separation (arcsec)|Separation (arcsec) Error|Pos Angle E of N (deg)"
        "|Pos Angle E of N (deg) Error|Filter|Delta Mag|Delta Mag Error|Observation Date (UT)|Date|User|Group|Tag"
        "|Notes"
    ),
}
_KIND_OF: dict[type[TableRecord], ObservationCheck] = {record: kind for kind, record in OBSERVATION_RECORDS.items()}
#: TOI-table column that counts each observation kind (to tell "no rows" from "rows expected").
_TOI_COUNT_FIELDS: dict[ObservationCheck, str] = {
    "time_series": "time_series_count",
    "spectroscopy": "spectroscopy_count",
    "imaging": "imaging_count",
}


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


class Check(BaseModel):
    """The outcome of one check."""

    name: str = Field(description="stable identifier, e.g. 'toi_table'")
    title: str = Field(description="what was checked, for people")
    status: CheckStatus = Field(description="PASS, WARN (works, but differs from what is documented), FAIL or SKIP")
    summary: str = Field(description="one line: what was found")
    details: list[str] = Field(default_factory=list, description="further observations, one per line")
    expected: str | None = Field(None, description="what exofop-mcp expects (for WARN and FAIL)")
    got: str | None = Field(None, description="what came back: status, first bytes, columns")
    url: str | None = Field(None, description="the URL asked (never carries a cookie or password)")
    http_status: int | None = Field(None, description="HTTP status of the last answer")
    seconds: float | None = Field(None, description="time the check took")
    hint: str | None = Field(None, description="what to do about it")


class DoctorReport(BaseModel):
    """Everything ``exofop-mcp doctor`` found (what ``--json`` prints)."""

    version: str = Field(description="exofop-mcp version")
    versions: dict[str, str] = Field(description="versions of Python, the platform and the main libraries")
    base_url: str = Field(description="the ExoFOP base URL checked")
    started_at: datetime
    seconds: float
    options: dict[str, Any] = Field(default_factory=dict)
    status: Literal["PASS", "WARN", "FAIL"] = Field(description="FAIL if any check failed, else WARN if any warned")
    exit_code: int = Field(description="0 when nothing failed (warnings allowed), 1 when a check failed")
    counts: dict[str, int] = Field(description="checks per status")
    checks: list[Check]
    report_text: str | None = Field(
        None, description="a ready-to-paste block describing the site checks that failed or warned"
    )

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)


@dataclass(frozen=True)
class DoctorOptions:
    """What to check and how long to wait."""

    #: A host TOI that exists (its rows, its star's tables and one of its tags are checked).
    toi: int = DEFAULT_TOI
    #: What the name resolver is asked (default ``TOI-<toi>``).
    target: str | None = None
    #: The tag to download (default: the first tag of the star's time-series table).
    tag: int | None = None
    #: Also download and parse the whole TOI table (~3.6 MB).
    full: bool = False
    #: Seconds each check may take.
    timeout: float = DEFAULT_TIMEOUT
    #: Extra attempts after a transient failure (connection error, 429, 5xx).
    retries: int = DEFAULT_RETRIES
    #: Ask the site once whether the stored login session is accepted.
    check_session: bool = False
    max_tag_bytes: int = DEFAULT_MAX_TAG_BYTES

    @property
    def resolver_target(self) -> str:
        return self.target or f"TOI-{self.toi}"


# --------------------------------------------------------------------------------------------------
# Describing what went wrong
# --------------------------------------------------------------------------------------------------


def public_url(url: str | httpx.URL) -> str:
    """``url`` without any ``user:password@`` part."""
    parts = urlsplit(str(url))
    if "@" not in parts.netloc:
        return str(url)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


_COOKIE_VALUE = re.compile(r"(PHPSESSID\s*[=:]\s*)[^;\s&\"',]+", re.IGNORECASE)


def scrub(text: str) -> str:
    """Blank session cookie values that might have found their way into a message."""
    return _COOKIE_VALUE.sub(r"\1<redacted>", text)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(chain) < 20:
        current = todo.pop(0)
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        for nested in (current.__cause__, current.__context__):
            if nested is not None:
                todo.append(nested)
        for inner in getattr(current, "exceptions", ()) or ():  # ExceptionGroup
            if isinstance(inner, BaseException):
                todo.append(inner)
    return chain


_DNS_TEXT = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "name resolution",
)


def describe_transport_error(
    exc: BaseException, url: str | httpx.URL, *, connect_timeout: float, read_timeout: float
) -> str:
    """A precise, one-line account of why a request got no answer (DNS, refused, TLS, timeout...)."""
    parsed = httpx.URL(str(url))
    host = parsed.host or "?"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    where = f"{host}:{port}"
    chain = _exception_chain(exc)
    for e in chain:
        if isinstance(e, socket.gaierror):
            return f"DNS lookup failed: the name {host!r} could not be resolved ({e.strerror or e})"
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return f"connection refused by {where} (nothing is listening there)"
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            why = getattr(e, "verify_message", None) or getattr(e, "reason", None) or str(e)
            return f"TLS certificate verification failed for {host}: {why}"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            reason = getattr(e, "reason", None) or str(e)
            plain = "; the server does not seem to speak https on this port" if "VERSION" in str(reason) else ""
            return f"TLS handshake with {where} failed ({reason}){plain}"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting to {where} (no connection within {connect_timeout:g} s)"
    if isinstance(exc, httpx.ReadTimeout):
        return f"connected to {where}, but no answer within {read_timeout:g} s (read timeout)"
    if isinstance(exc, httpx.WriteTimeout):
        return f"connected to {where}, but the request could not be sent within {read_timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out talking to {where} ({type(exc).__name__})"
    if isinstance(exc, httpx.ProxyError):
        return f"the HTTP proxy failed ({exc}); check HTTPS_PROXY/HTTP_PROXY"
    for e in chain:
        if isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"{where} is not reachable from this computer ({e.strerror})"
        if isinstance(e, ConnectionResetError):
            return f"{where} reset the connection"
    text = " ".join(str(e) for e in chain).lower()
    if any(marker in text for marker in _DNS_TEXT):
        return f"DNS lookup failed: the name {host!r} could not be resolved ({exc})"
    if "connection refused" in text:
        return f"connection refused by {where} (nothing is listening there)"
    if "certificate" in text:
        return f"TLS certificate verification failed for {host} ({exc})"
    if "ssl" in text or "tls" in text:
        return f"TLS handshake with {where} failed ({exc})"
    if "timed out" in text:
        return f"timed out talking to {where} ({exc})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where} closed the connection or broke the HTTP protocol ({exc})"
    return f"{type(exc).__name__} talking to {where}: {exc}"


def _columns_text(columns: Sequence[str], limit: int = 24) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    more = f", … ({len(columns)} in all)" if len(columns) > limit else ""
    return f"{len(columns)} column{'s' if len(columns) != 1 else ''}: {shown}{more}"


def _similar_column(name: str, header: Sequence[str], known: Collection[str]) -> str | None:
    """The header column that most likely replaced ``name`` (a renamed column), if any."""
    candidates = [h for h in header if h and h not in known]
    lowered = name.lower()
    containing = [h for h in candidates if lowered in h.lower() or h.lower() in lowered]
    if containing:
        return min(containing, key=lambda h: (abs(len(h) - len(name)), h))
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _missing_text(missing: Sequence[str], header: Sequence[str], known: Collection[str] = ()) -> str:
    """``'TIC ID' (renamed to 'TIC'?), 'TOI' (renamed to 'TOI Number'?)``."""
    parts = []
    for name in missing:
        similar = _similar_column(name, header, {*known, *missing})
        parts.append(f"{name!r} (renamed to {similar!r}?)" if similar else repr(name))
    return ", ".join(parts)


def _titled(body: bytes) -> str:
    """`` titled 'Maintenance | ExoFOP-TESS'`` for an HTML body with a title, else ``''``."""
    match = re.search(rb"<title\b[^<>]*>([^<]{1,200})", body[:SNIFF_BYTES], re.IGNORECASE)
    if not match:
        return ""
    title = " ".join(match.group(1).decode("utf-8", "replace").split())
    return f" titled {title[:80]!r}" if title else ""


def _record_columns(record: type[TableRecord]) -> list[str]:
    """The columns a record model reads (its fields' ``validation_alias``)."""
    return [f.validation_alias for f in record.model_fields.values() if isinstance(f.validation_alias, str)]


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size:,} bytes"


def _versions() -> dict[str, str]:
    found = {"exofop-mcp": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for name in ("httpx", "pydantic", "astropy", "mcp"):
        try:
            found[name] = package_version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


# --------------------------------------------------------------------------------------------------
# Running the checks
# --------------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Ends a check with a status other than PASS."""

    def __init__(
        self,
        status: CheckStatus,
        summary: str,
        *,
        expected: str | None = None,
        got: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(summary)
        self.status = status
        self.summary = summary
        self.expected = expected
        self.got = got
        self.hint = hint


@dataclass
class _Draft:
    """What a check has gathered so far (kept when it stops early)."""

    name: str
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    expected: str | None = None
    got: str | None = None
    url: str | None = None
    http_status: int | None = None
    hint: str | None = None
    doing: str | None = None
    attempts: int = 0


@dataclass
class _TagBody:
    response: httpx.Response
    head: bytes
    size: int
    complete: bool
    attempts: int


_SITE_CHANGED_HINT = (
    "ExoFOP may have changed this page: the exofop-mcp tools that use it will fail or miss data until "
    "exofop-mcp is updated. Please report the block below."
)


class Doctor:
    """Runs the checks against ``settings.base_url``; see the module documentation."""

    def __init__(
        self,
        settings: Settings,
        options: DoctorOptions | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.options = options or DoctorOptions()
        if self.options.timeout <= 0:
            raise ValueError("DoctorOptions.timeout must be positive")
        if self.options.retries < 0:
            raise ValueError("DoctorOptions.retries must not be negative")
        # Requests give up a little before their check does, so a slow site is reported precisely
        # ("no answer within N s") rather than as a check that ran out of time.
        http_timeout = self.options.timeout * 0.8
        self.settings = settings.with_overrides(
            connect_timeout=min(settings.connect_timeout, http_timeout),
            read_timeout=max(0.1, min(settings.read_timeout, http_timeout)),
        )
        self.environ = os.environ if environ is None else environ
        self.retry = RetryPolicy(max_retries=self.options.retries, base_delay=settings.retry_base_delay)
        self.client: ExofopClient | None = None
        # What earlier checks learnt, for later ones.
        self.unreachable: str | None = None
        self.tic: int | None = None
        self.tic_source: str | None = None
        self.toi_entries: list[CatalogEntry] = []
        self.time_series_tags: list[int] = []
        self.time_series_ok = False

    # -- the run ------------------------------------------------------------------------------------

    async def run(self) -> DoctorReport:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        steps: list[tuple[str, Callable[[_Draft], Awaitable[str]], bool]] = [
            ("reachable", self._reachable, True),
            ("toi_table", self._toi_table, True),
            ("toi_table_full", self._toi_table_full, True),
            ("name_resolver", self._name_resolver, True),
            ("time_series", self._observation_check("time_series"), True),
            ("spectroscopy", self._observation_check("spectroscopy"), True),
            ("imaging", self._observation_check("imaging"), True),
            ("stellar_companions", self._observation_check("stellar_companions"), True),
            ("tag_download", self._tag_download, True),
            ("login", self._login, False),
            ("session", self._session, True),
            ("settings", self._settings, False),
        ]
        checks: list[Check] = []
        async with ExofopClient(self.settings, retry=self.retry) as client:
            self.client = client
            for name, step, needs_site in steps:
                if needs_site and self.unreachable is not None and name != "reachable":
                    checks.append(self._skipped(name, f"not run: {self.unreachable}"))
                    continue
                check = await self._run_check(name, step)
                checks.append(check)
                if name == "reachable" and check.status == "FAIL" and check.http_status is None:
                    self.unreachable = f"{public_url(self.settings.base_url)} is unreachable"
        self.client = None
        counts = {status: sum(1 for c in checks if c.status == status) for status in ("PASS", "WARN", "FAIL", "SKIP")}
        overall: Literal["PASS", "WARN", "FAIL"] = "FAIL" if counts["FAIL"] else "WARN" if counts["WARN"] else "PASS"
        report = DoctorReport(
            version=__version__,
            versions=_versions(),
            base_url=public_url(self.settings.base_url),
            started_at=started_at,
            seconds=round(time.monotonic() - started, 3),
            options={
                "toi": self.options.toi,
                "target": self.options.resolver_target,
                "tag": self.options.tag,
                "full": self.options.full,
                "timeout": self.options.timeout,
                "retries": self.options.retries,
                "check_session": self.options.check_session,
            },
            status=overall,
            exit_code=1 if counts["FAIL"] else 0,
            counts=counts,
            checks=checks,
        )
        report.report_text = report_block(report)
        return report

    def _skipped(self, name: str, summary: str) -> Check:
        return Check(name=name, title=CHECK_TITLES[name], status="SKIP", summary=scrub(summary))

    async def _run_check(self, name: str, step: Callable[[_Draft], Awaitable[str]]) -> Check:
        draft = _Draft(name)
        started = time.monotonic()
        status: CheckStatus
        hint: str | None
        try:
            async with asyncio.timeout(self.options.timeout):
                summary = await step(draft)
            if draft.warnings:
                status = "WARN"
                summary = f"{summary}; but {'; '.join(draft.warnings)}"
            else:
                status = "PASS"
            hint = draft.hint
        except _Stop as stop:
            status, summary, hint = stop.status, stop.summary, stop.hint
            draft.expected = stop.expected or draft.expected
            draft.got = stop.got or draft.got
            if stop.status != "FAIL" and draft.warnings:
                summary = f"{summary}; {'; '.join(draft.warnings)}"
        except TimeoutError:
            status = "FAIL"
            doing = f" (while {draft.doing})" if draft.doing else ""
            summary = f"did not finish within {self.options.timeout:g} s{doing}"
            hint = "The site is slow or not answering; try again later, or allow more time with --timeout."
        except Exception as exc:  # a bug in a check must not hide the other checks
            status = "FAIL"
            summary = f"the check itself failed: {type(exc).__name__}: {exc}"
            hint = "This is a bug in exofop-mcp doctor; please report it with this output."
        if status in ("PASS", "SKIP"):
            expected = got = None
        else:
            expected, got = draft.expected, draft.got
        return Check(
            name=name,
            title=CHECK_TITLES[name],
            status=status,
            summary=scrub(summary),
            details=[scrub(d) for d in draft.details],
            expected=scrub(expected) if expected else None,
            got=scrub(got) if got else None,
            url=public_url(draft.url) if draft.url else None,
            http_status=draft.http_status,
            seconds=round(time.monotonic() - started, 3),
            hint=scrub(hint) if hint and status != "PASS" else None,
        )

    # -- HTTP ---------------------------------------------------------------------------------------

    @property
    def _client(self) -> ExofopClient:
        assert self.client is not None, "checks run inside Doctor.run()"
        return self.client

    def _transport_failure(self, exc: httpx.TransportError, url: str, attempts: int) -> str:
        what = describe_transport_error(
            exc, url, connect_timeout=self.settings.connect_timeout, read_timeout=self.settings.read_timeout
        )
        return f"{what}{'' if attempts == 1 else f' ({attempts} attempts)'}"

    def _retry_delay(self, attempt: int, response: httpx.Response | None = None) -> float | None:
        """Seconds to wait before another attempt; ``None`` when no attempt is left (or the server asks too long)."""
        if attempt > self.retry.max_retries:
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        if retry_after is not None and retry_after > MAX_RETRY_AFTER:
            return None
        return self.retry.delay(attempt, retry_after)

    async def _pause(self, attempt: int, response: httpx.Response | None = None) -> bool:
        """Wait before another attempt; ``False`` when no attempt is left (or the server asks for too long)."""
        delay = self._retry_delay(attempt, response)
        if delay is None:
            return False
        await asyncio.sleep(delay)
        return True

    async def _retry_or_stop(
        self, exc: httpx.TransportError, url: str, attempt: int, *, subject: str, expected: str, hint: str
    ) -> None:
        """After a transport error: wait for another attempt, or end the check with a FAIL naming the error."""
        # A timeout has used up the check's time already: report it rather than wait again.
        if not isinstance(exc, httpx.TimeoutException) and await self._pause(attempt):
            return
        failure = self._transport_failure(exc, url, attempt)
        raise _Stop("FAIL", f"{subject}: {failure}", expected=expected, got=failure, hint=hint) from None

    async def _get(
        self,
        draft: _Draft,
        page: str,
        params: Mapping[str, str] | None = None,
        *,
        cookies: dict[str, str] | None = None,
    ) -> httpx.Response:
        """GET a page like the tools do (same client), retrying transient failures; the last answer."""
        client = self._client
        url = client.url(page, params)
        draft.url = url
        draft.doing = f"waiting for {page or '/tess/'}"
        attempt = 0
        while True:
            attempt += 1
            try:
                client.requests_sent += 1
                response = await client.http.get(page, params=params, headers=cookie_header(cookies))
            except httpx.TransportError as exc:
                await self._retry_or_stop(
                    exc,
                    url,
                    attempt,
                    subject=page or "/tess/",
                    expected="an HTTP answer",
                    hint="Check your network connection and EXOFOP_BASE_URL (or --base-url).",
                )
                continue
            if is_retryable_status(response.status_code) and await self._pause(attempt, response):
                continue
            draft.http_status = response.status_code
            draft.attempts = attempt
            if attempt > 1:
                draft.details.append(f"{attempt} attempts (transient failures are retried)")
            draft.doing = None
            return response

    def _redirects(self, response: httpx.Response) -> str | None:
        """``'302 → /tess/login.php?ref=…'`` when the answer came after redirects."""
        if not response.history:
            return None
        steps = []
        for step in response.history:
            location = step.headers.get("Location", "?")
            steps.append(f"{step.status_code} → {public_url(location)}")
        return ", ".join(steps)

    def _evidence(self, response: httpx.Response, body: bytes | None = None, total: int | None = None) -> str:
        data = response.content if body is None else body
        parts = [f"HTTP {response.status_code}"]
        redirects = self._redirects(response)
        if redirects:
            parts.append(f"after redirects ({redirects}) at {public_url(response.url)}")
        content_type = response.headers.get("Content-Type")
        if content_type:
            parts.append(f"Content-Type {content_type}")
        parts.append(describe_bytes(data[:SNIFF_BYTES], total_size=len(data) if total is None else total))
        return ", ".join(parts)

    def _expect_success(self, draft: _Draft, response: httpx.Response, page: str, expected: str) -> None:
        draft.expected = expected
        draft.got = self._evidence(response)
        if response.is_success:
            return
        status = response.status_code
        kind = "a server error" if status >= 500 else "rate limiting" if status == 429 else "an error"
        after = f" after {draft.attempts} attempts" if draft.attempts > 1 else ""
        hint = (
            "The site may be down or under maintenance; try again later."
            if status >= 500 or status == 429
            else "Check EXOFOP_BASE_URL; if it is right, " + _SITE_CHANGED_HINT
        )
        raise _Stop("FAIL", f"{page} answered HTTP {status} ({kind}){after}", hint=hint)

    def _expect_pipe_text(self, draft: _Draft, response: httpx.Response, page: str, what: str) -> str:
        """The answer's text if it may be a pipe table; stops with a precise reason otherwise."""
        expected = f"HTTP 200 and a pipe table ({what})"
        self._expect_success(draft, response, page, expected)
        body = response.content
        kind = sniff_body(body[:SNIFF_BYTES])
        redirects = self._redirects(response)
        moved = f" was redirected ({redirects}) and" if redirects else ""
        if kind == "empty":
            raise _Stop(
                "FAIL",
                f"{page}{moved} answered an empty body instead of a pipe table (not even a header line)",
                hint=_SITE_CHANGED_HINT,
            )
        if kind == "html_login":
            raise _Stop(
                "FAIL",
                f"{page}{moved} answered a login page (HTML) instead of a pipe table",
                hint="ExoFOP now asks for a login for this page, or the base URL points to a login portal. "
                + _SITE_CHANGED_HINT,
            )
        if kind.startswith("html"):
            raise _Stop(
                "FAIL",
                f"{page}{moved} answered an HTML page{_titled(body)} instead of a pipe table",
                hint="The site may be down for maintenance (try again later); if it persists, " + _SITE_CHANGED_HINT,
            )
        if kind in ("zip", "binary"):
            raise _Stop(
                "FAIL",
                f"{page}{moved} answered binary data instead of a pipe table: {describe_bytes(body[:SNIFF_BYTES])}",
                hint=_SITE_CHANGED_HINT,
            )
        if redirects:
            draft.details.append(f"redirected: {redirects}")
        return response.text

    def _check_columns(self, draft: _Draft, text: str, record: type[TableRecord], page: str) -> list[str]:
        """The header, after the core's own check (:func:`check_pipe_table`) for the required columns."""
        header = split_header(text.lstrip())
        draft.got = f"{draft.got}; {_columns_text(header)}" if draft.got else _columns_text(header)
        try:
            check_pipe_table(text, record.required_columns, page=page)
        except ExofopMcpError as exc:
            missing = [c for c in record.required_columns if c not in header]
            kind = _KIND_OF.get(record)
            known = set(_record_columns(record)) | set(DOCUMENTED_COLUMNS[kind] if kind else ())
            if missing:
                first_line = text.lstrip().split("\n", 1)[0][:80]
                raise _Stop(
                    "FAIL",
                    f"{page}: the table lacks the required column(s) {_missing_text(missing, header, known)}; "
                    f"its first line is {first_line!r}",
                    expected=f"a pipe table whose header holds {', '.join(map(repr, record.required_columns))}",
                    hint=_SITE_CHANGED_HINT,
                ) from None
            raise _Stop("FAIL", f"{page}: {exc.message}", hint=_SITE_CHANGED_HINT) from None
        return header

    # -- 1. reachable --------------------------------------------------------------------------------

    async def _reachable(self, draft: _Draft) -> str:
        started = time.monotonic()
        try:
            response = await self._get(draft, "")
        except _Stop as stop:
            stop.summary = f"{public_url(self.settings.base_url)} is unreachable: {stop.got}"
            raise
        seconds = time.monotonic() - started
        draft.expected = "an HTTP 2xx answer from /tess/"
        draft.got = self._evidence(response)
        redirects = self._redirects(response)
        if redirects:
            draft.details.append(f"redirected: {redirects}")
            final_host = response.url.host
            if final_host != httpx.URL(self.settings.base_url).host:
                draft.warnings.append(
                    f"/tess/ redirects to another host ({final_host}); set EXOFOP_BASE_URL to "
                    f"{response.url.scheme}://{final_host} to save a round trip"
                )
        if not response.is_success:
            raise _Stop(
                "FAIL",
                f"{public_url(self.settings.base_url)}/tess/ answered HTTP {response.status_code}",
                hint="Check EXOFOP_BASE_URL: it should be the site root, e.g. https://exofop.ipac.caltech.edu.",
            )
        draft.details.append(f"answered in {seconds:.2f} s: {self._evidence(response)}")
        return f"{public_url(self._client.url(''))} answered HTTP {response.status_code} in {seconds:.2f} s"

    # -- 2. TOI table --------------------------------------------------------------------------------

    async def _toi_table(self, draft: _Draft) -> str:
        host = self.options.toi
        page = TOIRecord.page
        response = await self._get(draft, page, {"toi": str(host), "output": "pipe"})
        text = self._expect_pipe_text(draft, response, page, f"the rows of TOI-{host}")
        header = self._check_columns(draft, text, TOIRecord, page)
        try:
            entries = await asyncio.to_thread(parse_toi_table, text, page=page)
        except ExofopMcpError as exc:
            raise _Stop("FAIL", f"{page}: the table does not parse: {exc.message}", hint=_SITE_CHANGED_HINT) from None
        mine = [e for e in entries if e.host == host]
        if not mine:
            raise _Stop(
                "FAIL",
                f"{page}?toi={host} has no row for TOI-{host} ({len(entries)} row(s) came back)",
                expected=f"at least one row whose TOI is {host}.NN",
                hint=f"Check that TOI-{host} exists (--toi N picks another host); otherwise " + _SITE_CHANGED_HINT,
            )
        self.toi_entries = mine
        first = mine[0]
        self.tic, self.tic_source = first.record.tic_id, "the TOI table"
        missing_coordinates = [c for c in ("RA", "Dec") if c not in header]
        if missing_coordinates:
            raise _Stop(
                "FAIL",
                f"{page}: the table lacks {_missing_text(missing_coordinates, header)}, so coordinates cannot be read",
                expected="RA and Dec columns in sexagesimal form (19:05:30.24, -41:26:15.5)",
                hint=_SITE_CHANGED_HINT,
            )
        bad = [e for e in mine if e.ra_deg is None or e.dec_deg is None]
        if bad:
            sample = bad[0].record
            raise _Stop(
                "FAIL",
                f"{page}: RA/Dec of TOI {sample.toi} do not convert to degrees (RA {sample.ra!r}, Dec {sample.dec!r})",
                expected="sexagesimal RA and Dec such as '19:05:30.24' and '-41:26:15.5'",
                hint=_SITE_CHANGED_HINT,
            )
        read = [c for c in _record_columns(TOIRecord) if c not in TOIRecord.required_columns]
        absent = [c for c in read if c not in header]
        if absent:
            absent_text = _missing_text(absent, header, _record_columns(TOIRecord))
            draft.warnings.append(
                f"the table lacks column(s) the catalog reads: {absent_text} (those values will be empty)"
            )
            draft.expected = f"the columns the catalog reads: {', '.join(map(repr, _record_columns(TOIRecord)))}"
            draft.hint = _SITE_CHANGED_HINT
        tois = ", ".join(e.record.toi or "?" for e in mine)
        assert first.ra_deg is not None and first.dec_deg is not None
        return (
            f"TOI-{host}: {len(mine)} row(s) ({tois}), TIC {first.record.tic_id}, "
            f"RA {first.ra_deg:.4f}°, Dec {first.dec_deg:.4f}°; {len(header)} columns"
        )

    async def _toi_table_full(self, draft: _Draft) -> str:
        if not self.options.full:
            raise _Stop("SKIP", "not run (add --full to download and parse the whole TOI table, ~3.6 MB)")
        page = TOIRecord.page
        started = time.monotonic()
        response = await self._get(draft, page, {"output": "pipe", "sort": "toi"})
        text = self._expect_pipe_text(draft, response, page, "the whole TOI table")
        self._check_columns(draft, text, TOIRecord, page)
        try:
            entries = await asyncio.to_thread(parse_toi_table, text, page=page)
        except ExofopMcpError as exc:
            raise _Stop("FAIL", f"{page}: the table does not parse: {exc.message}", hint=_SITE_CHANGED_HINT) from None
        seconds = time.monotonic() - started
        size = len(response.content)
        if len(entries) < MIN_FULL_TOI_ROWS:
            raise _Stop(
                "FAIL",
                f"the whole TOI table has only {len(entries):,} row(s) ({_size_text(size)})",
                expected=f"thousands of rows (at least {MIN_FULL_TOI_ROWS:,}; about 7,700 in 2025)",
                hint=_SITE_CHANGED_HINT,
            )
        hosts = {e.host for e in entries if e.host is not None}
        unconverted = sum(1 for e in entries if e.ra_deg is None or e.dec_deg is None)
        draft.details.append(f"{len(hosts):,} host stars; {unconverted:,} row(s) whose RA/Dec do not convert")
        if unconverted > len(entries) // 100:
            draft.warnings.append(f"{unconverted:,} rows have RA/Dec that do not convert to degrees")
        return f"{len(entries):,} rows ({_size_text(size)}) parsed in {seconds:.1f} s"

    # -- 3. name resolver ---------------------------------------------------------------------------

    async def _name_resolver(self, draft: _Draft) -> str:
        target = self.options.resolver_target
        page = NAME_RESOLVER_PAGE
        response = await self._get(draft, page, {"target": target, "json": ""})
        shape = '{"status":"OK","num":1,"TIC":"<digits>"}'
        self._expect_success(draft, response, page, f"HTTP 200 and JSON {shape}")
        try:
            answer: Any = json.loads(response.text)
        except ValueError:
            raise _Stop(
                "FAIL",
                f"{page} did not answer JSON for {target!r}: {describe_bytes(response.content[:SNIFF_BYTES])}",
                hint=_SITE_CHANGED_HINT,
            ) from None
        draft.got = f"HTTP {response.status_code}, {json.dumps(answer)[:300]}"
        if not isinstance(answer, dict) or "status" not in answer:
            raise _Stop(
                "FAIL", f"{page} answered JSON without a 'status' field for {target!r}", hint=_SITE_CHANGED_HINT
            )
        status = str(answer.get("status"))
        if status.upper() != "OK":
            message = answer.get("message")
            raise _Stop(
                "FAIL",
                f"{page} did not resolve {target!r}: status {status!r}" + (f", {message!r}" if message else ""),
                hint=f"Check that {target!r} is known to ExoFOP (--target NAME asks for another); otherwise "
                + _SITE_CHANGED_HINT,
            )
        tics = _tic_list(answer.get("TIC"))
        if not tics:
            raise _Stop(
                "FAIL",
                f"{page} answered status OK but no usable TIC id for {target!r} (TIC is {answer.get('TIC')!r})",
                hint=_SITE_CHANGED_HINT,
            )
        num = answer.get("num")
        if "num" not in answer:
            draft.warnings.append("the answer has no 'num' field")
        elif isinstance(num, bool) or not isinstance(num, int):
            draft.warnings.append(f"'num' is {num!r} ({type(num).__name__}), documented as a whole number")
        elif num != 1:
            draft.warnings.append(f"{target!r} matches {num} stars (expected 1)")
        raw_tic = answer.get("TIC")
        if not isinstance(raw_tic, str):
            draft.warnings.append(
                f"'TIC' is {type(raw_tic).__name__} {raw_tic!r}, documented as a string (the tools accept it)"
            )
        extra = sorted(set(answer) - {"status", "num", "TIC"})
        if extra:
            draft.details.append(f"extra fields: {', '.join(extra)}")
        if self.tic is None:
            self.tic, self.tic_source = tics[0], "the name resolver"
        elif self.options.target is None and tics[0] != self.tic:
            draft.warnings.append(
                f"it gives TIC {tics[0]}, the TOI table gives TIC {self.tic} for TOI-{self.options.toi}"
            )
        if draft.warnings:
            draft.expected = f"JSON {shape}"
            draft.hint = _SITE_CHANGED_HINT
        return f"{target!r} → TIC {', '.join(map(str, tics))} (status OK, num {num})"

    # -- 4. observation tables ------------------------------------------------------------------------

    def _observation_check(self, kind: ObservationCheck) -> Callable[[_Draft], Awaitable[str]]:
        async def check(draft: _Draft) -> str:
            return await self._observation_table(draft, kind)

        return check

    async def _observation_table(self, draft: _Draft, kind: ObservationCheck) -> str:
        record = OBSERVATION_RECORDS[kind]
        page = record.page
        target = str(self.tic) if self.tic is not None else f"TOI{self.options.toi}"
        if self.tic is None:
            draft.details.append(f"the TIC id is unknown (the TOI table and name resolver failed): asked for {target}")
        else:
            draft.details.append(f"TIC {self.tic} (from {self.tic_source})")
        response = await self._get(draft, page, {"target": target, "output": "pipe"})
        text = self._expect_pipe_text(draft, response, page, f"{kind.replace('_', ' ')} rows of {target}")
        header = self._check_columns(draft, text, record, page)
        try:
            raw = await asyncio.to_thread(read_pipe_table, text, text_columns=record.text_columns())
            rows = [record.model_validate(r) for r in raw]
        except ExofopMcpError as exc:
            raise _Stop("FAIL", f"{page}: the table does not parse: {exc.message}", hint=_SITE_CHANGED_HINT) from None
        except ValueError as exc:
            raise _Stop("FAIL", f"{page}: a row does not fit the {record.__name__} model: {exc}") from None
        documented = DOCUMENTED_COLUMNS[kind]
        missing = [c for c in documented if c not in header]
        extra = [c for c in header if c and c not in documented]
        if missing:
            draft.warnings.append(f"documented column(s) missing: {_missing_text(missing, header, documented)}")
        if extra:
            draft.warnings.append(f"unexpected extra column(s): {', '.join(map(repr, extra))}")
        if missing or extra:
            draft.expected = f"the documented columns: {', '.join(map(repr, documented))}"
            draft.hint = _SITE_CHANGED_HINT
        tags = sorted({t for r in rows if (t := getattr(r, "tag", None)) is not None})
        untagged = sum(
            1 for r, cells in zip(rows, raw, strict=True) if cells.get("Tag") and getattr(r, "tag", None) is None
        )
        if untagged:
            draft.warnings.append(f"{untagged} row(s) have a Tag that is not a number")
        count_field = _TOI_COUNT_FIELDS.get(kind)
        if count_field and self.toi_entries:
            counted = max((getattr(e.record, count_field) or 0 for e in self.toi_entries), default=0)
            draft.details.append(f"the TOI table counts {counted} {kind.replace('_', ' ')} observation(s)")
            if counted and not rows:
                draft.warnings.append(f"no rows came back although the TOI table counts {counted}")
        if kind == "time_series":
            ordered = sorted(
                (r for r in rows if getattr(r, "tag", None) is not None),
                key=lambda r: ((getattr(r, "obs_date", None) or "9999")[:10], getattr(r, "tag", 0) or 0),
            )
            self.time_series_tags = list(dict.fromkeys(int(getattr(r, "tag", 0)) for r in ordered))
            self.time_series_ok = True
        columns_note = "the documented columns" if not missing and not extra else f"{len(header)} columns"
        origin = f", from {self.tic_source}" if self.tic_source not in (None, "the TOI table") else ""
        return f"{len(rows)} row(s), {len(tags)} tag(s), {columns_note} (TIC {target}{origin})"

    # -- 5. one tag's archive ----------------------------------------------------------------------------

    async def _tag_download(self, draft: _Draft) -> str:
        tag = self.options.tag
        if tag is None:
            if not self.time_series_tags:
                reason = (
                    "the time-series table listed no tag"
                    if self.time_series_ok
                    else "the time-series table could not be read"
                )
                raise _Stop("SKIP", f"no tag to try: {reason} (give one with --tag N)")
            tag = self.time_series_tags[0]
            draft.details.append(f"tag {tag}: the first tag of the time-series table (oldest observation)")
        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as temp:
            archive = Path(temp) / f"tag_{tag}.zip"
            body = await self._fetch_tag(draft, tag, archive)
            return await self._judge_tag(draft, tag, body, archive)

    async def _fetch_tag(self, draft: _Draft, tag: int, destination: Path) -> _TagBody:
        client = self._client
        params = {"tag": str(tag)}
        url = client.url(TAG_ZIP_PAGE, params)
        draft.url = url
        draft.doing = f"downloading tag {tag}"
        attempt = 0
        while True:
            attempt += 1
            try:
                client.requests_sent += 1
                async with client.http.stream("GET", TAG_ZIP_PAGE, params=params) as response:
                    if is_retryable_status(response.status_code):
                        delay = self._retry_delay(attempt, response)
                        if delay is not None:
                            await response.aclose()
                            await asyncio.sleep(delay)
                            continue
                    draft.http_status = response.status_code
                    return await self._read_tag_body(response, destination, attempt)
            except httpx.TransportError as exc:
                await self._retry_or_stop(
                    exc,
                    url,
                    attempt,
                    subject=f"tag {tag}",
                    expected="a zip archive",
                    hint="A transfer that keeps breaking off makes downloads fail too; try again later.",
                )

    async def _read_tag_body(self, response: httpx.Response, destination: Path, attempts: int) -> _TagBody:
        chunks = response.aiter_bytes(SNIFF_BYTES)
        head = bytearray()
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        if not response.is_success or sniff_body(bytes(head[:4])) != "zip":
            return _TagBody(response, bytes(head), len(head), complete=False, attempts=attempts)
        size = len(head)
        complete = True
        with open(destination, "wb") as out:
            out.write(head)
            async for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
                if size > self.options.max_tag_bytes:
                    complete = False
                    break
        return _TagBody(response, bytes(head), size, complete=complete, attempts=attempts)

    async def _judge_tag(self, draft: _Draft, tag: int, body: _TagBody, archive: Path) -> str:
        response = body.response
        headers = response.headers
        declared_raw = headers.get("Content-Length")
        encoding = headers.get("Transfer-Encoding")
        draft.expected = "HTTP 200 and a zip archive (starting with 'PK'), complete and with valid CRCs"
        draft.got = self._evidence(response, body.head, body.size if body.complete else None)
        if declared_raw is not None:
            length_note = (
                f"Content-Length {int(declared_raw):,} sent" if declared_raw.isdigit() else "odd Content-Length"
            )
        elif encoding and "chunked" in encoding.lower():
            length_note = "no Content-Length (chunked transfer, fine)"
        else:
            length_note = "no Content-Length (body ends when the connection closes)"
        draft.details.append(f"{length_note}; Content-Type {headers.get('Content-Type', 'none')}")
        if body.attempts > 1:
            draft.details.append(f"answered after {body.attempts} attempts")
        redirects = self._redirects(response)
        moved = f" (after redirects: {redirects})" if redirects else ""
        if response.status_code == 404:
            raise _Stop(
                "FAIL",
                f"tag {tag}: HTTP 404{moved}, the tag does not exist",
                hint="Check the tag number (exofop-mcp doctor --tag N).",
            )
        if not response.is_success:
            raise _Stop(
                "FAIL",
                f"tag {tag}: {TAG_ZIP_PAGE} answered HTTP {response.status_code}{moved}",
                hint="The site may be down or under maintenance; try again later.",
            )
        kind = sniff_body(body.head)
        if kind != "zip":
            what = describe_bytes(body.head)
            if kind == "html_login":
                raise _Stop(
                    "FAIL",
                    f"tag {tag}: ExoFOP answered its login page instead of a zip{moved}: the tag is proprietary "
                    "(TFOP data stays private for 12 months) or the site now asks for a login for every download",
                    hint="Pick a public tag with --tag N; if public tags get the login page too, " + _SITE_CHANGED_HINT,
                )
            if kind == "html_no_files":
                summary = f"tag {tag}: ExoFOP answered a page saying the tag has no files{moved}"
                hint = "Pick another tag with --tag N."
            elif kind == "html_not_found":
                summary = f"tag {tag}: ExoFOP answered a page saying the tag does not exist{moved}"
                hint = "Check the tag number (--tag N)."
            elif kind == "empty":
                summary = f"tag {tag}: ExoFOP answered an empty body{moved}"
                hint = "Try again later; if it persists, " + _SITE_CHANGED_HINT
            else:
                summary = f"tag {tag}: ExoFOP answered something that is not a zip{moved}: {what}"
                hint = _SITE_CHANGED_HINT
            raise _Stop("FAIL", summary, hint=hint)
        if not body.complete:
            draft.warnings.append(
                f"the archive is larger than {_size_text(self.options.max_tag_bytes)}: only its start was checked "
                "(it is a zip); pick a smaller tag with --tag N to check a whole archive"
            )
            return f"tag {tag}: a zip ({length_note})"
        if declared_raw is not None and declared_raw.isdigit() and not headers.get("Content-Encoding"):
            declared = int(declared_raw)
            if body.size < declared:
                raise _Stop(
                    "FAIL",
                    f"tag {tag}: the body was truncated ({body.size:,} of {declared:,} bytes)",
                    hint="Try again later; a transfer that keeps breaking off makes downloads fail too.",
                )
        plan = await asyncio.to_thread(self._verify_zip, archive, tag)
        files = plan.files
        if plan.stripped_prefix:
            layout = f" in one top folder {plan.stripped_prefix!r}"
        else:
            layout = ""
            draft.warnings.append(
                "the zip has no single top-level folder (exofop-mcp assumes one; downloads still work)"
            )
            draft.expected = "a zip holding one top-level folder (assumed)"
            draft.hint = "Nothing to do for downloads; please report it so the documentation can be corrected."
        draft.details.append(f"{len(files)} file(s), {_size_text(plan.total_uncompressed)} unpacked")
        return f"tag {tag}: valid zip, {_size_text(body.size)}, {len(files)} file(s){layout}; {length_note}"

    @staticmethod
    def _verify_zip(archive: Path, tag: int) -> ZipPlan:
        try:
            plan = inspect_zip(archive)
        except UnsafeArchive as exc:
            raise _Stop(
                "FAIL",
                f"tag {tag}: the zip would be refused as unsafe: {exc.reason}",
                hint="download_tags will refuse this tag (unsafe_archive); tell the ExoFOP team about it.",
            ) from None
        except CorruptArchive as exc:
            raise _Stop("FAIL", f"tag {tag}: not a valid zip: {exc.reason}", hint=exc.hint) from None
        except ArchiveError as exc:
            raise _Stop("FAIL", f"tag {tag}: the zip cannot be used: {exc.reason}", hint=exc.hint) from None
        try:
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise _Stop(
                "FAIL",
                f"tag {tag}: not a valid zip: its data is damaged ({type(exc).__name__}: {exc})",
                hint="Try again later; if it persists, the archive is broken on the site: tell the ExoFOP team.",
            ) from None
        if bad is not None:
            raise _Stop(
                "FAIL",
                f"tag {tag}: not a valid zip: member {bad!r} fails its CRC check (damaged data)",
                hint="Try again later; if it persists, the archive is broken on the site: tell the ExoFOP team.",
            )
        return plan

    # -- 6. login -------------------------------------------------------------------------------------------

    async def _login(self, draft: _Draft) -> str:
        status = current_login_status(self.settings, environ=self.environ)
        draft.details.append(f"sessions file: {status.sessions_file}")
        if not load_sessions(self.settings.config_dir).readable:
            raise _Stop(
                "WARN",
                f"the sessions file {status.sessions_file} could not be read: working anonymously",
                hint=f"Run `{status.action or 'exofop-mcp login'}` to write it again.",
            )
        if not status.logged_in:
            who = f" ({status.username})" if status.username else ""
            return f"not logged in{who}: public data only; `exofop-mcp login` gives access to proprietary data"
        assert status.earliest_expiry is not None and status.remaining_hours is not None
        until = status.earliest_expiry.strftime("%Y-%m-%d %H:%M UTC")
        summary = (
            f"logged in as {status.username} with {status.valid_sessions} session(s), valid until {until} "
            f"({status.remaining_hours:.1f} h left)"
        )
        if status.remaining_hours < RENEW_BEFORE_HOURS:
            draft.warnings.append(f"the login expires within {RENEW_BEFORE_HOURS:g} hours")
            draft.hint = f"Run `{status.action}` in a terminal to stay logged in."
        return summary

    async def _session(self, draft: _Draft) -> str:
        status = current_login_status(self.settings, environ=self.environ)
        if not status.logged_in:
            raise _Stop("SKIP", "not logged in: no session to check")
        if not self.options.check_session:
            raise _Stop("SKIP", "not asked (add --check-session to ask the site once whether the session is accepted)")
        pool = SessionPool.from_settings(self.settings, environ=self.environ)
        async with pool.lease(timeout=5.0) as cookies:
            if cookies is None:
                raise _Stop("SKIP", "no free stored session to check")
            response = await self._get(draft, "index.php", cookies=cookies)
        self._expect_success(draft, response, "index.php", "the home page showing a Logout link")
        text = response.text[:200_000]
        draft.details.append("assumed: ExoFOP's home page shows a Logout link to logged-in visitors")
        if re.search(r"log\s*-?\s*out", text, re.IGNORECASE):
            return f"ExoFOP accepts the stored session of {status.username} (its home page offers Logout)"
        if re.search(r"\blog\s*-?\s*in\b|login\.php", text, re.IGNORECASE):
            raise _Stop(
                "FAIL",
                f"ExoFOP does not recognise the stored session of {status.username}: its home page offers Login",
                hint=f"The login ended on the site; run `{status.action or 'exofop-mcp login'}` in a terminal.",
            )
        raise _Stop(
            "WARN",
            "could not tell whether the session is accepted: the home page shows neither Login nor Logout",
            hint="Nothing to do unless proprietary downloads fail with login_required.",
        )

    # -- 7. settings ------------------------------------------------------------------------------------------

    async def _settings(self, draft: _Draft) -> str:
        s = self.settings
        problems: list[str] = []
        for label, var, path in (
            ("download sandbox", "EXOFOP_MCP_DATA_DIR", s.data_dir),
            ("catalog cache", "EXOFOP_MCP_CACHE_DIR", s.cache_dir),
            ("login sessions", "EXOFOP_MCP_CONFIG_DIR", s.config_dir),
        ):
            ok, note = await asyncio.to_thread(_probe_directory, Path(path))
            draft.details.append(f"{label} ({var}): {path}: {note}")
            if not ok:
                problems.append(f"{label} {path}: {note}")
        draft.details.append(
            f"concurrency {s.concurrency} (EXOFOP_MCP_CONCURRENCY); retries {s.max_retries}; "
            f"read timeout {s.read_timeout:g} s; catalog refreshed every {s.catalog_ttl_hours:g} h"
        )
        parts = urlsplit(s.base_url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" and host not in ("localhost", "::1") and not host.startswith("127."):
            draft.warnings.append(
                f"EXOFOP_BASE_URL uses plain http ({public_url(s.base_url)}): `exofop-mcp login` refuses to send a "
                "password there"
            )
            draft.hint = "Use https://exofop.ipac.caltech.edu."
        if problems:
            draft.expected = "directories that exist or can be created, and are writable"
            draft.got = "; ".join(problems)
            raise _Stop(
                "FAIL",
                f"unusable director{'ies' if len(problems) > 1 else 'y'}: {'; '.join(problems)}",
                hint="Point the variable at a writable directory (or fix its permissions).",
            )
        return f"data, cache and config directories usable; concurrency {s.concurrency}"


def _probe_directory(path: Path) -> tuple[bool, str]:
    """Whether ``path`` is (or can become) a writable directory; leaves nothing behind."""
    if path.exists():
        if not path.is_dir():
            return False, "exists and is not a directory"
        try:
            fd, name = tempfile.mkstemp(prefix=f".{TEMP_PREFIX}", suffix=".tmp", dir=path)
        except OSError as exc:
            return False, f"not writable ({exc.strerror or exc})"
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        return True, "exists, writable"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return False, f"cannot be created: {parent} is not a directory"
    try:
        probe = tempfile.mkdtemp(prefix=f".{TEMP_PREFIX}", dir=parent)
    except OSError as exc:
        return False, f"cannot be created: {parent} is not writable ({exc.strerror or exc})"
    with contextlib.suppress(OSError):
        os.rmdir(probe)
    return True, f"does not exist yet; can be created (under {parent})"


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def report_block(report: DoctorReport) -> str | None:
    """A ready-to-paste description of the site checks that failed or warned (``None`` when none did)."""
    items = [c for c in report.checks if c.name in SITE_CHECKS and c.status in ("FAIL", "WARN")]
    if not items:
        return None
    v = report.versions
    lines = [
        "----- exofop-mcp doctor report -----",
        f"exofop-mcp {v.get('exofop-mcp')}; Python {v.get('python')}; httpx {v.get('httpx')}; "
        f"pydantic {v.get('pydantic')}; astropy {v.get('astropy')}; mcp {v.get('mcp')}",
        f"platform: {v.get('platform')}",
        f"base URL: {report.base_url}",
        f"run at: {report.started_at.strftime('%Y-%m-%d %H:%M:%S UTC')}",
    ]
    for c in items:
        lines.append("")
        lines.append(f"{c.status} {c.name}: {c.summary}")
        if c.url:
            lines.append(f"  url: {c.url}")
        if c.expected:
            lines.append(f"  expected: {c.expected}")
        if c.got:
            lines.append(f"  got: {c.got}")
        lines.extend(f"  {d}" for d in c.details)
    lines.append("----- end of report -----")
    return scrub("\n".join(lines))


def render_text(report: DoctorReport) -> str:
    """The report for a terminal: one line per check, then what went wrong and what to report."""
    width = max(len(c.name) for c in report.checks) if report.checks else 10
    lines = [f"exofop-mcp {report.version} doctor: checking {report.base_url}", ""]
    for c in report.checks:
        lines.append(f"{c.status:<4}  {c.name:<{width}}  {c.summary}")
        if c.status in ("FAIL", "WARN"):
            indent = " " * (width + 8)
            if c.expected:
                lines.append(f"{indent}expected: {c.expected}")
            if c.got:
                lines.append(f"{indent}got:      {c.got}")
            if c.url:
                lines.append(f"{indent}url:      {c.url}")
            lines.extend(f"{indent}{d}" for d in c.details)
            if c.hint:
                lines.append(f"{indent}what to do: {c.hint}")
    counts = report.counts
    lines.append("")
    lines.append(
        f"{report.status}: {counts.get('FAIL', 0)} failed, {counts.get('WARN', 0)} warning(s), "
        f"{counts.get('PASS', 0)} passed, {counts.get('SKIP', 0)} skipped in {report.seconds:.1f} s."
    )
    if report.report_text:
        lines.append("")
        lines.append(
            "ExoFOP answered differently from what exofop-mcp expects. To report it, paste this block "
            "(it holds no cookies or passwords):"
        )
        lines.append("")
        lines.append(report.report_text)
    return "\n".join(lines) + "\n"


async def run_doctor(
    settings: Settings, options: DoctorOptions | None = None, *, environ: Mapping[str, str] | None = None
) -> DoctorReport:
    """Run every check against ``settings.base_url`` and return the report."""
    return await Doctor(settings, options, environ=environ).run()


__all__ = [
    "CHECK_TITLES",
    "DOCUMENTED_COLUMNS",
    "Check",
    "CheckStatus",
    "Doctor",
    "DoctorOptions",
    "DoctorReport",
    "describe_transport_error",
    "render_text",
    "report_block",
    "run_doctor",
]

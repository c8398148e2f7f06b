"""What ``exofop-mcp doctor`` reports: the checks, their outcome, the options of a run.

:class:`Check` and :class:`DoctorReport` are what ``--json`` prints; :class:`DoctorOptions` says what
to check and how long to wait; :class:`Stop` and :class:`Draft` are how a check ends early and what it
has gathered so far.  :func:`public_url` and :func:`scrub` keep passwords and cookies out of a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, Field

from exofop_mcp.site.retry_policy import RetryPolicy

CheckStatus = Literal["PASS", "WARN", "FAIL", "SKIP"]

DEFAULT_TOI = 1130
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 1
#: The whole TOI table has ~7,700 rows; fewer than this means it is not the whole table.
MIN_FULL_TOI_ROWS = 1000
#: A tag larger than this is not downloaded whole: only its first bytes are checked.
DEFAULT_MAX_TAG_BYTES = 64 * 1024 * 1024
#: A Retry-After longer than this is not waited for by the doctor: the answer is reported as it is.
DEFAULT_MAX_RETRY_AFTER = 10.0
TEMP_PREFIX = "exofop-mcp-doctor-"

#: Check names, in the order they run, with a short title each.
CHECK_TITLES: dict[str, str] = {
    "reachable": "base URL reachable",
    "toi_table": "TOI table, one host",
    "toi_table_full": "TOI table, whole",
    "name_resolver": "name resolver",
    "name_shapes": "name resolver, undocumented shapes",
    "time_series": "time-series table",
    "spectroscopy": "spectroscopy table",
    "imaging": "imaging table",
    "stellar_companions": "stellar companions table",
    "observing_notes": "observing notes table",
    "target_json": "target page as JSON",
    "tag_download": "tag archive download",
    "login": "login state",
    "session": "stored session accepted",
    "login_answer": "where a login lands",
    "settings": "settings and directories",
}
#: Checks about the site's behaviour (what a bug report is about); the others are about this computer.
SITE_CHECKS = frozenset(
    {
        "reachable",
        "toi_table",
        "toi_table_full",
        "name_resolver",
        "name_shapes",
        "time_series",
        "spectroscopy",
        "imaging",
        "stellar_companions",
        "observing_notes",
        "target_json",
        "tag_download",
    }
)
#: A name gototicid is asked for to see its answer for several matches (``--multi-target``).
DEFAULT_MULTI_TARGET = "CPD-58 7912"


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
    shapes: dict[str, str] = Field(
        default_factory=dict,
        description="how the site answered where its behaviour is not documented, each value starting with a "
        "stable word: login_answer (redirect_index, redirect_ref_page, page, ...), name_multi_match (list, "
        "string, comma, html_table, not_seen, ...), name_accepts_tic (accepted, refused, ...), archive_timing "
        "(time to first byte and body time)",
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
    #: A name that matches several stars: how gototicid answers it (``--multi-target``).
    multi_target: str = DEFAULT_MULTI_TARGET
    #: Log in once (not stored) to see where the site lands; credentials from the file or the environment only.
    try_login: bool = False
    credential_file: Path | None = None
    max_tag_bytes: int = DEFAULT_MAX_TAG_BYTES
    #: A ``Retry-After`` longer than this is not waited for: the answer is reported as it is.
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER

    @property
    def resolver_target(self) -> str:
        return self.target or f"TOI-{self.toi}"

    def retry_policy(self, base_delay: float) -> RetryPolicy:
        """The doctor's time-boxed retries: few of them, a short ``Retry-After``, none after a timeout
        (it has used up the check's time already), and no wait past the check's time."""
        return RetryPolicy(
            max_retries=self.retries,
            base_delay=base_delay,
            max_retry_after=self.max_retry_after,
            retry_timeouts=False,
            budget=self.timeout,
        )


class Stop(Exception):
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
class Draft:
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

"""Asking ExoFOP one question the way the tools do, and describing what came back.

A :class:`Probe` sends its requests through the same :class:`~exofop_mcp.site.client.ExofopClient`
the tools use (with the doctor's time-boxed retry policy) and turns an answer into evidence for a
report: status, redirects, content type, first bytes, columns.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from exofop_mcp.doctor.columns import DOCUMENTED_COLUMNS, KIND_OF, columns_text, missing_text, record_columns
from exofop_mcp.doctor.report import DoctorOptions, Draft, Stop, public_url
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.settings import Settings
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.pipe_table import check_pipe_table, split_header
from exofop_mcp.site.records import TableRecord
from exofop_mcp.site.responses import SNIFF_BYTES, describe_bytes, html_title, sniff_body
from exofop_mcp.site.transport_errors import ExofopUnreachableError

SITE_CHANGED_HINT = (
    "ExoFOP may have changed this page: the exofop-mcp tools that use it will fail or miss data until "
    "exofop-mcp is updated. Please report the block below."
)


THROTTLED_HINT = (
    "An empty answer is how ExoFOP throttles (a table with no rows still has its header line): wait a few "
    "minutes, lower the number of parallel requests, and run the doctor again."
)


def titled(body: bytes) -> str:
    """`` titled 'Maintenance | ExoFOP-TESS'`` for an HTML body with a title, else ``''``."""
    title = html_title(body)
    return f" titled {title[:80]!r}" if title else ""


def with_attempts(failure: str, attempts: int) -> str:
    """``failure``, saying how many attempts it took when there were several."""
    return f"{failure}{'' if attempts == 1 else f' ({attempts} attempts)'}"


class Probe:
    """The site as the checks see it: one client, the doctor's settings and options."""

    def __init__(self, client: ExofopClient, settings: Settings, options: DoctorOptions) -> None:
        self.client = client
        self.settings = settings
        self.options = options
        #: Pages that answered HTTP 200 with an empty body (how ExoFOP throttles), reported as a shape.
        self.empty_bodies: list[str] = []

    async def get(
        self,
        draft: Draft,
        page: str,
        params: Mapping[str, str] | None = None,
        *,
        cookies: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """GET a page like the tools do (same client and retry loop); the last answer, whatever its status.

        No answer at all ends the check with a FAIL naming the cause (DNS, refused, TLS, timeout...).
        """
        subject = page or "/tess/"
        draft.url = self.client.url(page, params)
        draft.doing = f"waiting for {subject}"
        try:
            answer = await self.client.fetch(page, params, cookies=cookies)
        except ExofopUnreachableError as exc:
            failure = with_attempts(exc.description, exc.attempts)
            raise Stop(
                "FAIL",
                f"{subject}: {failure}",
                expected="an HTTP answer",
                got=failure,
                hint="Check your network connection and EXOFOP_BASE_URL (or --base-url).",
            ) from None
        response = answer.response
        draft.http_status = response.status_code
        draft.attempts = answer.attempts
        if answer.attempts > 1:
            draft.details.append(f"{answer.attempts} attempts (transient failures are retried)")
        draft.doing = None
        return response

    def redirects(self, response: httpx.Response) -> str | None:
        """``'302 → /tess/login.php?ref=…'`` when the answer came after redirects."""
        if not response.history:
            return None
        steps = []
        for step in response.history:
            location = step.headers.get("Location", "?")
            steps.append(f"{step.status_code} → {public_url(location)}")
        return ", ".join(steps)

    def evidence(self, response: httpx.Response, body: bytes | None = None, total: int | None = None) -> str:
        data = response.content if body is None else body
        parts = [f"HTTP {response.status_code}"]
        redirects = self.redirects(response)
        if redirects:
            parts.append(f"after redirects ({redirects}) at {public_url(response.url)}")
        content_type = response.headers.get("Content-Type")
        if content_type:
            parts.append(f"Content-Type {content_type}")
        parts.append(describe_bytes(data[:SNIFF_BYTES], total_size=len(data) if total is None else total))
        return ", ".join(parts)

    def expect_success(self, draft: Draft, response: httpx.Response, page: str, expected: str) -> None:
        draft.expected = expected
        draft.got = self.evidence(response)
        if response.is_success:
            return
        status = response.status_code
        kind = "a server error" if status >= 500 else "rate limiting" if status == 429 else "an error"
        after = f" after {draft.attempts} attempts" if draft.attempts > 1 else ""
        hint = (
            "The site may be down or under maintenance; try again later."
            if status >= 500 or status == 429
            else "Check EXOFOP_BASE_URL; if it is right, " + SITE_CHANGED_HINT
        )
        raise Stop("FAIL", f"{page} answered HTTP {status} ({kind}){after}", hint=hint)

    def expect_pipe_text(self, draft: Draft, response: httpx.Response, page: str, what: str) -> str:
        """The answer's text if it may be a pipe table; stops with a precise reason otherwise."""
        expected = f"HTTP 200 and a pipe table ({what})"
        self.expect_success(draft, response, page, expected)
        body = response.content
        kind = sniff_body(body[:SNIFF_BYTES])
        redirects = self.redirects(response)
        moved = f" was redirected ({redirects}) and" if redirects else ""
        if kind == "empty":
            self.empty_bodies.append(page)
            raise Stop(
                "FAIL",
                f"{page}{moved} answered an empty body instead of a pipe table (not even a header line)",
                hint=THROTTLED_HINT,
            )
        if kind == "html_login":
            raise Stop(
                "FAIL",
                f"{page}{moved} answered a login page (HTML) instead of a pipe table",
                hint="ExoFOP now asks for a login for this page, or the base URL points to a login portal. "
                + SITE_CHANGED_HINT,
            )
        if kind.startswith("html"):
            raise Stop(
                "FAIL",
                f"{page}{moved} answered an HTML page{titled(body)} instead of a pipe table",
                hint="The site may be down for maintenance (try again later); if it persists, " + SITE_CHANGED_HINT,
            )
        if kind in ("zip", "binary"):
            raise Stop(
                "FAIL",
                f"{page}{moved} answered binary data instead of a pipe table: {describe_bytes(body[:SNIFF_BYTES])}",
                hint=SITE_CHANGED_HINT,
            )
        if redirects:
            draft.details.append(f"redirected: {redirects}")
        return response.text

    def check_columns(self, draft: Draft, text: str, record: type[TableRecord], page: str) -> list[str]:
        """The header, after the core's own check (:func:`check_pipe_table`) for the required columns."""
        header = split_header(text.lstrip())
        draft.got = f"{draft.got}; {columns_text(header)}" if draft.got else columns_text(header)
        try:
            check_pipe_table(text, record.required_columns, page=page)
        except ExofopMcpError as exc:
            missing = [c for c in record.required_columns if c not in header]
            kind = KIND_OF.get(record)
            known = set(record_columns(record)) | set(DOCUMENTED_COLUMNS[kind] if kind else ())
            if missing:
                first_line = text.lstrip().split("\n", 1)[0][:80]
                raise Stop(
                    "FAIL",
                    f"{page}: the table lacks the required column(s) {missing_text(missing, header, known)}; "
                    f"its first line is {first_line!r}",
                    expected=f"a pipe table whose header holds {', '.join(map(repr, record.required_columns))}",
                    hint=SITE_CHANGED_HINT,
                ) from None
            raise Stop("FAIL", f"{page}: {exc.message}", hint=SITE_CHANGED_HINT) from None
        return header

    # -- 1. reachable --------------------------------------------------------------------------------

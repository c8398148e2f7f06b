"""Running ``exofop-mcp doctor``: every check in order, each time-boxed, into one :class:`DoctorReport`.

A check is a coroutine that fills a :class:`~exofop_mcp.doctor.report.Draft` and returns its summary
(PASS, or WARN when it noted warnings) or raises :class:`~exofop_mcp.doctor.report.Stop`; a check that
runs out of time or breaks is a FAIL that says so, and never hides the others.  When the site is
unreachable, the checks that need it are skipped.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Literal

from exofop_mcp import __version__
from exofop_mcp.doctor.local_checks import LocalChecks, versions
from exofop_mcp.doctor.render import report_block
from exofop_mcp.doctor.report import (
    CHECK_TITLES,
    Check,
    CheckStatus,
    DoctorOptions,
    DoctorReport,
    Draft,
    Stop,
    public_url,
    scrub,
)
from exofop_mcp.doctor.shape_checks import ShapeChecks
from exofop_mcp.doctor.site_checks import SiteChecks
from exofop_mcp.doctor.tag_check import TagArchiveCheck
from exofop_mcp.doctor.text_checks import TextChecks
from exofop_mcp.settings import Settings
from exofop_mcp.site.client import ExofopClient

Step = Callable[[Draft], Awaitable[str]]


class Doctor:
    """Runs the checks against ``settings.base_url``; see :mod:`exofop_mcp.doctor`."""

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
        self.retry = self.options.retry_policy(settings.retry_base_delay)
        self.unreachable: str | None = None

    def _steps(self, site: SiteChecks) -> list[tuple[str, Step, bool]]:
        """(name, check, needs the site), in the order of :data:`CHECK_TITLES`."""
        tag = TagArchiveCheck(site)
        shapes = ShapeChecks(site)
        text = TextChecks(site)
        site.text_seen = text.note_table
        local = LocalChecks(self.settings, environ=self.environ)
        return [
            ("reachable", site.reachable, True),
            ("toi_table", site.toi_table, True),
            ("toi_table_full", site.toi_table_full, True),
            ("name_resolver", site.name_resolver, True),
            ("name_shapes", shapes.name_shapes, True),
            ("time_series", site.observation_check("time_series"), True),
            ("spectroscopy", site.observation_check("spectroscopy"), True),
            ("imaging", site.observation_check("imaging"), True),
            ("stellar_companions", site.observation_check("stellar_companions"), True),
            ("observing_notes", text.observing_notes, True),
            ("target_json", text.target_json, True),
            ("tag_download", tag.tag_download, True),
            ("login", local.login, False),
            ("session", site.session, True),
            ("login_answer", shapes.login_answer, True),
            ("settings", local.settings_check, False),
        ]

    async def run(self) -> DoctorReport:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        checks: list[Check] = []
        shapes: dict[str, str] = {}
        async with ExofopClient(self.settings, retry=self.retry) as client:
            client.prepare()  # outside every check's time budget
            site = SiteChecks(client, self.settings, self.options, environ=self.environ)
            for name, step, needs_site in self._steps(site):
                if needs_site and self.unreachable is not None and name != "reachable":
                    checks.append(self._skipped(name, f"not run: {self.unreachable}"))
                    continue
                check = await self._run_check(name, step)
                checks.append(check)
                if name == "reachable" and check.status == "FAIL" and check.http_status is None:
                    self.unreachable = f"{public_url(self.settings.base_url)} is unreachable"
            if site.empty_bodies:
                pages = ", ".join(dict.fromkeys(site.empty_bodies))
                site.shapes["empty_body"] = f"HTTP 200 with an empty body from {pages} (ExoFOP throttling)"
            shapes = {key: scrub(value) for key, value in site.shapes.items()}
        counts = {status: sum(1 for c in checks if c.status == status) for status in ("PASS", "WARN", "FAIL", "SKIP")}
        overall: Literal["PASS", "WARN", "FAIL"] = "FAIL" if counts["FAIL"] else "WARN" if counts["WARN"] else "PASS"
        report = DoctorReport(
            version=__version__,
            versions=versions(),
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
                "multi_target": self.options.multi_target,
                "try_login": self.options.try_login,
            },
            status=overall,
            exit_code=1 if counts["FAIL"] else 0,
            counts=counts,
            checks=checks,
            shapes=shapes,
        )
        report.report_text = report_block(report)
        return report

    def _skipped(self, name: str, summary: str) -> Check:
        return Check(name=name, title=CHECK_TITLES[name], status="SKIP", summary=scrub(summary))

    async def _run_check(self, name: str, step: Step) -> Check:
        draft = Draft(name)
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
        except Stop as stop:
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


async def run_doctor(
    settings: Settings, options: DoctorOptions | None = None, *, environ: Mapping[str, str] | None = None
) -> DoctorReport:
    """Run every check against ``settings.base_url`` and return the report."""
    return await Doctor(settings, options, environ=environ).run()

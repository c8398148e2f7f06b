"""The checks that ask ExoFOP's pages (tables, name resolver, home page) whether they still answer as assumed.

Each check judges the answer with the same code the tools use
(:func:`~exofop_mcp.site.pipe_table.check_pipe_table`, :func:`~exofop_mcp.site.pipe_table.read_pipe_table`,
the record models, :func:`~exofop_mcp.site.catalog.parse_toi_table`), so a PASS means the tools will
understand the site.  What one check learns (the star's TIC, its TOI rows, its time-series tags) is
kept for the later ones.  The tag archive is checked in :mod:`exofop_mcp.doctor.tag_check`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from exofop_mcp.auth.login_status import current_login_status
from exofop_mcp.auth.session_pool import SessionPool
from exofop_mcp.doctor.columns import (
    DOCUMENTED_COLUMNS,
    OBSERVATION_RECORDS,
    TOI_COUNT_FIELDS,
    ObservationCheck,
    missing_text,
    record_columns,
)
from exofop_mcp.doctor.probe import SITE_CHANGED_HINT, Probe
from exofop_mcp.doctor.report import MIN_FULL_TOI_ROWS, DoctorOptions, Draft, Stop, public_url
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.settings import Settings
from exofop_mcp.site.catalog import CatalogEntry, parse_toi_table
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.records import TableRecord, TOIRecord, read_record_table
from exofop_mcp.site.resolver import NAME_RESOLVER_PAGE, tic_list
from exofop_mcp.site.responses import SNIFF_BYTES, describe_bytes
from exofop_mcp.text_format import format_bytes


class SiteChecks(Probe):
    """``reachable``, ``toi_table``, ``toi_table_full``, ``name_resolver``, the observation tables and ``session``."""

    def __init__(
        self, client: ExofopClient, settings: Settings, options: DoctorOptions, *, environ: Mapping[str, str]
    ) -> None:
        super().__init__(client, settings, options)
        self.environ = environ
        # What earlier checks learnt, for later ones.
        self.tic: int | None = None
        self.tic_source: str | None = None
        self.toi_entries: list[CatalogEntry] = []
        self.time_series_tags: list[int] = []
        self.time_series_ok = False
        #: How the site answered where its behaviour is not documented (``DoctorReport.shapes``).
        self.shapes: dict[str, str] = {}
        #: Told the text of every table read (see ``text_checks.TextChecks.note_table``).
        self.text_seen: Callable[[Draft, str, type[TableRecord], str], None] | None = None

    # -- 1. reachable --------------------------------------------------------------------------------

    async def reachable(self, draft: Draft) -> str:
        started = time.monotonic()
        try:
            response = await self.get(draft, "")
        except Stop as stop:
            stop.summary = f"{public_url(self.settings.base_url)} is unreachable: {stop.got}"
            raise
        seconds = time.monotonic() - started
        draft.expected = "an HTTP 2xx answer from /tess/"
        draft.got = self.evidence(response)
        redirects = self.redirects(response)
        if redirects:
            draft.details.append(f"redirected: {redirects}")
            final_host = response.url.host
            if final_host != httpx.URL(self.settings.base_url).host:
                draft.warnings.append(
                    f"/tess/ redirects to another host ({final_host}); set EXOFOP_BASE_URL to "
                    f"{response.url.scheme}://{final_host} to save a round trip"
                )
        if not response.is_success:
            raise Stop(
                "FAIL",
                f"{public_url(self.settings.base_url)}/tess/ answered HTTP {response.status_code}",
                hint="Check EXOFOP_BASE_URL: it should be the site root, e.g. https://exofop.ipac.caltech.edu.",
            )
        draft.details.append(f"answered in {seconds:.2f} s: {self.evidence(response)}")
        return f"{public_url(self.client.url(''))} answered HTTP {response.status_code} in {seconds:.2f} s"

    # -- 2. TOI table --------------------------------------------------------------------------------

    async def toi_table(self, draft: Draft) -> str:
        host = self.options.toi
        page = TOIRecord.page
        response = await self.get(draft, page, {"toi": str(host), "output": "pipe"})
        text = self.expect_pipe_text(draft, response, page, f"the rows of TOI-{host}")
        header = self.check_columns(draft, text, TOIRecord, page)
        if self.text_seen is not None:
            self.text_seen(draft, text, TOIRecord, f"TOI-{host}'s rows")
        try:
            entries = await asyncio.to_thread(parse_toi_table, text, page=page)
        except ExofopMcpError as exc:
            raise Stop("FAIL", f"{page}: the table does not parse: {exc.message}", hint=SITE_CHANGED_HINT) from None
        mine = [e for e in entries if e.host == host]
        if not mine:
            raise Stop(
                "FAIL",
                f"{page}?toi={host} has no row for TOI-{host} ({len(entries)} row(s) came back)",
                expected=f"at least one row whose TOI is {host}.NN",
                hint=f"Check that TOI-{host} exists (--toi N picks another host); otherwise " + SITE_CHANGED_HINT,
            )
        self.toi_entries = mine
        first = mine[0]
        self.tic, self.tic_source = first.record.tic_id, "the TOI table"
        missing_coordinates = [c for c in ("RA", "Dec") if c not in header]
        if missing_coordinates:
            raise Stop(
                "FAIL",
                f"{page}: the table lacks {missing_text(missing_coordinates, header)}, so coordinates cannot be read",
                expected="RA and Dec columns in sexagesimal form (19:05:30.24, -41:26:15.5)",
                hint=SITE_CHANGED_HINT,
            )
        bad = [e for e in mine if e.ra_deg is None or e.dec_deg is None]
        if bad:
            sample = bad[0].record
            raise Stop(
                "FAIL",
                f"{page}: RA/Dec of TOI {sample.toi} do not convert to degrees (RA {sample.ra!r}, Dec {sample.dec!r})",
                expected="sexagesimal RA and Dec such as '19:05:30.24' and '-41:26:15.5'",
                hint=SITE_CHANGED_HINT,
            )
        read = [c for c in record_columns(TOIRecord) if c not in TOIRecord.required_columns]
        absent = [c for c in read if c not in header]
        if absent:
            absent_text = missing_text(absent, header, record_columns(TOIRecord))
            draft.warnings.append(
                f"the table lacks column(s) the catalog reads: {absent_text} (those values will be empty)"
            )
            draft.expected = f"the columns the catalog reads: {', '.join(map(repr, record_columns(TOIRecord)))}"
            draft.hint = SITE_CHANGED_HINT
        tois = ", ".join(e.record.toi or "?" for e in mine)
        assert first.ra_deg is not None and first.dec_deg is not None
        return (
            f"TOI-{host}: {len(mine)} row(s) ({tois}), TIC {first.record.tic_id}, "
            f"RA {first.ra_deg:.4f}°, Dec {first.dec_deg:.4f}°; {len(header)} columns"
        )

    async def toi_table_full(self, draft: Draft) -> str:
        if not self.options.full:
            raise Stop("SKIP", "not run (add --full to download and parse the whole TOI table, ~3.6 MB)")
        page = TOIRecord.page
        started = time.monotonic()
        response = await self.get(draft, page, {"output": "pipe", "sort": "toi"})
        text = self.expect_pipe_text(draft, response, page, "the whole TOI table")
        self.check_columns(draft, text, TOIRecord, page)
        try:
            entries = await asyncio.to_thread(parse_toi_table, text, page=page)
        except ExofopMcpError as exc:
            raise Stop("FAIL", f"{page}: the table does not parse: {exc.message}", hint=SITE_CHANGED_HINT) from None
        seconds = time.monotonic() - started
        size = len(response.content)
        if len(entries) < MIN_FULL_TOI_ROWS:
            raise Stop(
                "FAIL",
                f"the whole TOI table has only {len(entries):,} row(s) ({format_bytes(size)})",
                expected=f"thousands of rows (at least {MIN_FULL_TOI_ROWS:,}; about 7,700 in 2025)",
                hint=SITE_CHANGED_HINT,
            )
        hosts = {e.host for e in entries if e.host is not None}
        unconverted = sum(1 for e in entries if e.ra_deg is None or e.dec_deg is None)
        draft.details.append(f"{len(hosts):,} host stars; {unconverted:,} row(s) whose RA/Dec do not convert")
        if unconverted > len(entries) // 100:
            draft.warnings.append(f"{unconverted:,} rows have RA/Dec that do not convert to degrees")
        return f"{len(entries):,} rows ({format_bytes(size)}) parsed in {seconds:.1f} s"

    # -- 3. name resolver ---------------------------------------------------------------------------

    async def name_resolver(self, draft: Draft) -> str:
        target = self.options.resolver_target
        page = NAME_RESOLVER_PAGE
        response = await self.get(draft, page, {"target": target, "json": ""})
        shape = '{"status":"OK","num":1,"TIC":"<digits>"}'
        self.expect_success(draft, response, page, f"HTTP 200 and JSON {shape}")
        try:
            answer: Any = json.loads(response.text)
        except ValueError:
            raise Stop(
                "FAIL",
                f"{page} did not answer JSON for {target!r}: {describe_bytes(response.content[:SNIFF_BYTES])}",
                hint=SITE_CHANGED_HINT,
            ) from None
        draft.got = f"HTTP {response.status_code}, {json.dumps(answer)[:300]}"
        if not isinstance(answer, dict) or "status" not in answer:
            raise Stop("FAIL", f"{page} answered JSON without a 'status' field for {target!r}", hint=SITE_CHANGED_HINT)
        status = str(answer.get("status"))
        if status.upper() != "OK":
            message = answer.get("message")
            raise Stop(
                "FAIL",
                f"{page} did not resolve {target!r}: status {status!r}" + (f", {message!r}" if message else ""),
                hint=f"Check that {target!r} is known to ExoFOP (--target NAME asks for another); otherwise "
                + SITE_CHANGED_HINT,
            )
        tics = tic_list(answer.get("TIC"))
        if not tics:
            raise Stop(
                "FAIL",
                f"{page} answered status OK but no usable TIC id for {target!r} (TIC is {answer.get('TIC')!r})",
                hint=SITE_CHANGED_HINT,
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
            draft.hint = SITE_CHANGED_HINT
        return f"{target!r} → TIC {', '.join(map(str, tics))} (status OK, num {num})"

    # -- 4. observation tables ------------------------------------------------------------------------

    def observation_check(self, kind: ObservationCheck) -> Callable[[Draft], Awaitable[str]]:
        async def check(draft: Draft) -> str:
            return await self.observation_table(draft, kind)

        return check

    async def observation_table(self, draft: Draft, kind: ObservationCheck) -> str:
        record = OBSERVATION_RECORDS[kind]
        page = record.page
        target = str(self.tic) if self.tic is not None else f"TOI{self.options.toi}"
        if self.tic is None:
            draft.details.append(f"the TIC id is unknown (the TOI table and name resolver failed): asked for {target}")
        else:
            draft.details.append(f"TIC {self.tic} (from {self.tic_source})")
        response = await self.get(draft, page, {"target": target, "output": "pipe"})
        text = self.expect_pipe_text(draft, response, page, f"{kind.replace('_', ' ')} rows of {target}")
        header = self.check_columns(draft, text, record, page)
        try:
            raw = await asyncio.to_thread(read_record_table, text, record)
            rows = [record.model_validate(r) for r in raw]
        except ExofopMcpError as exc:
            raise Stop("FAIL", f"{page}: the table does not parse: {exc.message}", hint=SITE_CHANGED_HINT) from None
        except ValueError as exc:
            raise Stop("FAIL", f"{page}: a row does not fit the {record.__name__} model: {exc}") from None
        if self.text_seen is not None:
            self.text_seen(draft, text, record, kind.replace("_", " "))
        documented = DOCUMENTED_COLUMNS[kind]
        missing = [c for c in documented if c not in header]
        extra = [c for c in header if c and c not in documented]
        if missing:
            draft.warnings.append(f"documented column(s) missing: {missing_text(missing, header, documented)}")
        if extra:
            draft.warnings.append(f"unexpected extra column(s): {', '.join(map(repr, extra))}")
        if missing or extra:
            draft.expected = f"the documented columns: {', '.join(map(repr, documented))}"
            draft.hint = SITE_CHANGED_HINT
        tags = sorted({t for r in rows if (t := getattr(r, "tag", None)) is not None})
        untagged = sum(
            1 for r, cells in zip(rows, raw, strict=True) if cells.get("Tag") and getattr(r, "tag", None) is None
        )
        if untagged:
            draft.warnings.append(f"{untagged} row(s) have a Tag that is not a number")
        count_field = TOI_COUNT_FIELDS.get(kind)
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

    # -- 6. the stored session, asked of the site ------------------------------------------------------

    async def session(self, draft: Draft) -> str:
        status = current_login_status(self.settings, environ=self.environ)
        if not status.logged_in:
            raise Stop("SKIP", "not logged in: no session to check")
        if not self.options.check_session:
            raise Stop("SKIP", "not asked (add --check-session to ask the site once whether the session is accepted)")
        pool = SessionPool.from_settings(self.settings, environ=self.environ)
        async with pool.lease(timeout=5.0) as cookies:
            if cookies is None:
                raise Stop("SKIP", "no free stored session to check")
            response = await self.get(draft, "index.php", cookies=cookies)
        self.expect_success(draft, response, "index.php", "the home page showing a Logout link")
        text = response.text[:200_000]
        draft.details.append("assumed: ExoFOP's home page shows a Logout link to logged-in visitors")
        if re.search(r"log\s*-?\s*out", text, re.IGNORECASE):
            return f"ExoFOP accepts the stored session of {status.username} (its home page offers Logout)"
        if re.search(r"\blog\s*-?\s*in\b|login\.php", text, re.IGNORECASE):
            raise Stop(
                "FAIL",
                f"ExoFOP does not recognise the stored session of {status.username}: its home page offers Login",
                hint=f"The login ended on the site; run `{status.action or 'exofop-mcp login'}` in a terminal.",
            )
        raise Stop(
            "WARN",
            "could not tell whether the session is accepted: the home page shows neither Login nor Logout",
            hint="Nothing to do unless proprietary downloads fail with login_required.",
        )

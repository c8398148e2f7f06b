"""``tag_download``: one public tag's archive, fetched like a download and checked as a zip.

The archive is streamed through the client (:meth:`~exofop_mcp.site.client.ExofopClient.stream_attempt`,
retried by its one loop with the doctor's policy) into a temporary directory that is removed afterwards,
then judged with the download's own code (:func:`~exofop_mcp.site.responses.sniff_body`,
:func:`~exofop_mcp.downloads.archive_extraction.inspect_zip`) and a CRC test of every member.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from exofop_mcp.doctor.probe import SITE_CHANGED_HINT, with_attempts
from exofop_mcp.doctor.report import TEMP_PREFIX, Draft, Stop
from exofop_mcp.doctor.site_checks import SiteChecks
from exofop_mcp.downloads.archive_extraction import inspect_zip
from exofop_mcp.downloads.archive_plan import ZipPlan
from exofop_mcp.downloads.transfer import TAG_ZIP_PAGE
from exofop_mcp.errors import ArchiveError, CorruptArchive, UnsafeArchive
from exofop_mcp.site.client import TransientFailure
from exofop_mcp.site.responses import SNIFF_BYTES, describe_bytes, sniff_body
from exofop_mcp.site.retry_policy import is_retryable_status, parse_retry_after
from exofop_mcp.text_format import format_bytes


@dataclass
class _TagBody:
    response: httpx.Response
    head: bytes
    size: int
    complete: bool
    attempts: int
    #: Seconds from sending the request to the first body byte, and from then to the body's end.
    first_byte_seconds: float = 0.0
    body_seconds: float = 0.0


class TagArchiveCheck:
    """Downloads one tag (``--tag N``, else the first tag the time-series check found) and judges it."""

    def __init__(self, site: SiteChecks) -> None:
        self.site = site
        self.options = site.options

    async def tag_download(self, draft: Draft) -> str:
        tag = self.options.tag
        if tag is None:
            if not self.site.time_series_tags:
                reason = (
                    "the time-series table listed no tag"
                    if self.site.time_series_ok
                    else "the time-series table could not be read"
                )
                raise Stop("SKIP", f"no tag to try: {reason} (give one with --tag N)")
            tag = self.site.time_series_tags[0]
            draft.details.append(f"tag {tag}: the first tag of the time-series table (oldest observation)")
        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as temp:
            archive = Path(temp) / f"tag_{tag}.zip"
            body = await self._fetch_tag(draft, tag, archive)
            return await self._judge_tag(draft, tag, body, archive)

    async def _fetch_tag(self, draft: Draft, tag: int, destination: Path) -> _TagBody:
        client = self.site.client
        params = {"tag": str(tag)}
        draft.url = client.url(TAG_ZIP_PAGE, params)
        draft.doing = f"downloading tag {tag}"
        # The last answer asked to be retried, kept in case no attempt is left: then it is judged as it is.
        busy: _TagBody | None = None

        async def attempt(number: int) -> _TagBody:
            nonlocal busy
            started = time.monotonic()
            async with client.stream_attempt(TAG_ZIP_PAGE, params) as response:
                body = await self._read_tag_body(response, destination, number, started)
            if is_retryable_status(response.status_code):
                busy = body
                raise TransientFailure(
                    f"HTTP {response.status_code}",
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    response=response,
                )
            return body

        try:
            body = await client.retrying(f"tag {tag}", attempt)
        except TransientFailure as failure:
            if failure.response is None or busy is None:
                text = with_attempts(failure.reason, failure.attempts)
                raise Stop(
                    "FAIL",
                    f"tag {tag}: {text}",
                    expected="a zip archive",
                    got=text,
                    hint="A transfer that keeps breaking off makes downloads fail too; try again later.",
                ) from None
            body = busy
        draft.http_status = body.response.status_code
        return body

    async def _read_tag_body(
        self, response: httpx.Response, destination: Path, attempts: int, started: float
    ) -> _TagBody:
        chunks = response.aiter_bytes(SNIFF_BYTES)
        head = bytearray()
        first_byte: float | None = None
        async for chunk in chunks:
            if first_byte is None and chunk:
                first_byte = time.monotonic()
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        first_byte = first_byte or time.monotonic()
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
        return _TagBody(
            response,
            bytes(head),
            size,
            complete=complete,
            attempts=attempts,
            first_byte_seconds=first_byte - started,
            body_seconds=time.monotonic() - first_byte,
        )

    async def _judge_tag(self, draft: Draft, tag: int, body: _TagBody, archive: Path) -> str:
        response = body.response
        headers = response.headers
        declared_raw = headers.get("Content-Length")
        encoding = headers.get("Transfer-Encoding")
        draft.expected = "HTTP 200 and a zip archive (starting with 'PK'), complete and with valid CRCs"
        draft.got = self.site.evidence(response, body.head, body.size if body.complete else None)
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
        timing = ""
        if sniff_body(body.head[:4]) == "zip":
            timing = f"first byte after {body.first_byte_seconds:.2f} s, body in {body.body_seconds:.2f} s"
            slow_start = body.first_byte_seconds > max(1.0, body.body_seconds)
            built = " (the zip is built before its first byte is sent)" if slow_start else ""
            self.site.shapes["archive_timing"] = f"{timing} for {format_bytes(body.size)}{built}"
            draft.details.append(f"time to first byte versus body: {timing}{built}")
            timing = f"; {timing}"
        redirects = self.site.redirects(response)
        moved = f" (after redirects: {redirects})" if redirects else ""
        if response.status_code == 404:
            raise Stop(
                "FAIL",
                f"tag {tag}: HTTP 404{moved}, the tag does not exist",
                hint="Check the tag number (exofop-mcp doctor --tag N).",
            )
        if not response.is_success:
            raise Stop(
                "FAIL",
                f"tag {tag}: {TAG_ZIP_PAGE} answered HTTP {response.status_code}{moved}",
                hint="The site may be down or under maintenance; try again later.",
            )
        kind = sniff_body(body.head)
        if kind != "zip":
            what = describe_bytes(body.head)
            if kind == "html_login":
                raise Stop(
                    "FAIL",
                    f"tag {tag}: ExoFOP answered its login page instead of a zip{moved}: the tag is proprietary "
                    "(TFOP data stays private for 12 months) or the site now asks for a login for every download",
                    hint="Pick a public tag with --tag N; if public tags get the login page too, " + SITE_CHANGED_HINT,
                )
            if kind == "html_no_files":
                summary = f"tag {tag}: ExoFOP answered a page saying the tag has no files{moved}"
                hint = "Pick another tag with --tag N."
            elif kind == "html_not_found":
                summary = f"tag {tag}: ExoFOP answered a page saying the tag does not exist{moved}"
                hint = "Check the tag number (--tag N)."
            elif kind == "empty":
                summary = f"tag {tag}: ExoFOP answered an empty body{moved}"
                hint = "Try again later; if it persists, " + SITE_CHANGED_HINT
            else:
                summary = f"tag {tag}: ExoFOP answered something that is not a zip{moved}: {what}"
                hint = SITE_CHANGED_HINT
            raise Stop("FAIL", summary, hint=hint)
        if not body.complete:
            draft.warnings.append(
                f"the archive is larger than {format_bytes(self.options.max_tag_bytes)}: only its start was checked "
                "(it is a zip); pick a smaller tag with --tag N to check a whole archive"
            )
            return f"tag {tag}: a zip ({length_note}){timing}"
        if declared_raw is not None and declared_raw.isdigit() and not headers.get("Content-Encoding"):
            declared = int(declared_raw)
            if body.size < declared:
                raise Stop(
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
        draft.details.append(f"{len(files)} file(s), {format_bytes(plan.total_uncompressed)} unpacked")
        return f"tag {tag}: valid zip, {format_bytes(body.size)}, {len(files)} file(s){layout}; {length_note}{timing}"

    @staticmethod
    def _verify_zip(archive: Path, tag: int) -> ZipPlan:
        try:
            plan = inspect_zip(archive)
        except UnsafeArchive as exc:
            raise Stop(
                "FAIL",
                f"tag {tag}: the zip would be refused as unsafe: {exc.reason}",
                hint="download_tags will refuse this tag (unsafe_archive); tell the ExoFOP team about it.",
            ) from None
        except CorruptArchive as exc:
            raise Stop("FAIL", f"tag {tag}: not a valid zip: {exc.reason}", hint=exc.hint) from None
        except ArchiveError as exc:
            raise Stop("FAIL", f"tag {tag}: the zip cannot be used: {exc.reason}", hint=exc.hint) from None
        try:
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise Stop(
                "FAIL",
                f"tag {tag}: not a valid zip: its data is damaged ({type(exc).__name__}: {exc})",
                hint="Try again later; if it persists, the archive is broken on the site: tell the ExoFOP team.",
            ) from None
        if bad is not None:
            raise Stop(
                "FAIL",
                f"tag {tag}: not a valid zip: member {bad!r} fails its CRC check (damaged data)",
                hint="Try again later; if it persists, the archive is broken on the site: tell the ExoFOP team.",
            )
        return plan

    # -- 6. login -------------------------------------------------------------------------------------------

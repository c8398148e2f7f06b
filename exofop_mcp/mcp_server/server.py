"""The MCP server: a thin translation of the core's operations into MCP tools.

Each tool's input schema comes from one pydantic request model (its fields
become the tool's arguments) and its output schema from one result model.
Errors of the core become MCP tool errors whose text is the error's code in
brackets and then its actionable message (``[not_found] ...``, see
:mod:`exofop_mcp.errors`); malformed arguments are ``[invalid_request]``;
anything unexpected is logged to stderr and reported as ``[internal_error]``
without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ResourceLink
from pydantic import BaseModel, Field

from exofop_mcp import __version__
from exofop_mcp.api import Exofop
from exofop_mcp.auth.login_status import LoginStatus
from exofop_mcp.downloads.inventory import DownloadsInventory, ListDownloadsRequest
from exofop_mcp.downloads.jobs import RESULTS_PAGE, DownloadReport
from exofop_mcp.downloads.request_models import FINAL_OK, MAX_WAIT_SECONDS, DownloadTagsRequest
from exofop_mcp.lightcurves.reports import ExtractionReport, ExtractionStatusRequest, ExtractLightCurvesRequest
from exofop_mcp.mcp_server.followup_tools import register_followup_tools
from exofop_mcp.mcp_server.plan_tools import register_plan_tools
from exofop_mcp.mcp_server.preview_tools import register_preview_tools
from exofop_mcp.mcp_server.prompts import register_prompts
from exofop_mcp.mcp_server.resources import register_resources
from exofop_mcp.mcp_server.search_tools import register_search_tools
from exofop_mcp.mcp_server.summaries import (
    download_summary,
    extraction_summary,
    inventory_summary,
    login_summary,
    page_summary,
    system_summary,
)
from exofop_mcp.mcp_server.tool_registration import (
    ADDS_FILES,
    LOCAL_READ_ONLY,
    LOCAL_WRITES,
    READ_ONLY,
    STOPS_JOB,
    ExofopServer,
    NoArguments,
    add_model_tool,
)
from exofop_mcp.previews.locate import mime_type_of
from exofop_mcp.previews.preview import resource_uri
from exofop_mcp.settings import Settings
from exofop_mcp.site.http_stack import start_warm_up
from exofop_mcp.site.observations import ListObservationsRequest, ObservationPage
from exofop_mcp.site.resolver import ResolvedSystem, ResolveSystemRequest

log = logging.getLogger(__name__)

SERVER_NAME = "exofop"

INSTRUCTIONS = """\
ExoFOP-TESS follow-up data. 1) resolve_system turns any TIC id, TOI or star name into one system \
(canonical name, TIC, planet candidates, observation counts).
2) list_observations shows what was observed for that system by kind (time_series, spectroscopy, \
imaging, ...), with filters and paging; its `tags` field lists every matching upload tag.
3) download_tags fetches those tags into the local sandbox (poll download_status while state is \
'running'); list_downloads shows what is on disk; login_status tells whether proprietary data is reachable; \
extract_light_curves turns downloaded time-series tags into standardised light curves (ECSV in BJD_TDB plus a \
plot with the predicted transit window; poll extraction_status while state is 'running'); plan_transits \
answers "which TOI transits can my telescope catch tonight (or this month)?" for a named \
observatory or raw coordinates, with times, altitudes, Moon, priorities and observable fractions; \
follow_up_status says where a TOI's follow-up stands and what is missing, whats_new what changed since a date \
on given systems or the user's watch list."""

# -- tool handlers: translate, nothing more ---------------------------------------


async def _resolve(exofop: Exofop, request: ResolveSystemRequest, ctx: Context) -> ResolvedSystem:
    return await exofop.resolve_system(request.query)


async def _list(exofop: Exofop, request: ListObservationsRequest, ctx: Context) -> ObservationPage:
    return await exofop.list_observations_for(request)


async def _download(exofop: Exofop, request: DownloadTagsRequest, ctx: Context) -> DownloadReport:
    job = await exofop.start_download(request)
    progress = _ProgressSink(ctx)
    # wait_seconds bounds the call
    report = await exofop.jobs.wait(job, job.remaining(request.wait_seconds), progress, limit=RESULTS_PAGE)
    await progress.settle()
    return report


async def _download_status(exofop: Exofop, request: DownloadStatusRequest, ctx: Context) -> DownloadReport:
    job = exofop.jobs.get(request.job_id)
    progress = _ProgressSink(ctx)
    report = await exofop.jobs.wait(
        job, request.wait_seconds, progress, offset=request.results_offset, limit=RESULTS_PAGE
    )
    await progress.settle()
    return report


async def _cancel(exofop: Exofop, request: JobRequest, ctx: Context) -> DownloadReport:
    return await exofop.cancel_download(request.job_id, limit=RESULTS_PAGE)


#: Resource links in a download result: the first file of each complete tag on the page, at most this many.
MAX_DOWNLOAD_LINKS = 10


def download_links(report: DownloadReport) -> list[ResourceLink]:
    """``exofop://{system}/{path}`` links to the first file of the first complete tags of the page."""
    links: list[ResourceLink] = []
    for result in report.results:
        if len(links) >= MAX_DOWNLOAD_LINKS:
            break
        if result.status not in FINAL_OK or not result.files:
            continue
        path = result.files[0]
        more = f" (first of {result.file_count} files; the others are under {result.directory})"
        links.append(
            ResourceLink(
                name=path.rsplit("/", 1)[-1],
                uri=resource_uri(report.system, path),
                description=f"tag {result.tag}" + (more if result.file_count > 1 else ""),
                mime_type=mime_type_of(path),
            )
        )
    return links


async def _list_downloads(exofop: Exofop, request: ListDownloadsRequest, ctx: Context) -> DownloadsInventory:
    return await exofop.list_downloads(request.system)


class _ProgressSink:
    """Sends a call's progress notifications (best effort: a failure never fails the download)."""

    #: Some clients (the TypeScript SDK among them) handle a notification a moment after reading it,
    #: and drop a progress notification that arrives together with the call's answer; so the answer
    #: leaves this long after the last notification.
    SETTLE_SECONDS = 0.05

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.last_sent: float | None = None
        #: The client asked for progress (a token in the request's ``_meta``): without one nothing is
        #: sent, so the answer need not wait for anything.
        meta = ctx.request_context.meta
        self.wanted = meta is not None and meta.get("progress_token") is not None

    async def __call__(self, done: int, total: int, message: str) -> None:
        with contextlib.suppress(Exception):
            await self.ctx.report_progress(done, total, message=message)
            if self.wanted:
                self.last_sent = time.monotonic()

    async def settle(self) -> None:
        if self.last_sent is not None:
            await asyncio.sleep(max(0.0, self.last_sent + self.SETTLE_SECONDS - time.monotonic()))


class JobRequest(BaseModel):
    """Arguments naming a download job."""

    job_id: Annotated[
        str,
        Field(description="the job_id from download_tags", min_length=1, max_length=64, pattern=r"^[0-9a-f]+$"),
    ]


class DownloadStatusRequest(JobRequest):
    """Arguments of ``download_status``."""

    wait_seconds: Annotated[
        float,
        Field(
            description="wait up to this long for the job to finish before reporting",
            strict=True,
            ge=0,
            le=MAX_WAIT_SECONDS,
            allow_inf_nan=False,
        ),
    ] = 30.0
    results_offset: Annotated[
        int,
        Field(
            description="per-tag results to skip: pass the previous report's next_results_offset (totals always "
            "cover every tag)",
            strict=True,
            ge=0,
            le=10**6,
        ),
    ] = 0


async def _extract(exofop: Exofop, request: ExtractLightCurvesRequest, ctx: Context) -> ExtractionReport:
    job = await exofop.start_extraction(request)
    await exofop.light_curves.wait(job, request.wait_seconds)
    return job.report(request.offset, request.limit)


async def _extraction_status(exofop: Exofop, request: ExtractionStatusRequest, ctx: Context) -> ExtractionReport:
    return await exofop.extraction_status(request.job_id, request.wait_seconds, request.offset, request.limit)


async def _login_status(exofop: Exofop, request: NoArguments, ctx: Context) -> LoginStatus:
    return exofop.login_status()


RESOLVE_DESCRIPTION = """\
Resolve any TIC id, TOI, planet candidate or common star/planet name (e.g. 'TOI-1130', 'TIC 254113311', \
'toi_1130.02', 'WASP-46', 'TOI-1130 b') to one canonical system: TIC id, host TOI, a stable canonical \
name, every planet candidate with period, duration, depth, radius and dispositions, coordinates in \
degrees, TESS magnitude, and counts of time-series, spectroscopy and imaging observations. \
Start here; then call list_observations with the canonical name."""

LIST_DESCRIPTION = """\
List what ExoFOP holds for a system (anything resolve_system accepts), one kind at a time: time_series \
(ground-based light curves), spectroscopy, imaging, stellar_companions, nearby_targets, \
stellar_parameters, files or observing_notes (what observers wrote about each observation). Optional \
filters: telescope, instrument, filter (band), user, planet, since/until dates. Pages are compact \
(default 25 rows, always under ~20 kB of JSON); use next_offset for more. `tags` lists the upload tags \
of ALL matching rows: pass them to the download tool."""

DOWNLOAD_DESCRIPTION = """\
Download observation tags of a system into the local sandbox: give `tags` (from list_observations) \
and/or `kind` (time_series, spectroscopy, imaging: every tag of that kind, after optional filters). \
Archives are verified and unpacked safely into <data dir>/<system>/<kind>/<tag>/. Returns totals over \
every tag and per-tag results (downloaded, already_present, not_found, login_required, failed, timed_out, \
corrupt, unsafe_archive, empty, locked, other_star: the tag is another star's, named in the message) with \
files and a message saying what to do next, at most 50 per page, tags that need attention first: page on \
with download_status(job_id, results_offset=next_results_offset). Waits at most wait_seconds (default 40): \
if the report says state='running', the download continues in the background: call download_status with \
the job_id until state is 'completed'. Calling again is safe: complete tags are not fetched twice."""

STATUS_DESCRIPTION = """\
Report on a download job started by download_tags, waiting up to wait_seconds for it to finish. Call \
repeatedly while state is 'running'. Totals cover every tag; results come in pages of at most 50, tags \
that need attention first: pass results_offset=next_results_offset for the next page."""

CANCEL_DESCRIPTION = """\
Stop a running download job promptly. Tags already complete stay; nothing partial is left behind."""

LIST_DOWNLOADS_DESCRIPTION = """\
List what is already downloaded in the local sandbox (all systems, or one), from each system's \
manifest: tags, kinds, status, directories. Use it to find files downloaded earlier."""

EXTRACT_DESCRIPTION = """\
Turn a system's downloaded time-series tags (all, or `tags`) into standardised light curves: every \
measurement table (AstroImageJ .tbl/.xls/.csv, MuSCAT-style counts, PEST/KeplerCam files, headerless \
tables, tables in subfolders and zips) becomes an ECSV file with bjd_tdb (full BJD in TDB, converted \
from JD_UTC/HJD_UTC, as astropy does, when needed), flux, flux_err and detrending columns, plus a PNG with the \
TOI's predicted transit window. Returns per light curve the files, rows, time span, cadence, the time \
and flux columns used and warnings; files that give none are listed with a reason code. Download the \
tags first (download_tags). A repeat call rewrites nothing; overwrite=true redoes it. If state is \
'running', call extraction_status with the job_id; page long reports with offset."""

EXTRACTION_STATUS_DESCRIPTION = """\
Report on a light-curve extraction started by extract_light_curves, waiting up to wait_seconds for it to \
finish. Call repeatedly while state is 'running'; page the entries with offset."""

LOGIN_DESCRIPTION = """\
Report whether proprietary ExoFOP data is reachable: logged in or not, username, valid sessions and \
expiry. It never logs in and never shows secrets: when a login is needed it gives the command the USER \
must run in their own terminal (exofop-mcp login). Never ask the user for their password."""


def build_server(settings: Settings | None = None) -> MCPServer[Exofop]:
    """The exofop-mcp MCP server; settings are validated here, before anything runs."""
    resolved_settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer[Exofop]) -> AsyncIterator[Exofop]:
        exofop = Exofop(resolved_settings)
        exofop.remove_abandoned_files()  # what a killed server left behind, unless a live process holds it
        start_warm_up()  # the first listing or download then pays no TLS or backend set-up
        try:
            yield exofop
        finally:
            await exofop.aclose()

    server: MCPServer[Exofop] = ExofopServer(
        SERVER_NAME,
        title="ExoFOP-TESS",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
    )
    add_model_tool(
        server,
        name="resolve_system",
        title="Resolve a TESS target",
        description=RESOLVE_DESCRIPTION,
        request_model=ResolveSystemRequest,
        result_model=ResolvedSystem,
        handler=_resolve,
        summarize=system_summary,
        annotations=READ_ONLY,
    )
    add_model_tool(
        server,
        name="list_observations",
        title="List follow-up observations",
        description=LIST_DESCRIPTION,
        request_model=ListObservationsRequest,
        result_model=ObservationPage,
        handler=_list,
        summarize=page_summary,
        annotations=READ_ONLY,
    )
    add_model_tool(
        server,
        name="download_tags",
        title="Download observation tags",
        description=DOWNLOAD_DESCRIPTION,
        request_model=DownloadTagsRequest,
        result_model=DownloadReport,
        handler=_download,
        summarize=download_summary,
        annotations=ADDS_FILES,
        extra_content=download_links,
    )
    add_model_tool(
        server,
        name="download_status",
        title="Download progress",
        description=STATUS_DESCRIPTION,
        request_model=DownloadStatusRequest,
        result_model=DownloadReport,
        handler=_download_status,
        summarize=download_summary,
        annotations=LOCAL_READ_ONLY,
        extra_content=download_links,
    )
    add_model_tool(
        server,
        name="cancel_download",
        title="Cancel a download",
        description=CANCEL_DESCRIPTION,
        request_model=JobRequest,
        result_model=DownloadReport,
        handler=_cancel,
        summarize=download_summary,
        annotations=STOPS_JOB,
        extra_content=download_links,
    )
    add_model_tool(
        server,
        name="list_downloads",
        title="List downloaded data",
        description=LIST_DOWNLOADS_DESCRIPTION,
        request_model=ListDownloadsRequest,
        result_model=DownloadsInventory,
        handler=_list_downloads,
        summarize=inventory_summary,
        annotations=LOCAL_READ_ONLY,
    )
    add_model_tool(
        server,
        name="extract_light_curves",
        title="Extract light curves",
        description=EXTRACT_DESCRIPTION,
        request_model=ExtractLightCurvesRequest,
        result_model=ExtractionReport,
        handler=_extract,
        summarize=extraction_summary,
        annotations=LOCAL_WRITES,
    )
    add_model_tool(
        server,
        name="extraction_status",
        title="Light-curve extraction progress",
        description=EXTRACTION_STATUS_DESCRIPTION,
        request_model=ExtractionStatusRequest,
        result_model=ExtractionReport,
        handler=_extraction_status,
        summarize=extraction_summary,
        annotations=LOCAL_READ_ONLY,
    )
    add_model_tool(
        server,
        name="login_status",
        title="ExoFOP login status",
        description=LOGIN_DESCRIPTION,
        request_model=NoArguments,
        result_model=LoginStatus,
        handler=_login_status,
        summarize=login_summary,
        annotations=LOCAL_READ_ONLY,
    )
    register_preview_tools(server)
    register_search_tools(server)
    register_plan_tools(server)
    register_followup_tools(server)
    register_resources(server)
    register_prompts(server)
    return server

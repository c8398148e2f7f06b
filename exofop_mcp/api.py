"""The async Python API: the same core the MCP tools and the command line use.

Example::

    import asyncio
    from exofop_mcp import Exofop

    async def main():
        async with Exofop() as exofop:
            system = await exofop.resolve_system("TOI-1130")
            page = await exofop.list_observations(system.canonical_name, kind="time_series", filter="zs")
            print(system.tic_id, page.total, page.tags)

    asyncio.run(main())
"""

from __future__ import annotations

import asyncio
from typing import Any

from exofop_mcp.auth.login_status import LoginStatus, current_login_status
from exofop_mcp.auth.session_pool import SessionPool
from exofop_mcp.downloads.downloader import Downloader
from exofop_mcp.downloads.inventory import DownloadsInventory, inventory
from exofop_mcp.downloads.jobs import DownloadJob, DownloadJobs, DownloadReport
from exofop_mcp.downloads.leftovers import remove_abandoned_everywhere
from exofop_mcp.downloads.request_models import DownloadTagsRequest
from exofop_mcp.downloads.sandbox import CANONICAL_NAME, SystemDirectory
from exofop_mcp.file_work import FileWorkPool
from exofop_mcp.followup.desk import FollowUpDesk
from exofop_mcp.followup.status import FollowUpStatus, FollowUpStatusRequest
from exofop_mcp.followup.whats_new import WhatsNew, WhatsNewRequest
from exofop_mcp.lightcurves.jobs import ExtractionJob, LightCurveJobs
from exofop_mcp.lightcurves.reports import ExtractionReport, ExtractLightCurvesRequest
from exofop_mcp.planning.models import PlanTransitsRequest, PlanTransitsResult
from exofop_mcp.previews.preview import (
    DEFAULT_TEXT_CHARS,
    PREVIEW_QUEUE_SECONDS,
    PREVIEW_SECONDS,
    PREVIEW_WORKERS,
    FilePreview,
    PreviewFileRequest,
    preview_file,
)
from exofop_mcp.settings import Settings
from exofop_mcp.site import http_stack
from exofop_mcp.site.catalog import TOICatalog
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.observations import ListObservationsRequest, ObservationLister, ObservationPage
from exofop_mcp.site.observing_notes import ObservingNote, fetch_observing_notes
from exofop_mcp.site.resolver import ResolvedSystem, SystemResolver


class Exofop:
    """One connection pool, one catalog cache, and the operations on top of them."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.sessions = SessionPool.from_settings(self.settings)
        self.client = ExofopClient(self.settings, sessions=self.sessions)
        self.catalog = TOICatalog(self.client, self.settings.cache_dir, self.settings.catalog_ttl_seconds)
        self.resolver = SystemResolver(self.client, self.catalog)
        self.observations = ObservationLister(self.client)
        self.downloader = Downloader(self.settings, self.client, self.resolver, self.observations)
        self.downloader.cookie_lease = self.sessions.lease
        self.jobs = DownloadJobs(self.downloader)
        self.light_curves = LightCurveJobs(self.settings.data_dir)
        self.desk = FollowUpDesk(
            self.client,
            self.catalog,
            self.resolver,
            self.observations,
            self.settings.data_dir,
            self.settings.config_dir,
            self.settings.cache_dir,
        )
        #: Previews (and resource reads) read files others may have placed: their own few threads, each call
        #: with a time limit, so stuck previews never take the threads downloads and the other tools use.
        self.file_reads = FileWorkPool(
            "exofop-preview", workers=PREVIEW_WORKERS, time_limit=PREVIEW_SECONDS, queue_seconds=PREVIEW_QUEUE_SECONDS
        )

    async def __aenter__(self) -> Exofop:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.jobs.close()
        await self.light_curves.close()
        self.file_reads.close()
        self.catalog.close()
        await self.client.aclose()

    async def warm_up(self) -> None:
        """Optional: pay the HTTP stack's one-time costs now (TLS context, network backend, ~0.1 s, in a
        worker thread), so that the first request measures the site; the MCP server does this at start."""
        await asyncio.to_thread(http_stack.warm_up)  # thread-safe; the pool itself is built here, on the event loop
        self.client.prepare()

    def remove_abandoned_files(self) -> int:
        """Remove temporary files of killed downloads that no live process holds (at start); return how many."""
        try:
            return len(remove_abandoned_everywhere(self.settings.data_dir))
        except OSError:
            return 0

    async def resolve_system(self, query: str, *, other_names: bool = True) -> ResolvedSystem:
        """Any TIC id, TOI, planet TOI or name → one canonical system.

        With ``other_names`` (the default), the star's other names (Gaia DR3, 2MASS, HD, ...) come from its
        ExoFOP target page: one more request, remembered for a few minutes.
        """
        system = await self.resolver.resolve(query)
        return await self.resolver.add_other_names(system) if other_names else system

    async def observing_notes(self, system: str | ResolvedSystem) -> list[ObservingNote]:
        """What observers wrote about the star's observations (ExoFOP's observing notes), oldest first."""
        resolved = system if isinstance(system, ResolvedSystem) else await self.resolver.resolve(system)
        return await fetch_observing_notes(self.client, resolved.tic_id)

    async def list_observations(
        self, system: str | ResolvedSystem, kind: str = "time_series", **options: Any
    ) -> ObservationPage:
        """One page of a system's observations of ``kind``; ``options`` are filters, ``limit`` and ``offset``."""
        resolved = system if isinstance(system, ResolvedSystem) else await self.resolver.resolve(system)
        request = ListObservationsRequest.model_validate({"system": resolved.canonical_name, "kind": kind, **options})
        return await self.observations.list(resolved, request)

    async def list_observations_for(self, request: ListObservationsRequest) -> ObservationPage:
        resolved = await self.resolver.resolve(request.system)
        return await self.observations.list(resolved, request)

    async def download_tags(self, system: str, **options: Any) -> DownloadReport:
        """Download tags and wait until every one has a final status; see :class:`DownloadTagsRequest`."""
        request = DownloadTagsRequest.model_validate({"system": system, **options})
        job = await self.start_download(request)
        while job.state == "running":
            await self.jobs.wait(job, 3600.0)
        return job.report()

    async def start_download(self, request: DownloadTagsRequest) -> DownloadJob:
        """Start a download job in the background (the MCP tool's way: poll with :meth:`download_status`)."""
        return await self.jobs.start(request)

    async def download_status(
        self, job_id: str, wait_seconds: float = 0.0, results_offset: int = 0, limit: int | None = None
    ) -> DownloadReport:
        """The job's report: totals over every tag, and its results (all, or a page of ``limit`` from
        ``results_offset``, tags that need attention first)."""
        return await self.jobs.wait(self.jobs.get(job_id), wait_seconds, offset=results_offset, limit=limit)

    async def cancel_download(self, job_id: str, *, limit: int | None = None) -> DownloadReport:
        return await self.jobs.cancel(job_id, limit=limit)

    async def list_downloads(self, system: str | None = None) -> DownloadsInventory:
        """What is in the sandbox, from the manifests (``system``: anything :meth:`resolve_system` accepts)."""
        canonical = (await self.resolver.resolve(system)).canonical_name if system else None
        return inventory(self.settings.data_dir, canonical)

    async def extract_light_curves(self, system: str, **options: Any) -> ExtractionReport:
        """Standardised light curves from the system's downloaded time-series tags, every entry in the report.

        ``options``: ``tags`` (default: every downloaded time-series tag), ``overwrite``; see
        :class:`ExtractLightCurvesRequest`.
        """
        request = ExtractLightCurvesRequest.model_validate({"system": system, **options})
        job = await self.start_extraction(request)
        while job.state == "running":
            await self.light_curves.wait(job, 3600.0)
        return job.report()

    async def start_extraction(self, request: ExtractLightCurvesRequest) -> ExtractionJob:
        """Start an extraction in the background (the MCP tool's way: poll with :meth:`extraction_status`)."""
        resolved = await self.resolver.resolve(request.system)
        return self.light_curves.start(resolved, request.tags, request.overwrite, plots=request.plots)

    async def extraction_status(
        self, job_id: str, wait_seconds: float = 0.0, offset: int = 0, limit: int | None = None
    ) -> ExtractionReport:
        job = self.light_curves.get(job_id)
        await self.light_curves.wait(job, wait_seconds)
        return job.report(offset, limit)

    async def plan_transits(self, start_date: str | Any, **options: Any) -> PlanTransitsResult:
        """The TOI transits observable from a site over nights from ``start_date`` (the first evening's local
        date), one page of them; ``options``: ``observatory`` or ``latitude_deg``/``longitude_deg``/
        ``elevation_m``, ``nights``, ``systems``, the ``search_tois`` filters, ``min_altitude_deg``, ...;
        see :class:`PlanTransitsRequest`."""
        request = PlanTransitsRequest.model_validate({"start_date": start_date, **options})
        return await self.plan_transits_for(request)

    async def plan_transits_for(self, request: PlanTransitsRequest) -> PlanTransitsResult:
        from exofop_mcp.planning.planner import plan_transits

        return await plan_transits(self.catalog, self.resolver, request, self.settings.data_dir)

    async def follow_up_status(self, system: str, **options: Any) -> FollowUpStatus:
        """Where ``system``'s follow-up stands: dispositions, priorities, observations per kind, observing notes,
        nearby stars that could cause the event, local fit verdicts, next transits and what is missing;
        ``options``: ``observatory``, ``notes_limit`` (see :class:`FollowUpStatusRequest`)."""
        return await self.follow_up_status_for(FollowUpStatusRequest.model_validate({"system": system, **options}))

    async def follow_up_status_for(self, request: FollowUpStatusRequest) -> FollowUpStatus:
        return await self.desk.status(request)

    async def whats_new(self, since: str | Any, systems: list[str] | None = None, **options: Any) -> WhatsNew:
        """What changed since ``since`` (YYYY-MM-DD) on ``systems``, or on the watch list when none are given."""
        return await self.whats_new_for(WhatsNewRequest.model_validate({"since": since, "systems": systems, **options}))

    async def whats_new_for(self, request: WhatsNewRequest) -> WhatsNew:
        return await self.desk.whats_new(request)

    async def system_directory(self, system: str) -> SystemDirectory:
        """The sandbox directory of ``system``: a canonical name (``TOI-1130``) as is, anything else resolved."""
        name = system.strip()
        if not CANONICAL_NAME.match(name):
            name = (await self.resolve_system(system, other_names=False)).canonical_name
        return SystemDirectory(self.settings.data_dir, name)

    async def preview_file(
        self, system: str, path: str, *, offset: int = 0, max_chars: int = DEFAULT_TEXT_CHARS
    ) -> FilePreview:
        """A look at one downloaded file, ``path`` relative to its system's directory (:class:`PreviewFileRequest`)."""
        request = PreviewFileRequest.model_validate(
            {"system": system, "path": path, "offset": offset, "max_chars": max_chars}
        )
        return await self.preview(request)

    async def preview(self, request: PreviewFileRequest) -> FilePreview:
        directory = await self.system_directory(request.system)
        return await self.file_reads.run(
            preview_file,
            directory,
            request.path,
            offset=request.offset,
            max_chars=request.max_chars,
            what=f"The preview of {request.path[:200]!r}",
        )

    def login_status(self) -> LoginStatus:
        return current_login_status(self.settings)

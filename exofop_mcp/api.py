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

from typing import Any

from exofop_mcp.auth.login_status import LoginStatus, current_login_status
from exofop_mcp.auth.session_pool import SessionPool
from exofop_mcp.downloads.downloader import Downloader, DownloadTagsRequest
from exofop_mcp.downloads.inventory import DownloadsInventory, inventory
from exofop_mcp.downloads.jobs import DownloadJob, DownloadJobs, DownloadReport
from exofop_mcp.downloads.leftovers import remove_abandoned_everywhere
from exofop_mcp.settings import Settings
from exofop_mcp.site.catalog import TOICatalog
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.observations import ListObservationsRequest, ObservationLister, ObservationPage
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

    async def __aenter__(self) -> Exofop:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.jobs.close()
        self.catalog.close()
        await self.client.aclose()

    def remove_abandoned_files(self) -> int:
        """Remove temporary files of killed downloads that no live process holds (at start); return how many."""
        try:
            return len(remove_abandoned_everywhere(self.settings.data_dir))
        except OSError:
            return 0

    async def resolve_system(self, query: str) -> ResolvedSystem:
        """Any TIC id, TOI, planet TOI or name → one canonical system."""
        return await self.resolver.resolve(query)

    async def list_observations(
        self, system: str | ResolvedSystem, kind: str = "time_series", **options: Any
    ) -> ObservationPage:
        """One page of a system's observations of ``kind``; ``options`` are filters, ``limit`` and ``offset``."""
        resolved = system if isinstance(system, ResolvedSystem) else await self.resolve_system(system)
        request = ListObservationsRequest.model_validate({"system": resolved.canonical_name, "kind": kind, **options})
        return await self.observations.list(resolved, request)

    async def list_observations_for(self, request: ListObservationsRequest) -> ObservationPage:
        resolved = await self.resolve_system(request.system)
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

    async def download_status(self, job_id: str, wait_seconds: float = 0.0) -> DownloadReport:
        return await self.jobs.wait(self.jobs.get(job_id), wait_seconds)

    async def cancel_download(self, job_id: str) -> DownloadReport:
        return await self.jobs.cancel(job_id)

    async def list_downloads(self, system: str | None = None) -> DownloadsInventory:
        """What is in the sandbox, from the manifests (``system``: anything :meth:`resolve_system` accepts)."""
        canonical = (await self.resolve_system(system)).canonical_name if system else None
        return inventory(self.settings.data_dir, canonical)

    def login_status(self) -> LoginStatus:
        return current_login_status(self.settings)

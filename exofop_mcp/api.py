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

from exofop_mcp.catalog import TOICatalog
from exofop_mcp.exofop_client import ExofopClient
from exofop_mcp.login_status import LoginStatus, current_login_status
from exofop_mcp.observations import ListObservationsRequest, ObservationLister, ObservationPage
from exofop_mcp.resolver import ResolvedSystem, SystemResolver
from exofop_mcp.settings import Settings


class Exofop:
    """One connection pool, one catalog cache, and the operations on top of them."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.client = ExofopClient(self.settings)
        self.catalog = TOICatalog(self.client, self.settings.cache_dir, self.settings.catalog_ttl_seconds)
        self.resolver = SystemResolver(self.client, self.catalog)
        self.observations = ObservationLister(self.client)

    async def __aenter__(self) -> Exofop:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.catalog.close()
        await self.client.aclose()

    async def resolve_system(self, query: str) -> ResolvedSystem:
        """Any TIC id, TOI, planet TOI or name → one canonical system."""
        return await self.resolver.resolve(query)

    async def list_observations(
        self, system: str | ResolvedSystem, kind: str = "time_series", **options: Any
    ) -> ObservationPage:
        """One page of a system's observations of ``kind``; ``options`` are filters, ``limit`` and ``offset``."""
        resolved = system if isinstance(system, ResolvedSystem) else await self.resolve_system(system)
        request = ListObservationsRequest.model_validate(
            {"system": resolved.canonical_name, "kind": kind, **options}
        )
        return await self.observations.list(resolved, request)

    async def list_observations_for(self, request: ListObservationsRequest) -> ObservationPage:
        resolved = await self.resolve_system(request.system)
        return await self.observations.list(resolved, request)

    def login_status(self) -> LoginStatus:
        return current_login_status(self.settings)

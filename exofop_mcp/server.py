"""The MCP server: a thin translation of the core's operations into MCP tools.

Each tool's input schema comes from one pydantic request model (its fields
become the tool's arguments) and its output schema from one result model.
Errors of the core become MCP tool errors carrying the core's actionable
message; anything unexpected is logged to stderr and reported without a
traceback.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from exofop_mcp import __version__
from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.login_status import LoginStatus
from exofop_mcp.observations import ListObservationsRequest, ObservationPage
from exofop_mcp.resolver import ResolvedSystem, ResolveSystemRequest
from exofop_mcp.settings import Settings
from exofop_mcp.summaries import login_summary, page_summary, system_summary

log = logging.getLogger(__name__)

SERVER_NAME = "exofop"

INSTRUCTIONS = """\
ExoFOP-TESS follow-up data. 1) resolve_system turns any TIC id, TOI or star name into one system \
(canonical name, TIC, planet candidates, observation counts).
2) list_observations shows what was observed for that system by kind (time_series, spectroscopy, \
imaging, ...), with filters and paging; its `tags` field lists every matching upload tag.
3) Pass those tags to download tools when available; login_status tells whether proprietary data is \
reachable (users log in from their own terminal, never through the assistant)."""

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)

Req = TypeVar("Req", bound=BaseModel)


class NoArguments(BaseModel):
    """A tool that takes no arguments."""


def _arguments_signature(model: type[BaseModel]) -> tuple[inspect.Signature, dict[str, Any]]:
    """A function signature whose parameters are the model's fields (same types, constraints, docs)."""
    params: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        info = Field(description=field.description, examples=field.examples, title=field.title)
        annotation: Any = Annotated.__class_getitem__((field.annotation, *field.metadata, info))  # type: ignore[attr-defined]
        default = inspect.Parameter.empty if field.is_required() else field.default
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))
        annotations[name] = annotation
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    annotations["ctx"] = Context
    return inspect.Signature(params), annotations


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "Invalid arguments: " + "; ".join(parts)


def add_model_tool(
    server: MCPServer[Any],
    *,
    name: str,
    title: str,
    description: str,
    request_model: type[Req],
    result_model: type[BaseModel],
    handler: Callable[[Exofop, Req, Context], Awaitable[BaseModel]],
    summarize: Callable[[Any], str],
    annotations: ToolAnnotations,
) -> None:
    """Register ``handler`` as tool ``name`` with arguments from ``request_model``."""

    async def tool(**kwargs: Any) -> Any:
        ctx: Context = kwargs.pop("ctx")
        try:
            request = request_model.model_validate(kwargs)
        except ValidationError as exc:
            raise ToolError(_validation_message(exc)) from None
        exofop = cast(Exofop, ctx.request_context.lifespan_context)
        try:
            result = await handler(exofop, request, ctx)
        except ExofopMcpError as exc:
            raise ToolError(str(exc)) from None
        except ValidationError as exc:
            raise ToolError(_validation_message(exc)) from None
        except Exception:
            log.exception("unexpected error in tool %s", name)
            raise ToolError(
                f"exofop-mcp hit an internal error while running {name}. The details are in the server's "
                "log (stderr); please report them. Other tools keep working."
            ) from None
        return CallToolResult(
            content=[TextContent(type="text", text=summarize(result))],
            structured_content=result.model_dump(mode="json", exclude_none=True),
        )

    signature, hints = _arguments_signature(request_model)
    tool.__signature__ = signature.replace(return_annotation=Annotated[CallToolResult, result_model])  # type: ignore[attr-defined]
    tool.__annotations__ = {**hints, "return": Annotated[CallToolResult, result_model]}
    tool.__name__ = name
    tool.__doc__ = description
    server.add_tool(tool, name=name, title=title, description=description, annotations=annotations)


# -- tool handlers: translate, nothing more ---------------------------------------


async def _resolve(exofop: Exofop, request: ResolveSystemRequest, ctx: Context) -> ResolvedSystem:
    return await exofop.resolve_system(request.query)


async def _list(exofop: Exofop, request: ListObservationsRequest, ctx: Context) -> ObservationPage:
    return await exofop.list_observations_for(request)


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
stellar_parameters or files. Optional filters: telescope, instrument, filter (band), user, planet, \
since/until dates. Pages are compact (default 25 rows, always under ~20 kB of JSON); use next_offset \
for more. `tags` lists the upload tags of ALL matching rows: pass them to the download tool."""

LOGIN_DESCRIPTION = """\
Report whether proprietary ExoFOP data is reachable: logged in or not, username, valid sessions and \
expiry. It never logs in and never shows secrets: when a login is needed it gives the command the USER \
must run in their own terminal (exofop-mcp login). Never ask the user for their password."""


def build_server(settings: Settings | None = None) -> MCPServer[Exofop]:
    """The exofop-mcp MCP server; settings are validated here, before anything runs."""
    resolved_settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer[Exofop]) -> AsyncIterator[Exofop]:
        _preload_heavy_modules()
        exofop = Exofop(resolved_settings)
        try:
            yield exofop
        finally:
            await exofop.aclose()

    server: MCPServer[Exofop] = MCPServer(
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
        name="login_status",
        title="ExoFOP login status",
        description=LOGIN_DESCRIPTION,
        request_model=NoArguments,
        result_model=LoginStatus,
        handler=_login_status,
        summarize=login_summary,
        annotations=READ_ONLY,
    )
    return server


def _preload_heavy_modules() -> None:
    """Import astropy's table reader in the background, so the first table parse does not wait for it."""

    def load() -> None:
        with contextlib.suppress(Exception):
            import astropy.coordinates
            import astropy.io.ascii  # noqa: F401

    threading.Thread(target=load, name="exofop-preload", daemon=True).start()

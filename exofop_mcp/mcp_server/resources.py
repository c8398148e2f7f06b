"""Downloaded files as MCP resources: ``exofop://{system}/{+path}``.

``path`` is relative to the system's directory, as download results list files (``{+path}``
lets it hold ``/``). Text comes back as text, anything else as a blob, each with its MIME type;
the same sandbox rules as ``preview_file`` apply (nothing outside the system's directory,
whatever the path, link or encoding).
"""

from __future__ import annotations

from typing import Any, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resources.templates import ResourceTemplate
from mcp.server.mcpserver.resources.types import FunctionResource, Resource

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopMcpError, FileLimitError
from exofop_mcp.mcp_server.preview_tools import system_directory
from exofop_mcp.previews.locate import (
    SandboxFileNotFoundError,
    locate_file,
    mime_type_of,
)
from exofop_mcp.text_format import format_bytes

FILE_TEMPLATE = "exofop://{system}/{+path}"
#: Files larger than this are not sent whole as a resource (preview_file summarizes them).
MAX_RESOURCE_BYTES = 20 * 2**20
_TEXT_TYPES = ("application/json", "text/x-ecsv")

FILE_DESCRIPTION = (
    "A downloaded file of a system, e.g. exofop://TOI-1130/time_series/18598/notes.txt: `path` is relative "
    "to the system's directory, as download_tags and list_downloads list files. Text comes as text, other "
    "files as a blob with their MIME type. Only files inside the system's directory are read."
)


async def read_downloaded_file(exofop: Exofop, system: str, path: str) -> tuple[str | bytes, str]:
    """The content of a downloaded file (text when it is text) and its MIME type."""
    directory = await system_directory(exofop, system)
    what = f"Reading {path[:200]!r}"
    opened = await exofop.file_reads.run(locate_file, directory, path, what=what)  # opened inside, then checked
    with opened:
        size = opened.size
        if size > MAX_RESOURCE_BYTES:
            raise FileLimitError(
                f"{path} is {format_bytes(size)}, more than the {format_bytes(MAX_RESOURCE_BYTES)} a resource sends.",
                hint=f"Use preview_file(system='{directory.name}', path='{path}') for a summary.",
            )
        data = await exofop.file_reads.run(opened.head, MAX_RESOURCE_BYTES, what=what)
    mime = mime_type_of(opened.relative)
    if mime.startswith("text/") or mime in _TEXT_TYPES:
        try:
            return data.decode("utf-8"), mime
        except UnicodeDecodeError:
            return data, mime
    return data, mime


class DownloadedFileTemplate(ResourceTemplate):
    """The template of downloaded files: each read carries the file's own MIME type."""

    async def create_resource(self, uri: str, params: dict[str, Any], context: Any) -> Resource:
        exofop = cast(Exofop, context.request_context.lifespan_context)
        system, path = str(params.get("system", "")), str(params.get("path", ""))
        try:
            content, mime = await read_downloaded_file(exofop, system, path)
        except SandboxFileNotFoundError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except ExofopMcpError as exc:
            raise ResourceError(str(exc)) from None
        return FunctionResource(uri=uri, name=path or self.name, mime_type=mime, fn=lambda: content)


def register_resources(server: MCPServer[Any]) -> None:
    """Add the downloaded-file template to ``server``."""

    async def downloaded_file(system: str, path: str, ctx: Context) -> str:  # pragma: no cover - replaced below
        raise ResourceError("not used")

    base = ResourceTemplate.from_function(
        downloaded_file,
        uri_template=FILE_TEMPLATE,
        name="downloaded_file",
        title="A downloaded file",
        description=FILE_DESCRIPTION,
        mime_type="application/octet-stream",
    )
    template = DownloadedFileTemplate.model_validate(
        base.model_dump()
        | {
            "fn": base.fn,
            "parsed_template": base.parsed_template,
            "security": base.security,
        }
    )
    server._resource_manager._templates[FILE_TEMPLATE] = template

"""Registering a tool from one pydantic request model: the model is the single source of its schema.

The published input schema is the request model's own (property by property, with
``additionalProperties: false``); the tool validates the arguments with the model itself, so every
mistake gets one clear message, an unknown argument included; project errors become tool errors
that start with their code (``[not_found] ...``), and anything unexpected an ``[internal_error]``
that names no detail (those go to the server's log).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ValidationError, WithJsonSchema

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopMcpError, InvalidRequestError
from exofop_mcp.mcp_server.server_icons import ICONS
from exofop_mcp.text_format import visible_text

log = logging.getLogger("exofop_mcp.mcp_server.server")

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
ADDS_FILES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
LOCAL_READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
LOCAL_WRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
STOPS_JOB = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

Req = TypeVar("Req", bound=BaseModel)


class NoArguments(BaseModel):
    """A tool that takes no arguments."""


def _arguments_signature(model: type[BaseModel]) -> tuple[inspect.Signature, dict[str, Any]]:
    """A function signature whose parameters are the model's fields, publishing the model's own JSON Schema.

    The parameters accept any value: the request model validates the arguments in the tool (so an
    assistant gets one clear message for every mistake), while the published schema is exactly the
    model's, property by property.
    """
    schema = model.model_json_schema()
    if "$defs" in schema:
        raise TypeError(f"{model.__name__}: tool argument models must not need $defs")
    params: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation: Any = Annotated[Any, WithJsonSchema(schema["properties"][name])]
        default = inspect.Parameter.empty if field.is_required() else field.default
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))
        annotations[name] = annotation
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    annotations["ctx"] = Context
    return inspect.Signature(params), annotations


def tool_error_text(exc: ExofopMcpError) -> str:
    """The text of the tool error for a project error: ``[<code>] <message and hint>``."""
    return f"[{exc.code}] {exc}"


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)  # a check of several arguments names them itself
    return f"[{InvalidRequestError.code}] Invalid arguments: " + "; ".join(parts)


class ExofopServer(MCPServer[Exofop]):
    """The SDK's server, with its own argument errors (a required argument left out) worded like ours,
    and unknown arguments refused by name instead of silently dropped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Each model tool's request model, by tool name.
        self.request_models: dict[str, type[BaseModel]] = {}

    async def list_tools(self) -> list[Any]:
        """The tools, each model tool's input schema closed: ``additionalProperties: false``."""
        tools = await super().list_tools()
        for tool in tools:
            if tool.name in self.request_models and isinstance(tool.input_schema, dict):
                tool.input_schema = {**tool.input_schema, "additionalProperties": False}
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        model = self.request_models.get(name)
        if model is not None and isinstance(arguments, dict):
            unknown = sorted(set(arguments) - set(model.model_fields))
            if unknown:
                known = ", ".join(model.model_fields) or "none"
                raise ToolError(
                    f"Error executing tool {name}: [{InvalidRequestError.code}] Invalid arguments: unknown "
                    f"argument(s) {', '.join(repr(u) for u in unknown)}; {name} takes: {known}."
                )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):  # not a pydantic dump with a link and the input
                raise ToolError(f"Error executing tool {name}: {_validation_message(exc.__cause__)}") from exc.__cause__
            raise


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
    extra_content: Callable[[Any], list[Any]] | None = None,
) -> None:
    """Register ``handler`` as tool ``name`` with arguments from ``request_model``.

    ``extra_content`` adds content blocks (images, resource links) after the text summary.
    """

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
            raise ToolError(tool_error_text(exc)) from None
        except ValidationError as exc:
            raise ToolError(_validation_message(exc)) from None
        except Exception:
            log.exception("unexpected error in tool %s", name)
            raise ToolError(
                f"[internal_error] exofop-mcp hit an internal error while running {name}. The details are in "
                "the server's log (stderr); please report them. Other tools keep working."
            ) from None
        extra = extra_content(result) if extra_content else []
        return CallToolResult(
            # control and bidi characters (in names, notes, file names) shown as escapes; the JSON keeps them exact
            content=[TextContent(type="text", text=visible_text(summarize(result))), *extra],
            structured_content=result.model_dump(mode="json", exclude_none=True),
        )

    signature, hints = _arguments_signature(request_model)
    tool.__signature__ = signature.replace(return_annotation=Annotated[CallToolResult, result_model])  # type: ignore[attr-defined]
    tool.__annotations__ = {**hints, "return": Annotated[CallToolResult, result_model]}
    tool.__name__ = name
    tool.__doc__ = description
    server.add_tool(tool, name=name, title=title, description=description, annotations=annotations, icons=ICONS)
    if isinstance(server, ExofopServer):
        server.request_models[name] = request_model

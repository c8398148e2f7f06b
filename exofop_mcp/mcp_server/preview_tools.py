"""The ``preview_file`` tool: a look at one downloaded file, as text, JSON and (for pictures) an image."""

from __future__ import annotations

import base64
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ImageContent

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.mcp_server.tool_registration import LOCAL_READ_ONLY, add_model_tool
from exofop_mcp.previews import FilePreview, PreviewFileRequest

PREVIEW_DESCRIPTION = """\
Look at one downloaded file, given by `path` relative to the system's directory exactly as \
download_tags and list_downloads list files. PNG/JPEG come back as an image (downscaled when \
large); measurement tables (.tbl, .csv, .ecsv, ...) as their columns with each column's range, the \
row count and the first and last rows; FITS files as a header summary of each HDU; notes and other \
text as their text, paged with offset/next_offset; an extracted light curve (.ecsv with a .png \
beside it) as its plot plus the table summary. Read-only; only files inside the system's directory."""


async def system_directory(exofop: Exofop, system: str) -> SystemDirectory:
    """The sandbox directory of ``system``: a canonical name as is, anything else resolved first."""
    return await exofop.system_directory(system)


async def _preview(exofop: Exofop, request: PreviewFileRequest, ctx: Context) -> FilePreview:
    return await exofop.preview(request)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".10g")


def preview_summary(p: FilePreview) -> str:
    """The preview as text an assistant can read on its own (the image, if any, follows it)."""
    lines = [f"{p.system}/{p.path}: {p.kind.replace('_', ' ')}, {p.mime_type}, {p.size_bytes:,} bytes"]
    if p.image is not None:
        i = p.image
        shown = f"shown at {i.shown_width}x{i.shown_height}" if i.downscaled else "shown at full size"
        lines.append(f"Image {i.source_path}: {i.format} {i.width}x{i.height} pixels, {shown} (attached).")
    if p.table is not None:
        t = p.table
        lines.append(f"Table ({t.format}-separated): {t.rows} rows x {t.column_count} columns.")
        for c in t.columns:
            if c.type == "number":
                lines.append(
                    f"  {c.name}: {_number(c.min)} .. {_number(c.max)}" + (f" ({c.empty} empty)" if c.empty else "")
                )
            elif c.type == "date":
                lines.append(f"  {c.name}: {c.earliest} .. {c.latest}" + (f" ({c.empty} empty)" if c.empty else ""))
            else:
                lines.append(f"  {c.name}: text, e.g. {c.example!r}" + (f" ({c.empty} empty)" if c.empty else ""))
        if t.column_count > len(t.columns):
            lines.append(f"  ... {t.column_count - len(t.columns)} more columns not summarized")
        header = " | ".join(c.name for c in t.columns)
        if t.first_rows:
            lines.append("First rows: " + header)
            lines.extend("  " + " | ".join(row) for row in t.first_rows)
        if t.last_rows:
            lines.append("Last rows:")
            lines.extend("  " + " | ".join(row) for row in t.last_rows)
    if p.fits is not None:
        lines.append(f"FITS: {p.fits.hdu_count} HDU(s)")
        for h in p.fits.hdus:
            shape = "x".join(map(str, h.shape)) or "no data"
            lines.append(
                f"  HDU {h.index} {h.name or '-'} ({h.type}): {shape}, BITPIX {h.bitpix}, {h.card_count} cards"
            )
            if h.columns:
                lines.append("    columns: " + ", ".join(h.columns))
            lines.extend(f"    {k} = {v!r}" for k, v in h.cards.items())
    if p.text is not None:
        page = p.text
        end = page.offset + page.returned_chars
        more = " (end of file)" if page.next_offset is None else f"; more: call again with offset={page.next_offset}"
        lines.append(f"Characters {page.offset}-{end}{more}:")
        lines.append(page.text)
    lines.extend(f"Note: {n}" for n in p.notes)
    return "\n".join(lines)


def preview_images(p: FilePreview) -> list[Any]:
    return [
        ImageContent(type="image", data=base64.b64encode(image.data).decode("ascii"), mime_type=image.mime_type)
        for image in p.images
    ]


def register_preview_tools(server: MCPServer[Any]) -> None:
    add_model_tool(
        server,
        name="preview_file",
        title="Preview a downloaded file",
        description=PREVIEW_DESCRIPTION,
        request_model=PreviewFileRequest,
        result_model=FilePreview,
        handler=_preview,
        summarize=preview_summary,
        annotations=LOCAL_READ_ONLY,
        extra_content=preview_images,
    )

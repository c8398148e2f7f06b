"""What is already in the download sandbox, read from the systems' manifests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from exofop_mcp.downloads.manifest import Manifest, is_complete, list_manifests, read_manifest_bytes
from exofop_mcp.downloads.sandbox import CANONICAL_NAME, SystemDirectory
from exofop_mcp.errors import ExofopMcpError

MAX_TAGS_LISTED = 200


class ListDownloadsRequest(BaseModel):
    """Arguments of ``list_downloads``."""

    system: Annotated[
        str | None,
        Field(
            description="only this system (anything resolve_system accepts); omit for every system",
            examples=["TOI-1130"],
            max_length=200,
        ),
    ] = None


class DownloadedTag(BaseModel):
    tag: int
    kind: str
    status: str
    complete: bool = Field(description="true when every recorded file is on disk with its recorded size")
    directory: str | None = Field(None, description="relative to the system directory")
    file_count: int
    bytes: int | None = None
    time: datetime


class DownloadedSystem(BaseModel):
    system: str
    tic_id: int
    directory: str = Field(description="absolute path")
    updated: datetime
    tags_complete: int
    tags_recorded: int
    by_kind: dict[str, int] = Field(default_factory=dict, description="complete tags per kind")
    tags: list[DownloadedTag] = Field(default_factory=list, description=f"first {MAX_TAGS_LISTED} tags")


class DownloadsInventory(BaseModel):
    """Every system in the sandbox (or one), with its tags."""

    root: str = Field(description="the sandbox root (EXOFOP_MCP_DATA_DIR)")
    systems: list[DownloadedSystem] = Field(default_factory=list)
    unreadable: list[str] = Field(
        default_factory=list,
        description="systems whose manifest.json cannot be read: the next download_tags for one sets it aside "
        "and fetches its tags again",
    )
    message: str


def inventory(root: Path, only: str | None = None) -> DownloadsInventory:
    """Read every manifest under ``root`` (or only ``only``'s)."""
    systems = []
    unreadable: list[str] = []
    for path in list_manifests(root):
        name = path.parent.name
        if not CANONICAL_NAME.match(name) or (only is not None and name != only):
            continue
        directory = SystemDirectory(root, name)
        try:
            manifest = Manifest.model_validate_json(read_manifest_bytes(directory).decode("utf-8"))
        except (OSError, ValueError, ExofopMcpError):  # not UTF-8, not JSON, not a manifest, a folder, a FIFO
            unreadable.append(name)
            continue
        tags = []
        by_kind: dict[str, int] = {}
        for entry in sorted(manifest.tags.values(), key=lambda e: e.tag):
            complete = is_complete(directory, entry)
            if complete:
                by_kind[entry.kind] = by_kind.get(entry.kind, 0) + 1
            tags.append(
                DownloadedTag(
                    tag=entry.tag,
                    kind=entry.kind,
                    status=entry.status,
                    complete=complete,
                    directory=entry.directory,
                    file_count=len(entry.files),
                    bytes=entry.size,
                    time=entry.time,
                )
            )
        systems.append(
            DownloadedSystem(
                system=name,
                tic_id=manifest.tic_id,
                directory=str(directory.path),
                updated=manifest.updated,
                tags_complete=sum(1 for t in tags if t.complete),
                tags_recorded=len(tags),
                by_kind=by_kind,
                tags=tags[:MAX_TAGS_LISTED],
            )
        )
    if systems:
        message = f"{len(systems)} system(s) in {root}."
    elif only and not unreadable:
        message = f"Nothing has been downloaded for {only} yet (sandbox: {root})."
    elif not unreadable:
        message = f"The sandbox {root} is empty: nothing has been downloaded yet."
    else:
        message = f"Nothing readable in the sandbox {root}."
    if unreadable:
        message += (
            f" The manifest of {', '.join(unreadable)} cannot be read (damaged, not UTF-8 or not a file): "
            "download_tags for that system sets it aside (kept as manifest.json.damaged-<time>) and fetches "
            "its tags again."
        )
    return DownloadsInventory(root=str(root), systems=systems, unreadable=unreadable, message=message)

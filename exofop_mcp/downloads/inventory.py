"""What is already in the download sandbox, read from the systems' manifests, one page at a time.

Three levels, each paged with ``offset``: every system (with its first tags and their key files), one
system's tags (each with its key files), one tag's files (every file, the ones a reader wants first).
Light curves extracted from a tag (``light_curves/<tag>/``) count among the tag's files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from exofop_mcp.downloads.file_roles import FileRole, file_role, first_wanted
from exofop_mcp.downloads.manifest import Manifest, ManifestFile, is_complete, list_manifests, read_manifest_bytes
from exofop_mcp.downloads.sandbox import CANONICAL_NAME, SystemDirectory
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.result_pages import fit_page, json_size
from exofop_mcp.text_format import counted

#: The structured half of a page stays under this many bytes of JSON (the limit of a result is 20 kB).
PAGE_BUDGET = 15_000
#: Listing every system: the first tags of each, with this many key files each.
SYSTEMS_VIEW_TAGS = 6
SYSTEMS_VIEW_FILES = 3
#: Listing one system's tags: this many key files per tag.
TAGS_VIEW_FILES = 6
#: No single entry (a system, a tag) takes more than this share of a page.
ENTRY_BUDGET = 6_000

Listing = Literal["systems", "tags", "files"]


class ListDownloadsRequest(BaseModel):
    """Arguments of ``list_downloads``."""

    system: Annotated[
        str | None,
        Field(
            description="only this system (anything resolve_system accepts): its tags, each with its key files; "
            "omit for every system",
            examples=["TOI-1130"],
            max_length=200,
        ),
    ] = None
    tag: Annotated[
        int | None,
        Field(description="with `system`: every file of this tag (paged)", strict=True, ge=1, le=10**9),
    ] = None
    offset: Annotated[
        int,
        Field(
            description="skip this many systems (no system given), tags (a system) or files (a system and a tag): "
            "pass the previous page's next_offset",
            strict=True,
            ge=0,
            le=10**6,
        ),
    ] = 0

    @model_validator(mode="after")
    def _tag_needs_system(self) -> ListDownloadsRequest:
        if self.tag is not None and not self.system:
            raise ValueError("'tag' lists one tag's files: give its 'system' too")
        return self


class DownloadedFile(BaseModel):
    path: str = Field(description="relative to the system directory, as preview_file takes it")
    size: int = Field(description="bytes")
    role: FileRole = Field(
        description="light_curve (an extracted ECSV), measurements, plot, spectrum, image, notes or other"
    )


class DownloadedTag(BaseModel):
    tag: int
    kind: str
    status: str
    complete: bool = Field(description="true when every recorded file is on disk with its recorded size")
    directory: str | None = Field(None, description="relative to the system directory")
    file_count: int = Field(description="files downloaded for the tag")
    light_curves: int = Field(0, description="light curves extracted from the tag (ECSV under light_curves/<tag>/)")
    bytes: int | None = Field(None, description="bytes of the archive as downloaded")
    time: datetime
    files: list[DownloadedFile] = Field(
        default_factory=list,
        description="the files a reader wants first (extracted light curves, measurement tables, plots, spectra, "
        "images), with sizes; every file, paged, when the tag is asked for",
    )
    files_total: int = Field(0, description="downloaded and extracted files of the tag")


class DownloadedSystem(BaseModel):
    system: str
    tic_id: int
    directory: str = Field(description="absolute path")
    updated: datetime
    tags_complete: int
    tags_recorded: int
    by_kind: dict[str, int] = Field(default_factory=dict, description="complete tags per kind")
    tags: list[DownloadedTag] = Field(
        default_factory=list, description="its first tags (every system), a page of its tags, or the one tag asked"
    )


class DownloadsInventory(BaseModel):
    """Every system in the sandbox (or one system's tags, or one tag's files), one page at a time."""

    root: str = Field(description="the sandbox root (EXOFOP_MCP_DATA_DIR)")
    listing: Listing = Field(description="what the page lists and offset counts: systems, tags or files")
    total: int = Field(0, description="systems, tags or files there are to list")
    offset: int = 0
    returned: int = 0
    next_offset: int | None = Field(None, description="pass as offset for the next page")
    systems: list[DownloadedSystem] = Field(default_factory=list)
    unreadable: list[str] = Field(
        default_factory=list,
        description="systems whose manifest.json cannot be read: the next download_tags for one sets it aside "
        "and fetches its tags again",
    )
    message: str


def _read(directory: SystemDirectory) -> Manifest | None:
    """The system's manifest, opened inside the sandbox and read to a bound; None when it is not one."""
    try:
        return Manifest.model_validate_json(read_manifest_bytes(directory).decode("utf-8"))
    except (OSError, ValueError, ExofopMcpError):  # not UTF-8, not JSON, not a manifest, a folder, a FIFO, a link out
        return None


def _tag_files(manifest: Manifest, tag: int, kind: str) -> list[DownloadedFile]:
    """The tag's downloaded files and the light curves made from them, the ones a reader wants first."""
    records: list[ManifestFile] = list(manifest.tags[str(tag)].files) if str(tag) in manifest.tags else []
    for product in (manifest.products or {}).values():
        if product.tag == tag:
            records.extend(product.files)
    files = [DownloadedFile(path=f.path, size=f.size, role=file_role(f.path, kind)) for f in records]
    return first_wanted(files, lambda f: f.path, kind)


def _tag(directory: SystemDirectory, manifest: Manifest, key: str, files_shown: int) -> DownloadedTag:
    entry = manifest.tags[key]
    files = _tag_files(manifest, entry.tag, entry.kind)
    shown, _ = fit_page(files[:files_shown], 0, ENTRY_BUDGET // 2)
    return DownloadedTag(
        tag=entry.tag,
        kind=entry.kind,
        status=entry.status,
        complete=is_complete(directory, entry),
        directory=entry.directory,
        file_count=len(entry.files),
        light_curves=sum(1 for f in files if f.role == "light_curve"),
        bytes=entry.size,
        time=entry.time,
        files=shown,
        files_total=len(files),
    )


def _system(directory: SystemDirectory, manifest: Manifest, tags: list[DownloadedTag]) -> DownloadedSystem:
    complete = [e for e in manifest.tags.values() if is_complete(directory, e)]
    by_kind: dict[str, int] = {}
    for entry in complete:
        by_kind[entry.kind] = by_kind.get(entry.kind, 0) + 1
    return DownloadedSystem(
        system=directory.name,
        tic_id=manifest.tic_id,
        directory=str(directory.path),
        updated=manifest.updated,
        tags_complete=len(complete),
        tags_recorded=len(manifest.tags),
        by_kind=dict(sorted(by_kind.items())),
        tags=tags,
    )


def _tag_keys(manifest: Manifest) -> list[str]:
    return sorted(manifest.tags, key=lambda k: manifest.tags[k].tag)


def inventory(root: Path, only: str | None = None, tag: int | None = None, offset: int = 0) -> DownloadsInventory:
    """Read the manifests under ``root``: every system, ``only``'s tags, or the files of ``only``'s ``tag``."""
    listing: Listing = "systems" if only is None else "tags" if tag is None else "files"
    manifests: list[tuple[SystemDirectory, Manifest]] = []
    unreadable: list[str] = []
    for path in list_manifests(root):
        name = path.parent.name
        if not CANONICAL_NAME.match(name) or (only is not None and name != only):
            continue
        manifest = _read(SystemDirectory(root, name))
        if manifest is None:
            unreadable.append(name)
        else:
            manifests.append((SystemDirectory(root, name), manifest))
    page = DownloadsInventory(root=str(root), listing=listing, offset=offset, unreadable=unreadable, message="")
    if listing == "systems":
        page.total = len(manifests)

        def systems() -> Iterator[DownloadedSystem]:
            for directory, manifest in manifests[offset:]:
                keys = _tag_keys(manifest)[:SYSTEMS_VIEW_TAGS]
                tags = [_tag(directory, manifest, k, SYSTEMS_VIEW_FILES) for k in keys]
                shown, _ = fit_page(tags, 0, ENTRY_BUDGET)
                yield _system(directory, manifest, shown)

        page.systems, _ = fit_page(systems(), json_size(page) + 2_000, PAGE_BUDGET)
        page.returned = len(page.systems)
    elif manifests:
        directory, manifest = manifests[0]
        keys = _tag_keys(manifest)
        if listing == "tags":
            page.total = len(keys)
            tags = (_tag(directory, manifest, k, TAGS_VIEW_FILES) for k in keys[offset:])
            shown, _ = fit_page(tags, json_size(page) + 2_000, PAGE_BUDGET)
        else:
            assert tag is not None
            if str(tag) not in manifest.tags:
                page.systems = [_system(directory, manifest, [])]
                page.message = _message(page, only, tag)
                return page
            one = _tag(directory, manifest, str(tag), 0)
            files = _tag_files(manifest, tag, one.kind)
            page.total = len(files)
            one.files, _ = fit_page(files[offset:], json_size(page) + json_size(one) + 2_000, PAGE_BUDGET)
            shown = [one]
        page.systems = [_system(directory, manifest, shown)]
        page.returned = len(shown) if listing == "tags" else len(shown[0].files)
    page.returned = min(page.returned, max(0, page.total - offset))
    if page.total > offset + page.returned:
        page.next_offset = offset + page.returned
    page.message = _message(page, only, tag)
    return page


def _call(system: str | None, tag: int | str | None, offset: int) -> str:
    """The ``list_downloads(...)`` call that lists a page (the command line turns it into its command)."""
    args = [f"system='{system}'"] if system else []
    args += [f"tag={tag}"] if tag is not None else []
    args += [f"offset={offset}"] if offset else []
    return f"list_downloads({', '.join(args)})"


def _message(page: DownloadsInventory, only: str | None, tag: int | None) -> str:
    root = page.root
    what = {"systems": "system", "tags": "tag", "files": "file"}[page.listing]
    if page.listing == "files" and page.systems and not page.systems[0].tags:
        message = f"{only} has no tag {tag} in the sandbox ({root}); {_call(only, None, 0)} lists its tags."
    elif page.total and page.returned:
        first, last = page.offset + 1, page.offset + page.returned
        where = {"systems": f"in {root}", "tags": f"of {only}", "files": f"of tag {tag} of {only}"}[page.listing]
        message = f"{counted(page.total, what)} {where}; {what}s {first}-{last} shown."
        if page.next_offset is not None:
            message += f" More: {_call(only, tag, page.next_offset)}."
        elif page.listing == "systems":
            message += (
                " One system's tags: list_downloads(system=...); one tag's files: list_downloads(system=..., tag=...)."
            )
        elif page.listing == "tags":
            message += f" Every file of a tag: {_call(only, 'TAG', 0)}."
    elif page.total:
        message = f"{counted(page.total, what)}; offset {page.offset} is past the last one."
    elif only and not page.unreadable:
        message = f"Nothing has been downloaded for {only} yet (sandbox: {root})."
    elif not page.unreadable:
        message = f"The sandbox {root} is empty: nothing has been downloaded yet."
    else:
        message = f"Nothing readable in the sandbox {root}."
    if page.unreadable:
        message += (
            f" The manifest of {', '.join(page.unreadable)} cannot be read (damaged, not UTF-8 or not a file): "
            "download_tags for that system sets it aside (kept as manifest.json.damaged-<time>) and fetches "
            "its tags again."
        )
    return message

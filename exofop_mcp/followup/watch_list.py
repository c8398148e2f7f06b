"""The watch list: the systems (and saved TOI searches) whose news ``whats_new`` reports by default.

It lives in the configuration directory as ``watch_list.json``, written atomically, and is edited
with ``exofop-mcp watch add|remove|list``; the MCP server only reads it.  The file is the user's,
but it is read like any file from disk: opened without following a link, checked to be a regular
file, read up to a fixed size, and validated; a damaged file is an error that says how to mend it,
never a silent empty list.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from exofop_mcp.atomic_files import atomic_write_text
from exofop_mcp.errors import ConfigurationError, ExofopMcpError, InvalidRequestError

FILE_NAME = "watch_list.json"
#: A watch list of this many systems is far beyond a person's; the file is refused past MAX_BYTES.
MAX_SYSTEMS = 500
MAX_SEARCHES = 20
MAX_BYTES = 1 << 20


class WatchedSystem(BaseModel):
    system: Annotated[str, Field(min_length=1, max_length=40, description="canonical name, e.g. 'TOI-1130'")]
    query: Annotated[str, Field(max_length=200, description="the name it was added as")] = ""
    added: date


class SavedSearch(BaseModel):
    """TOI search filters (as ``search_tois`` takes them) whose newly alerted TOIs count as news."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    filters: dict[str, Any] = Field(default_factory=dict)


class WatchList(BaseModel):
    version: int = 1
    systems: Annotated[list[WatchedSystem], Field(max_length=MAX_SYSTEMS)] = Field(default_factory=list)
    searches: Annotated[list[SavedSearch], Field(max_length=MAX_SEARCHES)] = Field(default_factory=list)

    def names(self) -> list[str]:
        return [entry.system for entry in self.systems]


def watch_list_path(config_dir: Path) -> Path:
    return config_dir / FILE_NAME


def read_small_file(path: Path) -> bytes | None:
    """The file's bytes (None when there is none), read as the sandbox reads: opened without following a
    link out of its folder, checked to be a regular file of one name, at most MAX_BYTES."""
    from exofop_mcp.sandbox_files import open_inside

    try:
        with open_inside(path.parent, path.name) as opened:
            return opened.read(MAX_BYTES, what="a watch list")
    except FileNotFoundError:
        return None
    except ExofopMcpError as exc:  # a link out, a FIFO or folder, a hard link, too large
        raise ConfigurationError(
            f"The watch list {path} is not read: {exc.message}",
            hint="Replace it with a regular file, or remove it; `exofop-mcp watch add` makes a new one.",
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the watch list {path}: {exc.strerror or exc}.") from None


def load_watch_list(config_dir: Path) -> WatchList:
    """The watch list (empty when there is no file yet); a damaged file raises ``ConfigurationError``."""
    path = watch_list_path(config_dir)
    data = read_small_file(path)
    if data is None:
        return WatchList()
    try:
        return WatchList.model_validate(json.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise ConfigurationError(
            f"The watch list {path} is damaged ({reason}).",
            hint="Fix it by hand, or remove it and add the systems again with `exofop-mcp watch add`.",
        ) from None


def save_watch_list(config_dir: Path, watch: WatchList) -> Path:
    path = watch_list_path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, watch.model_dump_json(indent=2) + "\n")
    return path


def add_system(watch: WatchList, system: str, query: str, today: date) -> bool:
    """Add ``system`` (a canonical name); False when it was already there."""
    if system in watch.names():
        return False
    if len(watch.systems) >= MAX_SYSTEMS:
        raise InvalidRequestError(
            f"The watch list already holds {MAX_SYSTEMS} systems, its limit.", hint="Remove some first."
        )
    watch.systems.append(WatchedSystem(system=system, query=query, added=today))
    return True


def save_search(watch: WatchList, name: str, filters: dict[str, Any]) -> bool:
    """Keep (or replace) the saved search ``name``; False when one of that name was replaced."""
    from exofop_mcp.site.toi_search import ToiFilters

    checked = ToiFilters.model_validate(filters).model_dump(exclude_none=True)
    if not checked:
        raise InvalidRequestError(
            "A saved search needs at least one filter.", hint="Give filters such as --tfopwg-disposition PC."
        )
    new = [s for s in watch.searches if s.name != name]
    replaced = len(new) < len(watch.searches)
    if not replaced and len(new) >= MAX_SEARCHES:
        raise InvalidRequestError(f"The watch list already holds {MAX_SEARCHES} saved searches, its limit.")
    watch.searches = [*new, SavedSearch(name=name, filters=checked)]
    return not replaced


def remove_search(watch: WatchList, name: str) -> bool:
    before = len(watch.searches)
    watch.searches = [s for s in watch.searches if s.name != name]
    return len(watch.searches) < before


def remove_system(watch: WatchList, system: str) -> bool:
    """Remove ``system``; False when it was not there."""
    before = len(watch.systems)
    watch.systems = [entry for entry in watch.systems if entry.system != system]
    return len(watch.systems) < before


SEEN_FILE = "watch_seen.json"


def load_seen_dispositions(cache_dir: Path) -> dict[str, dict[str, str]]:
    """The dispositions ``whats_new`` saw last time, per system and TOI (empty when none or unreadable)."""
    try:
        data = read_small_file(cache_dir / SEEN_FILE)
        loaded = json.loads(data.decode("utf-8")) if data else {}
    except (ConfigurationError, UnicodeDecodeError, ValueError):
        return {}  # a cache: lost, it only costs one round of disposition changes
    if not isinstance(loaded, dict):
        return {}
    return {
        str(system): {str(toi): str(d) for toi, d in tois.items()}
        for system, tois in loaded.items()
        if isinstance(tois, dict)
    }


def save_seen_dispositions(cache_dir: Path, seen: dict[str, dict[str, str]]) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cache_dir / SEEN_FILE, json.dumps(seen, sort_keys=True) + "\n", durable=False)

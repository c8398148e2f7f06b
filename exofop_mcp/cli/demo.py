"""The offline demo: replica + MCP server + a real MCP client, printed as a transcript.

Nothing leaves this machine: the ExoFOP replica serves on 127.0.0.1, the
server runs as a subprocess over stdio exactly as Claude Desktop would start
it, and its cache and data live in a new directory that is kept afterwards
(its path is printed), so the downloaded files, light curves and plots can be
looked at.  The transcript walks the whole workflow: resolve, list, download,
list what is on disk, extract light curves, preview a plot and a light curve,
search the TOI catalog, and plan transits when the server has that tool.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio


def _print(text: str = "") -> None:
    print(text, flush=True)


def _call_args(args: dict[str, Any]) -> str:
    return json.dumps(args, ensure_ascii=False)


def _rows_table(rows: list[dict[str, Any]], limit: int = 10) -> str:
    header = f"{'#':>3}  {'date':10}  {'telescope':24}  {'filter':6}  {'tag':>7}  notes"
    lines = [header, "-" * len(header)]
    for i, row in enumerate(rows[:limit], start=1):
        notes = (row.get("notes") or "")[:40]
        lines.append(
            f"{i:>3}  {row.get('obs_date') or '':10}  {(row.get('telescope') or '')[:24]:24}  "
            f"{(row.get('filter') or '')[:6]:6}  {row.get('tag') or '':>7}  {notes}"
        )
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more {'row' if len(rows) - limit == 1 else 'rows'} on this page")
    return "\n".join(lines)


def _tree(root: Path, limit: int = 14) -> list[str]:
    """A few lines showing the system directory's layout."""
    lines = []
    for path in sorted(root.rglob("*")):
        if path.name.startswith("."):
            continue
        depth = len(path.relative_to(root).parts) - 1
        if depth > 2:
            continue
        lines.append("    " * depth + path.name + ("/" if path.is_dir() else ""))
    return lines[:limit] + ([f"... ({len(lines) - limit} more)"] if len(lines) > limit else [])


async def _demo(target: str, base_url: str, workdir: Path) -> None:
    from mcp import Client, StdioServerParameters

    env = {
        "EXOFOP_BASE_URL": base_url,
        "EXOFOP_MCP_DATA_DIR": str(workdir / "data"),
        "EXOFOP_MCP_CACHE_DIR": str(workdir / "cache"),
        "EXOFOP_MCP_CONFIG_DIR": str(workdir / "config"),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(workdir)),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "exofop_mcp", "serve"], env=env)
    started = time.perf_counter()
    async with Client(params) as client:
        tools = await client.list_tools()
        _print(f"Connected to the exofop-mcp server over stdio in {time.perf_counter() - started:.2f} s.")
        _print(f"Tools: {', '.join(t.name for t in tools.tools)}")
        _print()

        async def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
            _print(f">>> {name}({_call_args(args)})")
            t0 = time.perf_counter()
            result = await client.call_tool(name, args)
            elapsed = time.perf_counter() - t0
            text = "\n".join(_content_line(c) for c in result.content)
            _print(textwrap.indent(text, "    "))
            _print(f"    [{'error' if result.is_error else 'ok'}, {elapsed * 1000:.0f} ms]")
            _print()
            if result.is_error:
                raise SystemExit(f"demo failed: {name} returned an error")
            return dict(result.structured_content or {})

        system = await call("resolve_system", {"query": target})
        again = await call("resolve_system", {"query": f"TIC {system['tic_id']}"})
        if again["canonical_name"] != system["canonical_name"]:
            raise SystemExit("demo failed: two names of one star resolved differently")
        page = await call("list_observations", {"system": system["canonical_name"], "kind": "time_series"})
        _print(textwrap.indent(_rows_table(page.get("rows", [])), "    "))
        _print()
        await call(
            "list_observations",
            {"system": system["canonical_name"], "kind": "time_series", "filter": "zs", "telescope": "LCO"},
        )
        await call("list_observations", {"system": system["canonical_name"], "kind": "spectroscopy", "limit": 5})
        wanted = {"system": system["canonical_name"], "kind": "time_series", "filter": "zs", "telescope": "LCO"}
        report = await call("download_tags", wanted)
        while report.get("state") == "running":
            report = await call("download_status", {"job_id": report["job_id"], "wait_seconds": 30})
        again = await call("download_tags", wanted)
        if set(again.get("totals", {})) != {"already_present"}:
            raise SystemExit("demo failed: a repeated download fetched data again")
        await call("list_downloads", {})
        await call("list_downloads", {"system": system["canonical_name"]})
        # the downloaded light curves: a table, a plot and a transit fit each, summarised for the system
        extraction = await call("extract_light_curves", {"system": system["canonical_name"], "limit": 5})
        while extraction.get("state") == "running":
            status = {"job_id": extraction["job_id"], "wait_seconds": 30, "limit": 5}
            extraction = await call("extraction_status", status)
        curve = next((e for e in extraction.get("results", []) if e.get("png")), None)
        if curve is not None:
            await call("preview_file", {"system": system["canonical_name"], "path": curve["png"]})
            await call("preview_file", {"system": system["canonical_name"], "path": curve["ecsv"]})
        _print(f"Files on disk under {report['directory']}:")
        for line in _tree(Path(report["directory"])):
            _print(f"    {line}")
        _print()
        await call(
            "search_tois",
            {"tfopwg_disposition": ["PC"], "tess_mag_max": 11, "time_series_max": 0, "limit": 5},
        )
        # the observer's decisions: when to observe it, where its follow-up stands, what changed lately
        tonight = datetime.now(UTC).date()
        await call(
            "plan_transits",
            {"observatory": "lco-ctio", "start_date": tonight.isoformat(), "nights": 30,
             "systems": [system["canonical_name"]], "min_observable_fraction": 0, "limit": 5},
        )  # fmt: skip
        await call("follow_up_status", {"system": system["canonical_name"], "notes_limit": 3})
        since = (tonight - timedelta(days=730)).isoformat()
        await call("whats_new", {"since": since, "systems": [system["canonical_name"]], "limit": 5})
        await call("login_status", {})


def _content_line(item: Any) -> str:
    """One content item of a result as a transcript line: text as it is, the others as what they are."""
    kind = getattr(item, "type", "")
    if kind == "text":
        return str(getattr(item, "text", ""))
    if kind == "resource_link":
        return f"[resource link: {getattr(item, 'uri', '')}]"
    if kind == "image":
        return f"[image: {getattr(item, 'mime_type', None) or getattr(item, 'mimeType', '')}]"
    return f"[{kind}]"


def run_demo(target: str = "TOI-1130") -> int:
    from exofop_mcp.replica import Replica, ReplicaConfig

    _print("exofop-mcp offline demo: everything below runs on this machine, against a local ExoFOP replica.")
    workdir = Path(tempfile.mkdtemp(prefix="exofop-mcp-demo-"))  # kept: the files are there to look at
    with Replica(ReplicaConfig()) as replica:
        _print(f"ExoFOP replica serving on {replica.base_url}; sandbox in {workdir}")
        _print()
        anyio.run(_demo, target, replica.base_url, workdir)
    _print(f"Demo finished. The sandbox is kept in {workdir / 'data'}: the downloaded tags, the light curves")
    _print(f"and their plots are there to look at (delete {workdir} when done).")
    return 0

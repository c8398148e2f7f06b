"""Child process of bench_extract.py: exofop-mcp's extraction of one system, with its figures as JSON.

Reads the EXOFOP_* variables (the parent points them at the replica and a sandbox).

    _extract_child.py SYSTEM [overwrite] [no-plots]   one extraction: the call's wall and CPU time
        (imports apart: the API and the extraction's modules are imported first and timed apart, as
        the library's child imports its module first), peak RSS, every entry; with ``repeat``, the
        same call again in this process, several times (the in-process repeat).
    _extract_child.py SYSTEM fresh-repeat             one call and nothing else imported first: what
        a fresh process (the command line, say) spends on a repeat, its imports timed apart.
    _extract_child.py SYSTEM server                   a stdio MCP server (``exofop-mcp serve``) started
        once; extract_light_curves called through it, the first call apart, then timed repeats.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import time

from _common import peak_rss_kib  # the script's directory is on sys.path

started = time.perf_counter()
from exofop_mcp.api import Exofop  # noqa: E402

imported_api = time.perf_counter()
REPEATS = 7


def emit(event: str, **data: object) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


async def extract(system: str, overwrite: bool, plots: bool, repeat: bool) -> None:
    import exofop_mcp.lightcurves.extraction  # noqa: F401  numpy, ERFA, Pillow: imports apart

    if plots:  # matplotlib is imported by the first plot (~0.8 s of CPU, once a process): apart too
        import matplotlib.backends.backend_agg
        import matplotlib.figure  # noqa: F401

    imported = time.perf_counter()
    async with Exofop() as exofop:
        await exofop.resolve_system(system)  # the catalog is warm: a lookup, not part of the extraction
        begin, cpu = time.perf_counter(), time.process_time()
        report = await exofop.extract_light_curves(system, overwrite=overwrite, plots=plots)
        seconds, cpu = time.perf_counter() - begin, time.process_time() - cpu
        again: list[tuple[float, float]] = []
        if repeat:
            for _ in range(REPEATS):
                b, c = time.perf_counter(), time.process_time()
                repeated = await exofop.extract_light_curves(system, plots=plots)
                again.append((time.perf_counter() - b, time.process_time() - c))
                assert "extracted" not in repeated.totals, repeated.totals
    emit(
        "extract",
        import_seconds=imported - started,
        seconds=seconds,
        cpu_seconds=cpu,
        peak_rss_bytes=peak_rss_kib() * 1024,
        state=report.state,
        totals=report.totals,
        light_curves=report.light_curves,
        entries=[e.model_dump(mode="json", exclude_none=True) for e in report.results],
        repeat_seconds=statistics.median(a for a, _ in again) if again else None,
        repeat_cpu_seconds=statistics.median(c for _, c in again) if again else None,
    )


async def fresh_repeat(system: str) -> None:
    async with Exofop() as exofop:
        await exofop.resolve_system(system)
        begin, cpu = time.perf_counter(), time.process_time()
        report = await exofop.extract_light_curves(system)
        seconds, cpu = time.perf_counter() - begin, time.process_time() - cpu
    heavy = sorted(m for m in ("numpy", "erfa", "astropy", "matplotlib") if m in sys.modules)
    emit(
        "fresh_repeat",
        import_seconds=imported_api - started,
        seconds=seconds,
        cpu_seconds=cpu,
        totals=report.totals,
        heavy_modules=heavy,
        process_cpu_seconds=time.process_time(),  # the whole process: interpreter, imports, the call
    )


async def server(system: str) -> None:
    from mcp import Client, StdioServerParameters

    command = shutil.which("exofop-mcp", path=os.path.dirname(sys.executable)) or "exofop-mcp"
    env = {k: v for k, v in os.environ.items() if k.startswith("EXOFOP")}
    params = StdioServerParameters(command=command, args=["serve", "--log-level", "WARNING"], env=env)
    args = {"system": system, "limit": 5}
    async with Client(params) as client:
        b = time.perf_counter()
        first = await client.call_tool("extract_light_curves", args)
        first_seconds = time.perf_counter() - b
        calls = []
        for _ in range(REPEATS):
            b = time.perf_counter()
            result = await client.call_tool("extract_light_curves", args)
            calls.append(time.perf_counter() - b)
            assert not result.is_error and result.structured_content is not None
            assert "extracted" not in result.structured_content["totals"], result.structured_content["totals"]
    emit(
        "server",
        first_call_seconds=first_seconds,
        first_totals=(first.structured_content or {}).get("totals"),
        repeat_seconds=statistics.median(calls),
        repeat_min_seconds=min(calls),
    )


def main() -> None:
    system, flags = sys.argv[1], sys.argv[2:]
    if "fresh-repeat" in flags:
        asyncio.run(fresh_repeat(system))
    elif "server" in flags:
        asyncio.run(server(system))
    else:
        asyncio.run(extract(system, "overwrite" in flags, "no-plots" not in flags, "repeat" in flags))


main()

"""Child process of the benchmarks: runs the exofop-mcp core in a fresh interpreter and reports JSON lines.

Usage (the benchmarks call it; settings come from the ``EXOFOP_*`` environment):

    python benchmarks/_child.py resolve QUERY [--wait-warmup]
    python benchmarks/_child.py repeat QUERY [QUERY ...] --count N --budget SECONDS
    python benchmarks/_child.py download SYSTEM --tags 1,2,3 [--keep-zip] [--repeat]
                                          # (after Exofop.warm_up(), timed as warm_up_s)
    python benchmarks/_child.py rss SYSTEM --tag N [--list-first]
    python benchmarks/_child.py download SYSTEM --kind time_series --repeat    # every tag of a kind
    python benchmarks/_child.py refresh          # peak RSS of a cold-catalog refresh
    python benchmarks/_child.py cleanup          # what the next start removes of a killed download

Only the standard library is imported before the clock starts, so ``import_s`` is the cost of
importing exofop-mcp itself.  Every report carries wall-clock times (``time.time()``) that the
parent matches against the replica's request log.
"""

from __future__ import annotations

import time

T_TOP_WALL = time.time()
T_TOP = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def proc_status_kib(key: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in KiB (None where there is no /proc)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` value 5); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def ru_maxrss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def cmd_resolve(args: argparse.Namespace) -> None:
    from exofop_mcp.api import Exofop

    t_imported = time.perf_counter()
    exofop = Exofop()
    t_setup = time.perf_counter()
    astropy_before = "astropy" in sys.modules
    call_start = time.time()
    c0 = time.perf_counter()
    system = await exofop.resolve_system(args.query)
    call_s = time.perf_counter() - c0
    call_end = time.time()
    emit(
        "answer",
        top_wall=T_TOP_WALL,
        import_s=t_imported - T_TOP,
        setup_s=t_setup - t_imported,
        call_s=call_s,
        call_start=call_start,
        call_end=call_end,
        canonical=system.canonical_name,
        tic=system.tic_id,
        matched_by=system.matched_by,
        source=system.catalog.source if system.catalog else None,
        requests_sent=exofop.client.requests_sent,
        astropy_imported_by_call=not astropy_before and "astropy" in sys.modules,
    )
    warm_end = None
    if args.wait_warmup:
        await exofop.catalog.wait_for_warm_up(120.0)
        warm_end = time.time()
    c1 = time.perf_counter()
    await exofop.aclose()
    emit("done", warmup_end=warm_end, close_s=time.perf_counter() - c1, fresh=exofop.catalog.is_fresh())


async def cmd_repeat(args: argparse.Namespace) -> None:
    from exofop_mcp.api import Exofop

    async with Exofop() as exofop:
        for query in args.queries:
            first_start = time.time()
            f0 = time.perf_counter()
            await exofop.resolve_system(query)
            first_s = time.perf_counter() - f0
            sent_before = exofop.client.requests_sent
            loop_start = time.time()
            times: list[float] = []
            deadline = time.perf_counter() + args.budget
            while len(times) < args.count and (len(times) < 3 or time.perf_counter() < deadline):
                c0 = time.perf_counter()
                await exofop.resolve_system(query)
                times.append(time.perf_counter() - c0)
            emit(
                "repeat",
                query=query,
                first_s=first_s,
                first_start=first_start,
                loop_start=loop_start,
                loop_end=time.time(),
                times=times,
                requests_in_loop=exofop.client.requests_sent - sent_before,
            )


async def cmd_download(args: argparse.Namespace) -> None:
    from exofop_mcp.api import Exofop

    tags = [int(t) for t in args.tags.split(",") if t] if args.tags else None
    t_imported = time.perf_counter()
    async with Exofop() as exofop:
        # The HTTP stack's one-time set-up (TLS context, network backend), paid before the clock as the
        # MCP server pays it at start: the download's figures are of the download.
        w0 = time.perf_counter()
        await exofop.warm_up()
        warm_up_s = time.perf_counter() - w0
        phases = ["cold", "repeat"] if args.repeat else ["cold"]
        for phase in phases:
            archives_before = exofop.downloader.archive_requests
            start = time.time()
            c0 = time.perf_counter()
            astropy_before = "astropy" in sys.modules
            report = await exofop.download_tags(
                args.system, tags=tags, kind=args.kind, keep_zip=args.keep_zip, wait_seconds=300
            )
            wall = time.perf_counter() - c0
            statuses: dict[str, int] = {}
            for result in report.results:
                statuses[result.status] = statuses.get(result.status, 0) + 1
            emit(
                phase,
                start=start,
                end=time.time(),
                wall_s=wall,
                statuses=statuses,
                bytes=report.bytes_downloaded,
                archive_requests=exofop.downloader.archive_requests - archives_before,
                astropy_imported_by_call=not astropy_before and "astropy" in sys.modules,
                directory=report.directory,
            )
    emit("done", import_s=t_imported - T_TOP, warm_up_s=warm_up_s)


async def cmd_rss(args: argparse.Namespace) -> None:
    import gc

    from exofop_mcp.api import Exofop

    async with Exofop() as exofop:
        system = await exofop.resolve_system(args.system)
        if args.list_first:
            # Parsing an observation table loads astropy's table reader (as the download's planning does).
            await exofop.list_observations(system, kind="time_series", limit=1)
        gc.collect()
        await asyncio.sleep(0.2)
        astropy_before = "astropy" in sys.modules
        idle_rss = proc_status_kib("VmRSS")
        idle_hwm = proc_status_kib("VmHWM")
        reset = reset_peak_rss()
        maxrss_before = ru_maxrss_kib()
        start = time.time()
        c0 = time.perf_counter()
        report = await exofop.download_tags(system.canonical_name, tags=[args.tag])
        wall = time.perf_counter() - c0
        result = report.results[0]
        emit(
            "rss",
            astropy_loaded_before=astropy_before,
            catalog_source=system.catalog.source if system.catalog else None,
            idle_rss_kib=idle_rss,
            idle_hwm_kib=idle_hwm,
            hwm_reset=reset,
            peak_hwm_kib=proc_status_kib("VmHWM"),
            end_rss_kib=proc_status_kib("VmRSS"),
            maxrss_before_kib=maxrss_before,
            maxrss_after_kib=ru_maxrss_kib(),
            status=result.status,
            bytes=result.bytes,
            files=result.file_count,
            wall_s=wall,
            start=start,
            end=time.time(),
        )


async def cmd_refresh(args: argparse.Namespace) -> None:
    import gc

    from exofop_mcp.api import Exofop

    async with Exofop() as exofop:
        gc.collect()
        idle_rss = proc_status_kib("VmRSS")
        reset = reset_peak_rss()
        c0 = time.perf_counter()
        status = await exofop.catalog.refresh()
        emit(
            "refresh",
            wall_s=time.perf_counter() - c0,
            rows=status.rows,
            idle_rss_kib=idle_rss,
            peak_hwm_kib=proc_status_kib("VmHWM"),
            hwm_reset=reset,
        )


async def cmd_cleanup(args: argparse.Namespace) -> None:
    from exofop_mcp.api import Exofop

    exofop = Exofop()
    c0 = time.perf_counter()
    removed = exofop.remove_abandoned_files()
    emit("cleanup", removed=removed, wall_s=time.perf_counter() - c0)
    await exofop.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(prog="_child.py")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("resolve")
    p.add_argument("query")
    p.add_argument("--wait-warmup", action="store_true")
    p = sub.add_parser("repeat")
    p.add_argument("queries", nargs="+")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--budget", type=float, default=2.0)
    p = sub.add_parser("download")
    p.add_argument("system")
    p.add_argument("--tags")
    p.add_argument("--kind")
    p.add_argument("--keep-zip", action="store_true")
    p.add_argument("--repeat", action="store_true")
    p = sub.add_parser("rss")
    p.add_argument("system")
    p.add_argument("--tag", type=int, required=True)
    p.add_argument("--list-first", action="store_true", help="list observations before measuring idle RSS")
    sub.add_parser("refresh")
    sub.add_parser("cleanup")
    args = parser.parse_args()
    handler = {
        "resolve": cmd_resolve,
        "repeat": cmd_repeat,
        "download": cmd_download,
        "rss": cmd_rss,
        "refresh": cmd_refresh,
        "cleanup": cmd_cleanup,
    }[args.command]
    asyncio.run(handler(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

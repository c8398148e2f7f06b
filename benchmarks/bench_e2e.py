"""Benchmark: an assistant's download end to end through MCP over stdio, beside the library, in one run.

    .venv/bin/python benchmarks/bench_e2e.py                 # C = 2, 4, 5; latency 0.2 s and 0.05 s; best of 3
    .venv/bin/python benchmarks/bench_e2e.py --quick         # C = 4, latency 0.2 s, 10 tags, one run each
    .venv/bin/python benchmarks/bench_e2e.py --connections 4 --latency 0.2 --runs 3

One replica (4 MiB/s per connection, tags of 2 MiB) serves both clients; TOI-736 is given 320 time-series
rows for this run.  For each latency and concurrency C, and each run:

* ours: a real MCP client (the SDK's stdio client) spawns the installed ``exofop-mcp serve`` with the
  replica's base URL and a fresh sandbox (warm catalog), then makes the assistant's calls:
  ``list_observations(system, kind="time_series")``, then ``download_tags(system, tags=[N tags],
  wait_seconds=300)``, timed from the call to the final report;
* the library (``exofop`` from PyPI, in its own venv): ``TagDownloader(max_concurrent_downloads=C)``,
  ``download_tags`` + ``unzip_downloaded_files`` of the same tags, in a fresh process.

It prints both walls, both ratios to the ideal ``ceil(N/C) x (latency + size/bandwidth)``, the CPU of
each side during the call (``/proc/<pid>/stat`` of the server, ``resource.getrusage`` in the library's
child), and for ours a timeline from the replica's request log and the server's log (stderr, INFO):
call sent -> the server has the call -> first archive request -> last archive byte -> report returned,
and each small request (name, tables) with how long it held a lane (received -> last byte at the replica).
The load average is printed beside every figure: on a shared machine a figure measured under load is
inflated.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import PYTHON, child_env, fmt_ms, loud, print_table, settings_env

from exofop_mcp.replica import dataset as replica_dataset

SYSTEM_TIC = replica_dataset.BUSY_SYSTEM_TIC
ROWS = 320
# A 320-row system: set before the replica's dataset allocates its tags (this process's replica only).
replica_dataset.CURATED[SYSTEM_TIC] = replica_dataset.CuratedSystem(counts={"tseries": ROWS})

import bench_download as bd  # noqa: E402

from exofop_mcp.replica import Replica, ReplicaConfig  # noqa: E402

SYSTEM = "TOI-736"
MiB = 2**20
BANDWIDTH = 4 * MiB
TAG_SIZE = 2 * MiB
EXECUTABLE = Path(PYTHON).parent / "exofop-mcp"
ARCHIVE_PAGE = "download_tag_files_zip.php"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
SERVER_LOG = "INFO"
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ ([\w.]+): (.*)$")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process (every thread), from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


async def settled(pid: int | None, most: float = 15.0) -> None:
    """Wait until the server has used under 5 ms of CPU in 0.25 s (its background warm-ups are over)."""
    if pid is None:
        await asyncio.sleep(2.0)
        return
    deadline = time.monotonic() + most
    before = cpu_of(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = cpu_of(pid)
        if now - before < 0.005:
            return
        before = now


def server_pid(command: str) -> int | None:
    """The server child of this process (the stdio client spawns it)."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ppid == me and command in cmdline:
            return int(name)
    return None


def server_log(path: Path) -> list[tuple[float, str, str]]:
    """(wall time, logger, message) of each line of the server's stderr log."""
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(raw)
        if match:
            when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(match.group(2)) / 1000
            lines.append((when, match.group(3), match.group(4)))
    return lines


async def ours(
    replica: Replica, root: Path, tags: list[int], concurrency: int, log_level: str = "INFO"
) -> dict[str, Any]:
    """The assistant's sequence through a real MCP client over stdio."""
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = settings_env(replica.base_url, root, EXOFOP_MCP_CONCURRENCY=str(concurrency))
    env.update({"PATH": child_env().get("PATH", ""), "HOME": str(root)})
    log_path = root / "server.log"
    params = StdioServerParameters(command=str(EXECUTABLE), args=["serve", "--log-level", log_level], env=env)
    with open(log_path, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            pid = server_pid(str(EXECUTABLE))
            await client.list_tools()  # what an assistant's client does first
            await settled(pid)  # the server's start-up warm-ups are done: an assistant's first call comes later
            c0 = time.perf_counter()
            listed = await client.call_tool("list_observations", {"system": SYSTEM, "kind": "time_series"})
            list_s = time.perf_counter() - c0
            if listed.is_error:
                raise RuntimeError(f"list_observations failed: {listed.content}")
            await asyncio.sleep(0.3)  # the assistant reads the listing before it asks for the tags
            await settled(pid)
            replica.reset_requests()
            cpu0 = cpu_of(pid) if pid else None
            start = time.time()
            c0 = time.perf_counter()
            result = await client.call_tool("download_tags", {"system": SYSTEM, "tags": tags, "wait_seconds": 300})
            wall = time.perf_counter() - c0
            end = time.time()
            cpu1 = cpu_of(pid) if pid else None
            if result.is_error:
                raise RuntimeError(f"download_tags failed: {result.content}")
            check = CLIENT_CHECKS.pop("download_tags", None)
    report = result.structured_content or {}
    records = list(replica.requests)
    archives = [r for r in records if r.path.endswith(ARCHIVE_PAGE)]
    small = [r for r in records if not r.path.endswith(ARCHIVE_PAGE)]
    lines = server_log(log_path)
    asked = next((t for t, name, msg in lines if name.endswith("jobs") and "asked" in msg and t >= start - 1), None)
    ended = next((t for t, name, msg in lines if name.endswith("jobs") and msg.startswith("download job")), None)
    return {
        "wall": wall,
        "list_s": list_s,
        "cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
        "client_check_s": check,
        "state": report.get("state"),
        "totals": report.get("totals"),
        "start": start,
        "end": end,
        "asked": asked,
        "job_ended": ended,
        "first_archive": min((r.received for r in archives), default=None),
        "last_byte": max((r.end for r in archives), default=None),
        "archives": len(archives),
        "served": [r.end - r.received for r in archives],
        "idle": lane_idle(archives),
        "small": [(r.path.rsplit("/", 1)[-1], r.query, r.received, r.end) for r in small],
    }


#: How long the MCP client's own check of each tool result against the tool's output schema took (the
#: SDK validates every structured result; the first check of a tool also compiles its schema).
CLIENT_CHECKS: dict[str, float] = {}


def time_client_checks() -> None:
    from mcp.client.session import ClientSession

    original = ClientSession.validate_tool_result

    async def timed(self: Any, name: str, result: Any) -> None:
        c0 = time.perf_counter()
        try:
            await original(self, name, result)
        finally:
            CLIENT_CHECKS[name] = time.perf_counter() - c0

    ClientSession.validate_tool_result = timed  # type: ignore[method-assign]


def lane_idle(archives: list[Any]) -> list[float]:
    """Each archive request's wait after a lane freed: the time from the end of the transfer that freed a lane
    to the next request's arrival at the replica (lanes matched greedily, earliest end first)."""
    ends: list[float] = []
    gaps = []
    for r in sorted(archives, key=lambda r: r.received):
        free = [e for e in ends if e <= r.received]
        if free:
            last = max(free)
            ends.remove(last)
            gaps.append(r.received - last)
        ends.append(r.end)
    return gaps


def library(python: Path, replica: Replica, root: Path, tags: list[int], concurrency: int) -> dict[str, Any] | str:
    from _common import REFERENCE_CHILD, run_child

    target = root / "library"
    target.mkdir(parents=True)
    argv = [str(python), str(REFERENCE_CHILD), "download", replica.base_url, str(target)]
    argv += ["--tags", ",".join(map(str, tags)), "--connections", str(concurrency)]
    run = run_child(argv, env=child_env(), timeout=600)
    try:
        cold = run.report("cold")
    except RuntimeError as exc:
        return str(exc)
    return {"wall": cold["wall_s"], "cpu_s": cold.get("cpu_s"), "statuses": cold["statuses"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="C = 4, latency 0.2 s, 10 tags, one run each")
    parser.add_argument("--connections", type=int, nargs="*", help="concurrency values (default 2 4 5)")
    parser.add_argument("--latency", type=float, nargs="*", help="latencies in seconds (default 0.2 0.05)")
    parser.add_argument("--runs", type=int, help="runs of each side (default 3; best is reported)")
    parser.add_argument("--tags", type=int, help="number of tags (default 40)")
    parser.add_argument("--skip-reference", action="store_true", help="do not run (or install) the PyPI library")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--server-log", default="INFO", help="the server's --log-level (DEBUG: every request)")
    args = parser.parse_args()
    global SERVER_LOG
    SERVER_LOG = args.server_log
    time_client_checks()
    count = args.tags or (10 if args.quick else 40)
    conns = args.connections or ([4] if args.quick else [2, 4, 5])
    latencies = args.latency or ([0.2] if args.quick else [0.2, 0.05])
    runs = args.runs or (1 if args.quick else 3)
    work = Path(tempfile.mkdtemp(prefix="exofop-bench-e2e-"))
    print(f"bench_e2e: {count} tags x 2 MiB of {SYSTEM} ({ROWS} time-series rows), C={conns}, latency={latencies}, ")
    print(f"{runs} run(s) each, scratch {work}, load {load()}", flush=True)
    python_ref = None
    if not args.skip_reference:
        python_ref, why = bd.reference_python()
        if python_ref is None:
            loud(f"REFERENCE LIBRARY NOT MEASURED: {why}")
    config = ReplicaConfig(latency=0.2, bandwidth=BANDWIDTH, tag_size=TAG_SIZE, cache_dir=str(work / "replica-cache"))
    rows: list[list[str]] = []
    try:
        with Replica(config) as replica:
            replica.dataset.warm()
            tags = bd.pick_tags(replica, count, tic=SYSTEM_TIC)
            sizes = bd.prebuild_archives(replica, tags)
            warm_cache = bd.build_warm_cache(replica, work)
            mean = sum(sizes.values()) / len(sizes)
            for latency in latencies:
                replica.configure(latency=latency)
                for c in conns:
                    ideal = math.ceil(count / c) * (latency + mean / BANDWIDTH)
                    rows.append(measure(replica, work, warm_cache, tags, c, latency, ideal, runs, python_ref))
    finally:
        if args.keep:
            print(f"scratch kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(
        f"End to end, {count} tags x 2 MiB, 4 MiB/s per connection (best of {runs})",
        ["latency", "C", "ideal", "ours (MCP)", "ours/ideal", "library", "library/ideal", "lib/ours", "load"],
        rows,
        note="lib/ours > 1 means exofop-mcp is faster. load: the 1- and 5-minute load averages at the end.",
    )
    return 0


def measure(
    replica: Replica,
    work: Path,
    warm_cache: Path,
    tags: list[int],
    c: int,
    latency: float,
    ideal: float,
    runs: int,
    python_ref: Path | None,
) -> list[str]:
    bd.banner(f"latency {latency} s, C={c}: ideal {ideal:.3f} s")
    mine: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for run in range(runs):
        root = bd.sandbox(work, f"ours-{latency}-{c}-{run}", warm_cache)
        item = asyncio.run(ours(replica, root, tags, c, SERVER_LOG))
        mine.append(item)
        print_timeline(item, ideal)
        if python_ref is not None:
            lib = library(python_ref, replica, work / f"lib-{latency}-{c}-{run}", tags, c)
            if isinstance(lib, str):
                loud(f"REFERENCE LIBRARY FAILED: {lib}")
            else:
                theirs.append(lib)
                cpu = f", CPU {lib['cpu_s']:.2f} s" if lib.get("cpu_s") is not None else ""
                print(
                    f"  library: {lib['wall']:.3f} s ({lib['wall'] / ideal:.3f}x){cpu}, "
                    f"{lib['statuses']} (load {load()})",
                    flush=True,
                )
    best = min(mine, key=lambda i: i["wall"])
    lib_best = min(theirs, key=lambda i: i["wall"]) if theirs else None
    return [
        f"{latency:g} s",
        str(c),
        f"{ideal:.2f} s",
        f"{best['wall']:.3f} s",
        f"{best['wall'] / ideal:.3f}x",
        f"{lib_best['wall']:.3f} s" if lib_best else "-",
        f"{lib_best['wall'] / ideal:.3f}x" if lib_best else "-",
        f"{lib_best['wall'] / best['wall']:.3f}x" if lib_best else "-",
        load(),
    ]


def print_timeline(item: dict[str, Any], ideal: float) -> None:
    start = item["start"]

    def at(t: float | None) -> str:
        return "-" if t is None else f"+{(t - start) * 1e3:7.1f} ms"

    cpu = f", server CPU {item['cpu_s']:.2f} s" if item["cpu_s"] is not None else ""
    print(
        f"  ours: {item['wall']:.3f} s ({item['wall'] / ideal:.3f}x), {item['state']}, {item['totals']}, "
        f"{item['archives']} archive requests{cpu} (list_observations {fmt_ms(item['list_s'])}; load {load()})"
    )
    print(f"    call sent                 {at(start)}")
    print(f"    server has the call       {at(item['asked'])}   (server log, ms resolution)")
    print(f"    first archive request     {at(item['first_archive'])}")
    print(f"    last archive byte         {at(item['last_byte'])}")
    print(f"    job ended                 {at(item['job_ended'])}   (server log)")
    check = item["client_check_s"]
    print(f"    report returned           {at(item['end'])}   (of which the client's schema check {fmt_ms(check)})")
    served, idle = item["served"], item["idle"]
    if served:
        print(
            f"    archives at the replica: received -> last byte {fmt_ms(min(served))} .. {fmt_ms(max(served))} "
            f"(mean {fmt_ms(sum(served) / len(served))}); a freed lane idle before the next request: "
            f"mean {fmt_ms(sum(idle) / len(idle) if idle else None)}, max {fmt_ms(max(idle) if idle else None)}"
        )
    for page, query, received, end in item["small"]:
        what = query.get("tag") or query.get("id") or query.get("target") or ""
        name = f"{page}?{what}" if what else page
        print(f"    small {name}: {at(received)} -> {at(end)}, lane {fmt_ms(end - received)}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())

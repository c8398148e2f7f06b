"""Benchmark: every performance figure of the README in one run, each with its target and verdict.

    .venv/bin/python benchmarks/bench_all.py             # 40 tags x 2 MiB, 300 MiB memory tag (~10 min)
    .venv/bin/python benchmarks/bench_all.py --quick     # 10 tags, 64 MiB memory tag, fewer repeats (~4 min)
    .venv/bin/python benchmarks/bench_all.py --skip-reference   # exofop-mcp only

One replica (latency 0.2 s, 4 MiB/s per connection, tags of 2 MiB) serves everything; each client runs in a
fresh process.  The busy system TOI-736 is given 1,100 time-series rows for this run (in this process's
replica only), so that one call can ask for about 1,000 tags.  The figures and what they mean are described
in benchmarks/README.md; the load average is printed with the results, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import CHILD, PYTHON, REPO, child_env, fmt_ms, fmt_ratio, fmt_s, loud, print_table, run_child, settings_env

from exofop_mcp.replica import dataset as replica_dataset

# ~1,000 tags in one call (by kind): set before the replica's dataset allocates its tags.
replica_dataset.CURATED[replica_dataset.BUSY_SYSTEM_TIC] = replica_dataset.CuratedSystem(counts={"tseries": 1100})

import bench_download as bd  # noqa: E402
from bench_resolve import server_start  # noqa: E402

from exofop_mcp.replica import Replica, ReplicaConfig  # noqa: E402

MiB = 2**20
EXECUTABLE = Path(PYTHON).parent / "exofop-mcp"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


class Figures:
    """The rows of the final table: figure, target, measured, verdict, load when measured."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []

    def add(self, figure: str, target: str, measured: str, ok: bool | None) -> None:
        verdict = "-" if ok is None else ("met" if ok else "NOT MET")
        self.rows.append([figure, target, measured, verdict, load()])
        print(f"  {figure}: {measured} ({verdict}, {load()})", flush=True)


def max_in_flight(records: list[Any], start: float, end: float) -> int:
    """The most requests the replica was serving at once between ``start`` and ``end`` (received -> end)."""
    events = []
    for r in records:
        if r.end is None or r.end < start or r.received > end:
            continue
        events.append((r.received, 1))
        events.append((r.end, -1))
    most = current = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        current += step
        most = max(most, current)
    return most


async def mcp_download(env: dict[str, str], system: str, arguments: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Through the installed command over stdio: first answer, then download_tags (and again)."""
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=str(EXECUTABLE), args=[], env=env)
    async with Client(params) as client:
        await client.call_tool("resolve_system", {"query": system})
        start = time.time()
        c0 = time.perf_counter()
        result = await client.call_tool("download_tags", {"system": system, "wait_seconds": 300, **arguments})
        cold = time.perf_counter() - c0
        end = time.time()
        if result.is_error:
            raise RuntimeError(f"download_tags failed: {result.content}")
        report = result.structured_content or {}
        times = []
        for _ in range(repeats):
            c1 = time.perf_counter()
            again = await client.call_tool("download_tags", {"system": system, **arguments})
            times.append(time.perf_counter() - c1)
            if again.is_error:
                raise RuntimeError(f"download_tags failed: {again.content}")
    # the report pages its per-tag results; its totals cover every tag
    statuses: dict[str, int] = dict(report.get("totals") or {})
    if not statuses:
        for item in report.get("results", []):
            statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    return {"cold_s": cold, "start": start, "end": end, "statuses": statuses, "repeats": times}


def killed_download(replica: Replica, work: Path, tag: int, size: int) -> dict[str, Any]:
    """A download of one big tag SIGKILLed halfway: its memory, what it leaves on disk, and the next start."""
    root = bd.sandbox(work, "killed", None)
    env = child_env(settings_env(replica.base_url, root))
    replica.configure(bandwidth=32 * MiB)  # about ten seconds for 300 MiB: time to look at it midway
    argv = [PYTHON, str(CHILD), "download", bd.SYSTEM, "--tags", str(tag)]
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = root / "data"
    hwm_kib = None
    deadline = time.monotonic() + 120
    part = 0
    while time.monotonic() < deadline and proc.poll() is None:
        part = sum(p.stat().st_size for p in data.rglob("*.part") if p.is_file()) if data.exists() else 0
        if part >= size // 2:
            break
        time.sleep(0.05)
    try:
        with open(f"/proc/{proc.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    hwm_kib = int(line.split()[1])
    except OSError:
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = [p for p in data.rglob("*") if p.is_file()] if data.exists() else []
    left_bytes = sum(p.stat().st_size for p in left)
    parts = [p for p in left if ".part" in p.name]
    part_bytes = sum(p.stat().st_size for p in parts)
    run = run_child([PYTHON, str(CHILD), "cleanup"], env=env)
    cleanup = run.report("cleanup")
    after = [p for p in data.rglob("*") if p.is_file()] if data.exists() else []
    replica.configure(bandwidth=bd.BANDWIDTH)
    return {
        "part_bytes_at_kill": part,
        "hwm_kib": hwm_kib,
        "left_files": len(left),
        "left_bytes": left_bytes,
        "part_files": len(parts),
        "part_at_kill_bytes": part_bytes,
        "removed": cleanup["removed"],
        "after_bytes": sum(p.stat().st_size for p in after),
        "after_parts": sum(1 for p in after if ".part" in p.name),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 tags, a 64 MiB memory tag, fewer repeats")
    parser.add_argument("--skip-reference", action="store_true", help="do not run (or install) the PyPI library")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="exofop-bench-all-"))
    count = 10 if args.quick else 40
    rss_size = (64 if args.quick else 300) * MiB
    print(f"bench_all: {'quick' if args.quick else 'full'} run, {count} tags, scratch {work}, {load()}")
    config = ReplicaConfig(
        latency=bd.LATENCY, bandwidth=bd.BANDWIDTH, tag_size=bd.TAG_SIZE, cache_dir=str(work / "replica-cache")
    )
    figures = Figures()
    try:
        with Replica(config) as replica:
            replica.dataset.warm()
            run(replica, work, args, count, rss_size, figures)
    finally:
        if args.keep:
            print(f"scratch kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        print_figures(args, figures)
    print(f"\nbench_all finished in {time.perf_counter() - started:.0f} s")
    return 0


def print_figures(args: argparse.Namespace, figures: Figures) -> None:
    print_table(
        f"Every figure ({'quick' if args.quick else 'full'} run)",
        ["figure", "target", "measured", "verdict", "load (1/5 min)"],
        figures.rows,
        note="Timings depend on the machine's load: a figure measured under load is inflated.",
    )


def run(replica: Replica, work: Path, args: argparse.Namespace, count: int, rss_size: int, figures: Figures) -> None:
    all_tags = bd.pick_tags(replica, count + 2)
    tags, rss_tag, kill_tag = all_tags[:count], all_tags[count], all_tags[count + 1]
    sizes = bd.prebuild_archives(replica, tags)
    per_tag = bd.LATENCY + (sum(sizes.values()) / len(sizes)) / bd.BANDWIDTH
    warm_cache = bd.build_warm_cache(replica, work)

    def ideal(c: int) -> float:
        return math.ceil(count / c) * per_tag

    python_ref = None
    if not args.skip_reference:
        python_ref, why = bd.reference_python()
        if python_ref is None:
            loud(f"REFERENCE LIBRARY NOT MEASURED: {why}")

    # -- bulk, through the Python API, side by side with the library -----------------------------------
    for c in (2, 4, 5):
        bd.banner(f"bulk: {count} tags at C={c}")
        ours = bd.run_ours(replica, work, warm_cache, tags, c)
        ratio = ours["cold_s"] / ideal(c)
        figures.add(
            f"bulk {count} tags, C={c}: wall / ideal",
            "<= 1.02x",
            f"{fmt_s(ours['cold_s'], 2)}, {ratio:.3f}x of {fmt_s(ideal(c), 2)}",
            ratio <= 1.02,
        )
        if python_ref is not None:
            ref = bd.run_reference(python_ref, replica, work, tags, c)
            if isinstance(ref, str):
                loud(f"REFERENCE LIBRARY FAILED: {ref}")
            else:
                figures.add(
                    f"bulk {count} tags, C={c}: library / ours",
                    "> 1.00x",
                    f"{fmt_ratio(ref['cold_s'], ours['cold_s'])} (library {fmt_s(ref['cold_s'], 2)})",
                    ref["cold_s"] > ours["cold_s"],
                )

    # -- bulk through MCP over stdio, C=4, with the requests in flight --------------------------------
    bd.banner(f"bulk through MCP over stdio: {count} explicit tags at C=4")
    root = bd.sandbox(work, "mcp-c4", warm_cache)
    env = settings_env(replica.base_url, root, EXOFOP_MCP_CONCURRENCY="4")
    env.update({"PATH": child_env().get("PATH", ""), "HOME": str(root)})
    replica.reset_requests()
    mcp = asyncio.run(mcp_download(env, bd.SYSTEM, {"tags": tags}, repeats=3))
    ratio = mcp["cold_s"] / ideal(4)
    figures.add(
        f"MCP stdio bulk {count} tags, C=4: wall / ideal",
        "<= 1.03x",
        f"{fmt_s(mcp['cold_s'], 2)}, {ratio:.3f}x of {fmt_s(ideal(4), 2)}",
        ratio <= 1.03,
    )
    most = max_in_flight(replica.requests, mcp["start"], mcp["end"])
    figures.add("MCP stdio bulk, C=4: requests in flight at most", "<= C + 1 = 5", str(most), most <= 5)

    # -- start-up and the cold lookup ------------------------------------------------------------------
    bd.banner("start-up and the cold lookup")
    starts = []
    for rep in range(2 if args.quick else 3):
        root = bd.sandbox(work, f"start-{rep}", warm_cache)
        env = settings_env(replica.base_url, root)
        env.update({"PATH": child_env().get("PATH", ""), "HOME": str(root)})
        starts.append(asyncio.run(server_start(str(EXECUTABLE), env))["first_answer_s"])
    best = min(starts)
    figures.add(
        "MCP server spawn -> first answer (best of runs)",
        "< 1 s",
        f"{fmt_s(best, 2)} (all: {', '.join(fmt_s(s, 2) for s in starts)})",
        best < 1.0,
    )
    colds = []
    for rep in range(2 if args.quick else 3):
        root = bd.sandbox(work, f"cold-{rep}", None)
        run_ = run_child(
            [PYTHON, str(CHILD), "resolve", "TOI-1130"], env=child_env(settings_env(replica.base_url, root))
        )
        colds.append(run_.report("answer")["call_s"])
    best = min(colds)
    figures.add(
        "cold resolve_system('TOI-1130'), fresh process",
        "<= 0.5 s",
        f"{fmt_s(best, 2)} (all: {', '.join(fmt_s(s, 2) for s in colds)})",
        best <= 0.5,
    )

    # -- repeated calls ----------------------------------------------------------------------------------
    bd.banner("repeated call vs number of tags")
    counts = (40, 150) if args.quick else (40, 150, 300)
    scaling = bd.run_scaling(replica, work, warm_cache, counts)
    # About 1,000 tags: every time-series tag of TOI-736 in one call (by kind; explicit tags stop at 500).
    saved = {
        "latency": replica.config.latency,
        "bandwidth": replica.config.bandwidth,
        "tag_size": replica.config.tag_size,
    }
    replica.configure(latency=0.0, bandwidth=None, tag_size=bd.SCALING_TAG_SIZE)
    try:
        root = bd.sandbox(work, "scaling-kind", warm_cache)
        run_ = run_child(
            [PYTHON, str(CHILD), "download", bd.BUSY_SYSTEM, "--kind", "time_series", "--repeat"],
            env=child_env(settings_env(replica.base_url, root, EXOFOP_MCP_CONCURRENCY="8")),
            timeout=1800,
        )
        cold, repeat = run_.report("cold"), run_.report("repeat")
        scaling.append(
            {"count": sum(repeat["statuses"].values()), "cold_s": cold["wall_s"], "repeat_s": repeat["wall_s"]}
        )
        bd.banner("repeated call of every TOI-736 tag through MCP over stdio")
        env = settings_env(replica.base_url, root)
        env.update({"PATH": child_env().get("PATH", ""), "HOME": str(root)})
        mcp_repeat = asyncio.run(mcp_download(env, bd.BUSY_SYSTEM, {"kind": "time_series"}, repeats=3))
    finally:
        replica.configure(**saved)
    first = scaling[0]["repeat_s"] / scaling[0]["count"]
    for item in scaling:
        per = item["repeat_s"] / item["count"]
        figures.add(
            f"repeated call, {item['count']} tags",
            "< 100 ms, linear",
            f"{fmt_ms(item['repeat_s'])} ({fmt_ms(per)} a tag, {per / first:.2f}x the first per tag)",
            item["repeat_s"] < 0.1,
        )
    best = min(mcp_repeat["repeats"])
    n = sum(mcp_repeat["statuses"].values())
    figures.add(
        f"repeated call through MCP, every TOI-736 tag ({n})",
        "< 100 ms (231 tags)",
        f"{fmt_ms(best)} (all: {', '.join(fmt_ms(t) for t in mcp_repeat['repeats'])})",
        best < 0.1,
    )

    # -- memory ------------------------------------------------------------------------------------------
    bd.banner(f"peak memory: one {rss_size // MiB} MiB tag")
    replica.configure(tag_sizes={rss_tag: rss_size, kill_tag: rss_size}, bandwidth=None)
    bd.prebuild_archives(replica, [rss_tag, kill_tag])
    rss_rows, _ = bd.run_rss(replica, work, warm_cache, rss_tag, None)
    for item in rss_rows:
        delta = (item["peak_hwm_kib"] - item["idle_rss_kib"]) / 1024
        figures.add(
            f"peak RSS over idle, {rss_size // MiB} MiB tag, {item['label'][12:]}",
            "<= +16 MiB",
            f"+{delta:.1f} MiB ({item['status']})",
            delta <= 16,
        )
    root = bd.sandbox(work, "refresh", None)
    refresh = run_child([PYTHON, str(CHILD), "refresh"], env=child_env(settings_env(replica.base_url, root)))
    item = refresh.report("refresh")
    delta = (item["peak_hwm_kib"] - item["idle_rss_kib"]) / 1024
    figures.add(
        "cold-catalog refresh (streamed), transient RSS",
        "<= 16 MiB",
        f"+{delta:.1f} MiB, {item['rows']} rows in {fmt_s(item['wall_s'], 2)}",
        delta <= 16,
    )
    bd.banner(f"a download of one {rss_size // MiB} MiB tag SIGKILLed halfway")
    killed = killed_download(replica, work, kill_tag, rss_size)
    figures.add(
        f"SIGKILL halfway through {rss_size // MiB} MiB: on disk",
        "only .part files",
        f"{killed['part_files']} .part of {killed['left_files']} files, {killed['left_bytes'] / MiB:.1f} MiB "
        f"(peak RSS of the killed process {(killed['hwm_kib'] or 0) / 1024:.0f} MiB)",
        killed["left_bytes"] - killed["part_at_kill_bytes"] < MiB,  # besides the .part: the lock file, empty
    )
    figures.add(
        "... after the next start (leftovers)",
        "no .part files",
        f"{killed['removed']} removed, {killed['after_parts']} .part left, {killed['after_bytes'] / MiB:.2f} MiB left",
        killed["after_parts"] == 0,
    )


if __name__ == "__main__":
    sys.exit(main())

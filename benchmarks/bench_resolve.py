"""Benchmark: resolving targets (cold, warm, repeated) and MCP server start-up, against the replica.

    .venv/bin/python benchmarks/bench_resolve.py            # full run (~1.5 min)
    .venv/bin/python benchmarks/bench_resolve.py --quick    # one repetition of everything (~30 s)

The replica serves the full 7,710-row TOI catalog with 0.2 s latency before each answer and a 4 MiB/s
cap per connection.  Every cold or warm measurement runs in a fresh interpreter (``_child.py``) with
its own cache directory; the replica's request log gives the round trips and bytes of each call.
See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    CHILD,
    PYTHON,
    REFERENCE_CHILD,
    ChildRun,
    banner,
    child_env,
    fmt_mb,
    fmt_ms,
    fmt_ratio,
    fmt_s,
    loud,
    median,
    percentile,
    print_table,
    reference_python,
    run_child,
    settings_env,
    verdict,
)

from exofop_mcp.replica import Replica, ReplicaConfig

LATENCY = 0.2
BANDWIDTH = 4 * 2**20
QUERIES = ("TOI-1130", "TOI-1130.01", "TIC 254113311", "WASP-46")
TOI_QUERIES = {"TOI-1130", "TOI-1130.01"}

COLD_TARGET_S = 0.5
COLD_TARGET_ROUND_TRIPS = 2
WARM_PROCESS_TARGET_S = 0.050
REPEAT_TARGET_S = 0.001
SERVER_TARGET_S = 1.5
# Figures the team measured for the PyPI `exofop` library against the real site (cold TOI -> TIC).
TEAM_REFERENCE_S = 3.2
TEAM_REFERENCE_BYTES = 9.7e6


def cold_runs(replica: Replica, work: Path, reps: int) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {}
    for index, query in enumerate(QUERIES):
        for rep in range(reps):
            root = work / f"cold-{index}-{rep}"
            replica.reset_requests()
            run = run_child(
                [PYTHON, str(CHILD), "resolve", query, "--wait-warmup"],
                env=child_env(settings_env(replica.base_url, root)),
            )
            answer, done = run.report("answer"), run.report("done")
            records = replica.requests
            # On the answer's path: requests whose last byte went out before the answer was returned.
            critical = [r for r in records if r.end <= answer["call_end"]]
            background = [r for r in records if r.end > answer["call_end"]]
            results.setdefault(query, []).append(
                {
                    "call_s": answer["call_s"],
                    "import_s": answer["import_s"],
                    "interpreter_s": answer["top_wall"] - run.spawned,
                    "to_answer_s": answer["call_end"] - run.spawned,
                    "process_s": run.wall,
                    "round_trips": len(critical),
                    "bytes": sum(r.bytes_sent for r in critical),
                    "pages": sorted({r.path.rsplit("/", 1)[-1] for r in critical}),
                    "bg_requests": len(background),
                    "bg_bytes": sum(r.bytes_sent for r in background),
                    "warm_done_s": (done["warmup_end"] - answer["call_end"]) if background else None,
                    "matched_by": answer["matched_by"],
                    "source": answer["source"],
                    "canonical": answer["canonical"],
                    "astropy": answer["astropy_imported_by_call"],
                }
            )
    return results


def build_warm_cache(replica: Replica, work: Path) -> Path:
    """A warm cache directory, built once by child processes: the full catalog, and WASP-46 asked once."""
    root = work / "warm-source"
    run = run_child(
        [PYTHON, str(CHILD), "resolve", "TIC 254113311", "--wait-warmup"],
        env=child_env(settings_env(replica.base_url, root)),
    )
    run.report("done")
    # A name asked once before is warm too: its resolver answer is kept beside the catalog.
    named = run_child(
        [PYTHON, str(CHILD), "resolve", "WASP-46"],
        env=child_env(settings_env(replica.base_url, root)),
    )
    named.report("done")
    cache = root / "cache"
    if not any(cache.glob("*.sqlite3")):
        raise RuntimeError(f"no catalog cache was written under {cache}")
    return cache


def fresh_root_with_cache(work: Path, name: str, warm_cache: Path) -> Path:
    root = work / name
    shutil.copytree(warm_cache, root / "cache")
    return root


def warm_process_runs(replica: Replica, work: Path, warm_cache: Path, reps: int) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {}
    for index, query in enumerate(QUERIES):
        for rep in range(reps):
            root = fresh_root_with_cache(work, f"warm-{index}-{rep}", warm_cache)
            replica.reset_requests()
            run = run_child([PYTHON, str(CHILD), "resolve", query], env=child_env(settings_env(replica.base_url, root)))
            answer = run.report("answer")
            records = replica.requests
            results.setdefault(query, []).append(
                {
                    "call_s": answer["call_s"],
                    "import_s": answer["import_s"],
                    "setup_s": answer["setup_s"],
                    "interpreter_s": answer["top_wall"] - run.spawned,
                    "to_answer_s": answer["call_end"] - run.spawned,
                    "process_s": run.wall,
                    "round_trips": len(records),
                    "bytes": sum(r.bytes_sent for r in records),
                    "source": answer["source"],
                }
            )
    return results


def bare_process_times(reps: int) -> tuple[float, float]:
    """Fastest wall time of ``python -c pass`` and of ``python -c 'import exofop_mcp.api'``."""
    bare, imported = [], []
    for _ in range(reps):
        bare.append(run_child([PYTHON, "-c", "pass"], env=child_env()).wall)
        imported.append(run_child([PYTHON, "-c", "import exofop_mcp.api"], env=child_env()).wall)
    return min(bare), min(imported)


def repeat_run(replica: Replica, work: Path, warm_cache: Path, count: int, budget: float) -> list[dict[str, Any]]:
    root = fresh_root_with_cache(work, "repeat", warm_cache)
    replica.reset_requests()
    run = run_child(
        [PYTHON, str(CHILD), "repeat", *QUERIES, "--count", str(count), "--budget", str(budget)],
        env=child_env(settings_env(replica.base_url, root)),
    )
    records = replica.requests
    out = []
    for item in (r for r in run.reports if r.get("event") == "repeat"):
        in_loop = [r for r in records if item["loop_start"] <= r.received <= item["loop_end"]]
        out.append({**item, "replica_requests": len(in_loop)})
    if len(out) != len(QUERIES):
        run.report("repeat-missing")  # raises with the child's stderr
    return out


async def server_start(command: str, env: dict[str, str]) -> dict[str, float]:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=command, args=[], env=env)
    t0 = time.perf_counter()
    async with Client(params) as client:
        t_init = time.perf_counter()
        result = await client.call_tool("resolve_system", {"query": "TOI-1130"})
        t_answer = time.perf_counter()
        if result.is_error or not result.structured_content:
            raise RuntimeError(f"resolve_system failed over stdio: {result.content}")
        second = time.perf_counter()
        await client.call_tool("resolve_system", {"query": "TIC 254113311"})
        t_second = time.perf_counter()
    return {
        "initialized_s": t_init - t0,
        "first_answer_s": t_answer - t0,
        "first_call_s": t_answer - t_init,
        "second_call_s": t_second - second,
    }


def server_runs(replica: Replica, work: Path, warm_cache: Path, reps: int) -> list[dict[str, float]]:
    command = str(Path(PYTHON).parent / "exofop-mcp")
    if not Path(command).exists():
        command = shutil.which("exofop-mcp") or command
    out = []
    for rep in range(reps):
        root = fresh_root_with_cache(work, f"server-{rep}", warm_cache)
        env = settings_env(replica.base_url, root)
        env.update({"PATH": child_env().get("PATH", ""), "HOME": str(root)})
        replica.reset_requests()
        timing = asyncio.run(server_start(command, env))
        timing["requests"] = len(replica.requests)
        out.append(timing)
    return out


_IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_profile(reps: int) -> dict[str, Any]:
    """Wall time of ``import exofop_mcp.mcp_server.server`` in a fresh process, and -X importtime's biggest parts."""
    walls, bare = [], []
    for _ in range(reps):
        bare.append(run_child([PYTHON, "-c", "pass"], env=child_env()).wall)
        walls.append(run_child([PYTHON, "-c", "import exofop_mcp.mcp_server.server"], env=child_env()).wall)
    run = run_child([PYTHON, "-X", "importtime", "-c", "import exofop_mcp.mcp_server.server"], env=child_env())
    entries = []
    for line in run.stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if m:
            entries.append((len(m.group(3)), m.group(4), int(m.group(2)) / 1e6))
    # The listing is post-order (a module after the modules it imported): walking it backwards gives each
    # module's importer.  A package's share = the cumulative time of its modules imported from outside it.
    total = next((seconds for _, name, seconds in entries if name == "exofop_mcp.mcp_server.server"), 0.0)
    shares: dict[str, float] = {}
    stack: list[tuple[int, str]] = []
    for indent, name, cumulative in reversed(entries):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        package = name.split(".")[0]
        if parent.split(".")[0] != package:
            shares[package] = shares.get(package, 0.0) + cumulative
        stack.append((indent, name))
    biggest = sorted(((k, v) for k, v in shares.items() if k != "exofop_mcp"), key=lambda kv: -kv[1])[:6]
    return {"wall_s": median(walls), "bare_s": median(bare), "importtime_s": total, "biggest": biggest}


def astropy_import_time(reps: int) -> float:
    """Fresh-process cost of the astropy modules the catalog parser imports (minus a bare interpreter)."""
    code = "import astropy.io.ascii, astropy.coordinates"
    walls = [run_child([PYTHON, "-c", code], env=child_env()).wall for _ in range(reps)]
    bare = [run_child([PYTHON, "-c", "pass"], env=child_env()).wall for _ in range(reps)]
    return median(walls) - median(bare)


def reference_lookup(replica: Replica, reps: int, skip: bool) -> tuple[dict[str, float] | None, str]:
    if skip:
        return None, "skipped (--skip-reference)"
    python, why = reference_python()
    if python is None:
        return None, why
    calls, processes, imports, bytes_, trips = [], [], [], 0, 0
    for _ in range(reps):
        replica.reset_requests()
        run: ChildRun = run_child(
            [str(python), str(REFERENCE_CHILD), "lookup", replica.base_url, "TOI-1130"], env=child_env()
        )
        try:
            answer = run.report("answer")
        except RuntimeError as exc:
            return None, f"the reference library failed: {exc}"
        records = replica.requests
        calls.append(answer["call_s"])
        imports.append(answer["import_s"])
        processes.append(run.wall)
        trips, bytes_ = len(records), sum(r.bytes_sent for r in records)
    return {
        "call_s": median(calls),
        "import_s": median(imports),
        "process_s": median(processes),
        "round_trips": trips,
        "bytes": bytes_,
    }, why


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition of everything")
    parser.add_argument("--skip-reference", action="store_true", help="do not run (or install) the PyPI library")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    reps = 1 if args.quick else 3
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="exofop-bench-resolve-"))
    print(f"bench_resolve: {'quick' if args.quick else 'full'} run, {reps} repetition(s) per figure, scratch {work}")
    try:
        config = ReplicaConfig(latency=LATENCY, bandwidth=BANDWIDTH, cache_dir=str(work / "replica-cache"))
        with Replica(config) as replica:
            replica.dataset.warm()
            table = replica.dataset.table
            print(
                f"replica {replica.base_url}: latency {LATENCY} s, {BANDWIDTH / 2**20:.0f} MiB/s per connection, "
                f"TOI catalog {len(table.row_by_toi):,} rows, {len(table.raw) / 1e6:.2f} MB as pipe text"
            )
            run_all(replica, work, args, reps)
    finally:
        if args.keep:
            print(f"scratch kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nbench_resolve finished in {time.perf_counter() - started:.0f} s")
    return 0


def run_all(replica: Replica, work: Path, args: argparse.Namespace, reps: int) -> None:
    banner("reference library (PyPI exofop): cold TOI-1130 -> TIC")
    ref, why = reference_lookup(replica, reps, args.skip_reference)
    if ref is None:
        loud(f"REFERENCE LIBRARY NOT MEASURED: {why}. Its row below uses the team's figures only.")

    banner("cold lookups (fresh process, empty cache dir)")
    cold = cold_runs(replica, work, reps)
    astropy_s = astropy_import_time(reps)
    rows, traffic = [], []
    for query in QUERIES:
        runs = cold[query]
        call = median([r["call_s"] for r in runs])
        trips = max(r["round_trips"] for r in runs)
        first = runs[0]
        target = None
        if query in TOI_QUERIES:
            target = call <= COLD_TARGET_S and trips <= COLD_TARGET_ROUND_TRIPS
        warm_done = [r["warm_done_s"] for r in runs if r["warm_done_s"] is not None]
        rows.append(
            [
                query,
                f"{first['matched_by']}/{first['source']}",
                fmt_s(call),
                "yes" if first["astropy"] else "no",
                fmt_s(median([r["import_s"] for r in runs])),
                fmt_s(median([r["to_answer_s"] for r in runs])),
                fmt_s(median([r["process_s"] for r in runs])),
                fmt_ratio(call, COLD_TARGET_S) if query in TOI_QUERIES else "-",
                verdict(target),
                fmt_ratio(ref["call_s"], call) if ref else "-",
                fmt_ratio(TEAM_REFERENCE_S, call),
            ]
        )
        traffic.append(
            [
                query,
                str(trips),
                fmt_mb(first["bytes"]),
                ", ".join(first["pages"]),
                f"{first['bg_requests']} / {fmt_mb(first['bg_bytes'])}" if first["bg_requests"] else "-",
                fmt_s(median(warm_done)) if warm_done else "-",
            ]
        )
    if ref:
        rows.append(
            [
                "exofop lib TOI-1130",
                "TOI.to_tic",
                fmt_s(ref["call_s"]),
                "-",
                fmt_s(ref["import_s"]),
                "-",
                fmt_s(ref["process_s"]),
                fmt_ratio(ref["call_s"], COLD_TARGET_S),
                "-",
                "1.00x",
                "-",
            ]
        )
        traffic.append(
            ["exofop lib TOI-1130", str(ref["round_trips"]), fmt_mb(ref["bytes"]), "download_toi.php", "-", "-"]
        )
    rows.append(["exofop lib (team figure)", "real site", fmt_s(TEAM_REFERENCE_S)] + ["-"] * 8)
    traffic.append(["exofop lib (team figure)", "-", fmt_mb(TEAM_REFERENCE_BYTES), "-", "-", "-"])
    print_table(
        f"Cold resolve_system: time (median of {reps}; latency {LATENCY} s, {BANDWIDTH // 2**20} MiB/s)",
        [
            "query",
            "matched/source",
            "call",
            "astropy loaded",
            "import",
            "spawn->answer",
            "process",
            "call/target",
            "target",
            "lib/ours",
            "team lib/ours",
        ],
        rows,
        note=f"""
call = resolve_system() alone, timed inside the fresh process after imports; import = importing exofop_mcp.api;
astropy loaded = the call imported astropy (importing astropy.io.ascii + astropy.coordinates alone takes
  {astropy_s:.3f} s in a fresh process);
spawn->answer = from spawning the interpreter to the answer; process = spawn to exit, which here includes waiting
  for the background catalog warm-up to finish (a server keeps running; a script exiting early would cut it short).
target (TOI and planet TOI only): call <= {COLD_TARGET_S} s and <= {COLD_TARGET_ROUND_TRIPS} round trips.
lib/ours = the PyPI exofop library's cold TOI->TIC call measured here over the same replica, divided by ours
  (its tois.json fast path is hard-wired to the real site and disabled, so it reads the pipe table);
team lib/ours = the team's {TEAM_REFERENCE_S} s real-site figure divided by ours.""",
    )
    print_table(
        "Cold resolve_system: traffic",
        ["query", "round trips", "bytes", "pages", "background req / bytes", "warm-up done after answer"],
        traffic,
        note="""
round trips / bytes = replica requests (and their response body bytes) completed before the answer was returned;
background = the full-catalog warm-up a TOI lookup starts once it has its answer.""",
    )

    banner("warm lookups in a fresh process (catalog cache already on disk)")
    warm_cache = build_warm_cache(replica, work)
    warm = warm_process_runs(replica, work, warm_cache, reps)
    bare_s, import_s = bare_process_times(reps + 2)
    rows = []
    for query in QUERIES:
        runs = warm[query]
        call = median([r["call_s"] for r in runs])
        process = median([r["process_s"] for r in runs])
        rows.append(
            [
                query,
                runs[0]["source"],
                fmt_ms(call),
                fmt_ms(median([r["setup_s"] for r in runs])),
                fmt_s(median([r["import_s"] for r in runs])),
                fmt_s(median([r["to_answer_s"] for r in runs])),
                fmt_s(process),
                fmt_ms(min(r["process_s"] for r in runs) - import_s),
                str(max(r["round_trips"] for r in runs)),
                fmt_mb(runs[0]["bytes"]),
                fmt_ratio(call, WARM_PROCESS_TARGET_S),
                verdict(call < WARM_PROCESS_TARGET_S),
            ]
        )
    print_table(
        f"Warm resolve_system, fresh process (median of {reps})",
        [
            "query",
            "source",
            "call",
            "Exofop()",
            "import",
            "spawn->answer",
            "process",
            "beyond import (min)",
            "round trips",
            "bytes",
            "call/target",
            "target <50 ms",
        ],
        rows,
        note=f"""
call = the first resolve_system() of the process, after imports (the figure held against the target);
Exofop() = building the core (settings, HTTP client); beyond import (min) = fastest process wall time minus the
  fastest `python -c "import exofop_mcp.api"` ({import_s:.3f} s; `python -c pass`: {bare_s:.3f} s): the whole cost of
  answering beyond interpreter + import, event loop and teardown included (minimums, as other load only adds).
A name (WASP-46) is warm once it has been asked: the name resolver's answer is cached beside the catalog.""",
    )

    banner("warm lookups repeated in one process")
    repeats = repeat_run(replica, work, warm_cache, count=50 if args.quick else 300, budget=0.5 if args.quick else 2.0)
    rows = []
    for item in repeats:
        times = item["times"]
        med = median(times)
        rows.append(
            [
                item["query"],
                str(len(times)),
                fmt_ms(item["first_s"]),
                fmt_ms(med),
                fmt_ms(percentile(times, 95)),
                fmt_ms(min(times)),
                str(item["replica_requests"]),
                fmt_ratio(med, REPEAT_TARGET_S),
                verdict(med < REPEAT_TARGET_S),
            ]
        )
    print_table(
        "Repeated resolve_system in one process (warm cache)",
        ["query", "calls", "first call", "median", "p95", "min", "requests in loop", "median/target", "target <1 ms"],
        rows,
        note="first call = the process's first lookup (opens the SQLite cache); the loop repeats the same query.",
    )

    banner("MCP server start-up over stdio (warm cache)")
    imports = import_profile(reps)
    servers = server_runs(replica, work, warm_cache, reps)
    first = median([s["first_answer_s"] for s in servers])
    rows = [
        [
            f"run {i + 1}",
            fmt_s(s["initialized_s"]),
            fmt_ms(s["first_call_s"]),
            fmt_s(s["first_answer_s"]),
            fmt_ms(s["second_call_s"]),
            str(int(s["requests"])),
        ]
        for i, s in enumerate(servers)
    ]
    rows.append(
        [
            "median",
            fmt_s(median([s["initialized_s"] for s in servers])),
            fmt_ms(median([s["first_call_s"] for s in servers])),
            fmt_s(first),
            fmt_ms(median([s["second_call_s"] for s in servers])),
            "-",
        ]
    )
    print_table(
        "exofop-mcp over stdio: spawn -> first resolve_system result",
        ["", "spawn->initialized", "first call", "spawn->first answer", "second call", "replica requests"],
        rows,
        note=f"""
target: spawn -> first answer < {SERVER_TARGET_S} s: {verdict(first < SERVER_TARGET_S)} \
({fmt_ratio(first, SERVER_TARGET_S)} of the target).
The client is the mcp SDK's Client over StdioServerParameters; it spawns `exofop-mcp` and performs the handshake.""",
    )
    rows = [
        ["python -c pass", fmt_s(imports["bare_s"]), "-"],
        ["python -c 'import exofop_mcp.mcp_server.server'", fmt_s(imports["wall_s"]), "-"],
        ["  difference (the import itself)", fmt_s(imports["wall_s"] - imports["bare_s"]), "-"],
        ["  -X importtime: exofop_mcp.mcp_server.server", "-", fmt_s(imports["importtime_s"])],
    ]
    rows += [[f"    of which {name}", "-", fmt_s(seconds)] for name, seconds in imports["biggest"]]
    print_table(
        f"Import time of exofop_mcp.mcp_server.server (median of {reps} fresh processes)",
        ["", "process wall", "cumulative import"],
        rows,
        note="-X importtime figures overlap (a package imported by another counts under the first importer).",
    )
    summary(cold, warm, repeats, first, ref)


def summary(
    cold: dict[str, list[dict[str, Any]]],
    warm: dict[str, list[dict[str, Any]]],
    repeats: list[dict[str, Any]],
    server_first: float,
    ref: dict[str, float] | None,
) -> None:
    rows = []
    for query in sorted(TOI_QUERIES):
        call = median([r["call_s"] for r in cold[query]])
        trips = max(r["round_trips"] for r in cold[query])
        rows.append([f"cold {query}: call", f"<= {COLD_TARGET_S} s", fmt_s(call), verdict(call <= COLD_TARGET_S)])
        rows.append([f"cold {query}: round trips", f"<= {COLD_TARGET_ROUND_TRIPS}", str(trips), verdict(trips <= 2)])
    for query in QUERIES:
        call = median([r["call_s"] for r in warm[query]])
        rows.append([f"warm fresh process {query}", "< 50 ms", fmt_ms(call), verdict(call < WARM_PROCESS_TARGET_S)])
    for item in repeats:
        med = median(item["times"])
        rows.append([f"repeated {item['query']} (median)", "< 1 ms", fmt_ms(med), verdict(med < REPEAT_TARGET_S)])
    server_ok = verdict(server_first < SERVER_TARGET_S)
    rows.append(["server spawn -> first answer", f"< {SERVER_TARGET_S} s", fmt_s(server_first), server_ok])
    print_table("Targets", ["figure", "target", "measured", "verdict"], rows)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the follow-up desk's requests and wall time at a realistic latency.

    .venv/bin/python benchmarks/bench_followup.py              # 200 ms latency, ~1 min
    .venv/bin/python benchmarks/bench_followup.py --latency 0.05

``follow_up_status("TOI-1130")`` cold (a fresh process state, warm TOI catalog on disk) and warm (the
same call again: the tables are kept for five minutes), then ``whats_new`` over 50 systems.  Printed:
the requests sent to the replica, the wall time, and the ideal: the requests, in as many rounds as the
concurrency allows, each costing one latency (a lower bound, since a page also takes time to send).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from pathlib import Path

from _common import banner, print_table

from exofop_mcp.api import Exofop
from exofop_mcp.replica import Replica, ReplicaConfig
from exofop_mcp.settings import Settings

SYSTEMS = 50


def settings_for(base_url: str, root: Path) -> Settings:
    return Settings(base_url=base_url, data_dir=root / "data", cache_dir=root / "cache", config_dir=root / "config")


async def run(base_url: str, root: Path, latency: float, replica: Replica) -> list[list[object]]:
    settings = settings_for(base_url, root)
    async with Exofop(settings) as exofop:
        await exofop.catalog.refresh()  # the catalog on disk, as a user's is after the first day
    rows: list[list[object]] = []
    concurrency = settings.concurrency + 1
    async with Exofop(settings) as exofop:
        for label in ("follow_up_status cold", "follow_up_status warm"):
            replica.reset_requests()
            started = time.perf_counter()
            status = await exofop.follow_up_status("TOI-1130")
            wall = time.perf_counter() - started
            sent = len(replica.requests)
            ideal = math.ceil(sent / concurrency) * latency
            rows.append(
                [
                    label,
                    sent,
                    status.requests,
                    f"{wall:.2f} s",
                    f"{ideal:.2f} s",
                    f"{wall / ideal:.2f}×" if ideal else "-",
                ]
            )
    async with Exofop(settings) as exofop:
        systems = await _systems(exofop)
        replica.reset_requests()
        started = time.perf_counter()
        news = await exofop.whats_new("2025-01-01", systems=systems)
        wall = time.perf_counter() - started
        sent = len(replica.requests)
        ideal = math.ceil(sent / concurrency) * latency
        rows.append(
            [f"whats_new, {len(news.systems)} systems", sent, news.requests, f"{wall:.2f} s", f"{ideal:.2f} s",
             f"{wall / ideal:.2f}×" if ideal else "-"]
        )  # fmt: skip
        rows.append(["  peak requests in flight", exofop.client.lanes.peak_in_flight, "", "", f"≤ {concurrency}", ""])
    return rows


async def _systems(exofop: Exofop) -> list[str]:
    conn = exofop.catalog.connection()
    assert conn is not None
    hosts = [row[0] for row in conn.execute("SELECT DISTINCT host FROM tois WHERE host IS NOT NULL ORDER BY host")]
    step = max(1, len(hosts) // SYSTEMS)
    return [f"TOI-{host}" for host in hosts[::step][:SYSTEMS]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each answer (default 0.2)")
    args = parser.parse_args()
    banner(f"follow-up desk at {args.latency * 1000:.0f} ms latency")
    with tempfile.TemporaryDirectory() as tmp, Replica(ReplicaConfig(latency=args.latency)) as replica:
        rows = asyncio.run(run(replica.base_url, Path(tmp), args.latency, replica))
    print_table(
        "requests and wall time",
        ["call", "requests (replica)", "requests (answer)", "wall", "ideal", "wall / ideal"],
        rows,
        note="ideal = the requests in rounds of (concurrency + 1), one latency each",
    )


if __name__ == "__main__":
    main()

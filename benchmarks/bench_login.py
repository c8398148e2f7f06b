"""Benchmark: logged-in bulk downloads through several sessions, against anonymous downloads.

ExoFOP's PHP sessions serialise the requests that share one session, so a logged-in client with a
single session would download one tag at a time.  exofop-mcp logs in with several sessions and
lends each to one request at a time.  This script measures, against the replica with session
locking on (latency 0.2 s, 4 MiB/s per connection, 20 tags of 2 MiB, concurrency 4):

- anonymous: 20 public tags;
- logged in with the default 5 sessions (one per parallel download, plus one for table requests):
  20 proprietary tags (target: within 10 % of anonymous);
- logged in with exactly 4 sessions, and with 1 session (what a single login would give).

Every sandbox starts with a warm catalog cache, so the figures are the downloads alone.

Run from the repository root: ``.venv/bin/python benchmarks/bench_login.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    CHILD,
    PYTHON,
    MiB,
    banner,
    child_env,
    fmt_s,
    print_table,
    requests_between,
    run_child,
    settings_env,
    verdict,
)
from exofop_mcp.auth.credentials import Credentials
from exofop_mcp.auth.login import login
from exofop_mcp.replica import Replica, ReplicaConfig
from exofop_mcp.settings import Settings

LATENCY = 0.2
BANDWIDTH = 4 * MiB
TAG_SIZE = 2 * MiB
CONCURRENCY = 4
PASSWORD = "benchmark-password"
ARCHIVE_PAGE = "download_tag_files_zip.php"


def pick_tags(replica: Replica, count: int) -> tuple[list[int], list[int]]:
    """Two disjoint sets of TOI-1130 time-series tags: public ones and ones to make proprietary."""
    import httpx

    params = {"target": 254113311, "output": "pipe"}
    text = httpx.get(f"{replica.base_url}/tess/download_tseries.php", params=params, timeout=30).text
    header, *lines = text.strip().splitlines()
    column = header.split("|").index("Tag")
    tags = sorted({int(line.split("|")[column]) for line in lines if line.split("|")[column].strip()})
    if len(tags) < 2 * count:
        raise SystemExit(f"TOI-1130 has only {len(tags)} tags; need {2 * count}")
    return tags[:count], tags[count : 2 * count]


def run(replica: Replica, root: Path, tags: list[int], label: str) -> dict[str, object]:
    env = child_env(settings_env(replica.base_url, root, EXOFOP_MCP_CONCURRENCY=str(CONCURRENCY)))
    run_child([PYTHON, str(CHILD), "resolve", "TIC 254113311", "--wait-warmup"], env=env).report("done")
    child = run_child([PYTHON, str(CHILD), "download", "TOI-1130", "--tags", ",".join(map(str, tags))], env=env)
    report = child.report("cold")
    records = [
        r
        for r in requests_between(replica.requests, report["start"], report["end"], slack=0.05)
        if r.path.endswith(ARCHIVE_PAGE)
    ]
    sessions = {r.session for r in records if r.session}
    events = sorted([(r.start, 1) for r in records] + [(r.end, -1) for r in records])
    in_flight = overlap = 0
    for _, step in events:
        in_flight += step
        overlap = max(overlap, in_flight)
    return {
        "label": label,
        "wall": float(report["wall_s"]),
        "statuses": report["statuses"],
        "sessions": len(sessions),
        "max_parallel": overlap,
        "archives": len(records),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8 tags instead of 20")
    args = parser.parse_args()
    count = 8 if args.quick else 20
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="exofop-bench-login-") as tmp:
        work = Path(tmp)
        config = ReplicaConfig(
            latency=LATENCY,
            bandwidth=BANDWIDTH,
            tag_size=TAG_SIZE,
            accounts={"alice": PASSWORD},
            session_locking=True,
            cache_dir=str(work / "replica-cache"),
        )
        with Replica(config) as replica:
            public, private = pick_tags(replica, count)
            replica.configure(proprietary_tags=tuple(private))
            banner(
                f"replica {replica.base_url}: latency {LATENCY} s, {BANDWIDTH / MiB:.0f} MiB/s per connection, "
                f"{count} tags of {TAG_SIZE / MiB:.0f} MiB, concurrency {CONCURRENCY}, session locking on"
            )
            results = [run(replica, work / "anonymous", public, "anonymous, public tags")]
            for wanted in (None, CONCURRENCY, 1):
                root = work / f"login-{wanted or 'default'}"
                settings = Settings(
                    base_url=replica.base_url,
                    data_dir=root / "data",
                    cache_dir=root / "cache",
                    config_dir=root / "config",
                    concurrency=CONCURRENCY,
                )
                alice = Credentials("alice", PASSWORD, source="benchmark")
                sessions = len(asyncio.run(login(settings, alice, sessions=wanted)))
                results.append(run(replica, root, private, f"logged in, {sessions} session(s), proprietary tags"))
    ideal = math.ceil(count / CONCURRENCY) * (LATENCY + TAG_SIZE / BANDWIDTH)
    anonymous = float(results[0]["wall"])  # type: ignore[arg-type]
    rows = []
    for r in results:
        wall = float(r["wall"])  # type: ignore[arg-type]
        rows.append(
            [
                r["label"],
                fmt_s(wall),
                fmt_s(ideal),
                f"{wall / ideal:.2f}x",
                f"{wall / anonymous:.2f}x",
                r["sessions"],
                r["max_parallel"],
                r["statuses"],
            ]
        )
    print_table(
        f"Bulk download of {count} tags at concurrency {CONCURRENCY}",
        ["client", "wall", "ideal", "wall/ideal", "vs anonymous", "sessions used", "max parallel", "statuses"],
        rows,
        note="ideal = ceil(N/C) x (latency + size/bandwidth); max parallel = most archive transfers in flight at once "
        "(from the replica's log); the replica serves requests of one session one at a time, as PHP does.",
    )
    logged_in = float(results[1]["wall"])  # type: ignore[arg-type]
    print_table(
        "Target",
        ["figure", "target", "measured", "verdict"],
        [
            [
                "logged in (default sessions) / anonymous",
                "<= 1.10x",
                f"{logged_in / anonymous:.2f}x",
                verdict(logged_in / anonymous <= 1.10),
            ]
        ],
    )
    print(f"\nbench_login finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

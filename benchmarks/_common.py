"""Shared helpers of the benchmarks: tables, statistics, child processes, disk use, the reference venv.

Nothing here measures anything by itself.  Child processes report one JSON object per line on
stdout; wall-clock times (``time.time()``) in those reports let the parent match them against the
replica's request log, whose records carry the same clock.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PYTHON = sys.executable
CHILD = BENCH_DIR / "_child.py"
REFERENCE_CHILD = BENCH_DIR / "_reference_child.py"
REFERENCE_VENV = BENCH_DIR / ".venv-ref"
REFERENCE_REQUIREMENT = "exofop==0.0.3"
MiB = 2**20


# -- formatting -----------------------------------------------------------------------------------


def fmt_s(seconds: float | None, digits: int = 3) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    return f"{seconds:.{digits}f} s"


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if abs(seconds) < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.1f} ms"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    if abs(n) >= 10 * MiB:
        return f"{n / MiB:.1f} MiB"
    if abs(n) >= 10 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n:.0f} B"


def fmt_mb(n: float | None) -> str:
    """Network traffic in decimal units (kB, MB), as transfer sizes are usually quoted."""
    if n is None:
        return "-"
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def fmt_ratio(value: float | None, reference: float | None) -> str:
    """``value / reference`` as ``1.23x``; '-' when either is missing."""
    if value is None or reference is None or reference == 0:
        return "-"
    return f"{value / reference:.2f}x"


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]], note: str = "") -> None:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    body = [[str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    print()
    print(title)
    print("=" * len(title))
    print(line(list(headers)))
    print("  ".join("-" * w for w in widths))
    for row in body:
        print(line(row))
    if note:
        for text in note.strip().splitlines():
            print(f"  {text}")
    sys.stdout.flush()


def banner(text: str) -> None:
    print(f"\n### {text}", flush=True)


def loud(text: str) -> None:
    """A message that must not be missed (printed to stdout, framed)."""
    bar = "!" * 100
    print(f"\n{bar}\n!! {text}\n{bar}", flush=True)


# -- statistics -----------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


# -- child processes ------------------------------------------------------------------------------


@dataclass
class ChildRun:
    """One child process: its JSON reports, wall-clock spawn/exit times and its stderr."""

    spawned: float
    exited: float
    returncode: int
    reports: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    @property
    def wall(self) -> float:
        return self.exited - self.spawned

    def report(self, event: str) -> dict[str, Any]:
        for item in self.reports:
            if item.get("event") == event:
                return item
        tail = "\n".join(self.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"child gave no {event!r} report (exit {self.returncode}); stderr tail:\n{tail}")


def run_child(
    argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 300.0, cwd: Path | None = None
) -> ChildRun:
    """Run a child process to completion; stdout lines that parse as JSON objects are its reports."""
    spawned = time.time()
    proc = subprocess.run(
        list(argv),
        env=env,
        cwd=cwd or REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    exited = time.time()
    reports = []
    for raw in proc.stdout.splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            with contextlib.suppress(ValueError):
                reports.append(json.loads(raw))
    return ChildRun(spawned, exited, proc.returncode, reports, proc.stderr)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for children: no EXOFOP_* variables leak in from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXOFOP") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra or {})
    return env


def settings_env(base_url: str, root: Path, **extra: str) -> dict[str, str]:
    """``EXOFOP_*`` variables pointing a child (or the server) at the replica and a private sandbox."""
    values = {
        "EXOFOP_BASE_URL": base_url,
        "EXOFOP_MCP_DATA_DIR": str(root / "data"),
        "EXOFOP_MCP_CACHE_DIR": str(root / "cache"),
        "EXOFOP_MCP_CONFIG_DIR": str(root / "config"),
    }
    values.update(extra)
    return values


def peak_rss_kib() -> int:
    """This process's peak RSS: VmHWM (reset at exec, unlike ru_maxrss, which starts from the forking parent's)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the replica's request log --------------------------------------------------------------------


def requests_between(records: Sequence[Any], start: float, end: float, slack: float = 0.0) -> list[Any]:
    """Requests the replica received in ``[start, end]`` (wall clock)."""
    return [r for r in records if start - slack <= r.received <= end + slack]


def summarize_requests(records: Sequence[Any]) -> tuple[int, int]:
    """(count, body bytes sent) of some request records."""
    return len(records), sum(r.bytes_sent for r in records)


# -- disk -----------------------------------------------------------------------------------------


def disk_use(path: Path) -> tuple[int, int, int]:
    """(apparent bytes of regular files, allocated bytes, file count) under ``path``."""
    apparent = allocated = files = 0
    if not path.exists():
        return 0, 0, 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(root, name))
            apparent += st.st_size
            allocated += st.st_blocks * 512
            files += 1
    return apparent, allocated, files


def bytes_of(path: Path, suffix: str) -> int:
    return sum(p.stat().st_size for p in path.rglob(f"*{suffix}") if p.is_file()) if path.exists() else 0


# -- the reference library's venv -----------------------------------------------------------------


def reference_python(create: bool = True) -> tuple[Path | None, str]:
    """The reference venv's python (created with ``exofop`` from PyPI when missing), or None and why."""
    python = REFERENCE_VENV / "bin" / "python"
    if python.exists() and _has_exofop(python):
        return python, "found"
    if not create:
        return None, f"{REFERENCE_VENV} does not exist (run without --skip-reference to create it)"
    where = REFERENCE_VENV.relative_to(REPO)
    print(f"creating {where} and installing {REFERENCE_REQUIREMENT} (one time) ...", flush=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(REFERENCE_VENV)], check=True, capture_output=True)
        out = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", REFERENCE_REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not create the reference venv: {exc}"
    if out.returncode != 0 or not _has_exofop(python):
        tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-3:])
        return None, f"pip could not install {REFERENCE_REQUIREMENT}: {tail}"
    return python, "installed"


def _has_exofop(python: Path) -> bool:
    probe = subprocess.run([str(python), "-c", "import exofop.download"], capture_output=True, text=True, timeout=120)
    return probe.returncode == 0


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

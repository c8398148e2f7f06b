"""Child process of bench_extract.py: exofop-mcp's extraction of one system, with its figures as JSON.

Reads the EXOFOP_* variables (the parent points them at the replica and a sandbox).  Prints one JSON
object: the call's wall time (imports excluded, reported apart), peak RSS, and every entry.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from _common import peak_rss_kib  # the script's directory is on sys.path

started = time.perf_counter()
from exofop_mcp.api import Exofop  # noqa: E402

imported = time.perf_counter()


async def main(system: str, overwrite: bool, plots: bool) -> None:
    async with Exofop() as exofop:
        await exofop.resolve_system(system)  # the catalog is warm: a lookup, not part of the extraction
        begin, cpu = time.perf_counter(), time.process_time()
        report = await exofop.extract_light_curves(system, overwrite=overwrite, plots=plots)
        seconds, cpu = time.perf_counter() - begin, time.process_time() - cpu
    rss_kib = peak_rss_kib()
    print(
        json.dumps(
            {
                "event": "extract",
                "import_seconds": imported - started,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_rss_bytes": rss_kib * 1024,
                "state": report.state,
                "totals": report.totals,
                "light_curves": report.light_curves,
                "entries": [e.model_dump(mode="json", exclude_none=True) for e in report.results],
            }
        ),
        flush=True,
    )


asyncio.run(main(sys.argv[1], "overwrite" in sys.argv[2:], "no-plots" not in sys.argv[2:]))

"""Transit fits: the time of one fit, and what fitting every light curve adds to a system's extraction.

* fit time per light curve: 60 generated transits (batman, 5 h at 1-minute cadence), each fitted
  once after a warm-up (the first fit imports batman: timed apart);
* a whole system's extraction without plots (TOI-270, 48 tags; ``--quick``: TOI-141), in this
  process, with the fits and with the fit replaced by a stub (the extraction as it was before
  fits): CPU of each call and their ratio (target < 2x);
* the repeated call, answered from the manifest's records with the recorded fits (target < 100 ms).

    .venv/bin/python benchmarks/bench_transit_fit.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import banner, fmt_ms, fmt_s, print_table, settings_env, verdict
from exofop_mcp.replica import Replica, ReplicaConfig

FITS = 60


def fit_times() -> tuple[float, list[float]]:
    import batman
    import numpy as np

    from exofop_mcp.lightcurves.ephemeris import Ephemeris
    from exofop_mcp.lightcurves.transit_fit import fit_light_curve

    rng = np.random.default_rng(7)
    period, epoch, a_rs, b, k = 3.7, 2459000.3, 11.0, 0.4, 0.075
    inc = math.degrees(math.acos(b / a_rs))
    t14 = period / math.pi * math.asin(math.sqrt((1 + k) ** 2 - b**2) / (a_rs * math.sin(math.radians(inc))))
    ephemeris = Ephemeris("100.01", epoch, period, t14 * 24, 0.002, 2e-5, 6000.0)
    cases = []
    for n in range(FITS + 1):
        mid = epoch + (100 + n) * period
        t = mid - 2.5 / 24 + rng.uniform(-0.3, 0.3) / 24 + np.arange(300) / 1440
        params = batman.TransitParams()
        params.t0, params.per, params.rp, params.a, params.inc = mid + rng.normal(0, 5) / 1440, period, k, a_rs, inc
        params.ecc, params.w, params.u, params.limb_dark = 0.0, 90.0, [0.29, 0.27], "quadratic"
        flux = batman.TransitModel(params, t).light_curve(params) + rng.normal(0, 0.002, t.size)
        cases.append((t, flux, np.full(t.size, 0.002)))
    start = time.perf_counter()
    fit_light_curve(*cases[0], ephemeris, "zs")
    first = time.perf_counter() - start
    times = []  # CPU: the machine may be shared, and the fit is all CPU
    for case in cases[1:]:
        start = time.process_time()
        fit_light_curve(*case, ephemeris, "zs")
        times.append(time.process_time() - start)
    return first, times


async def extraction(system: str) -> dict[str, float]:
    import batman  # noqa: F401  imported before the calls are timed: both calls pay nothing for it

    import exofop_mcp.lightcurves.extraction as extraction
    from exofop_mcp.api import Exofop
    from exofop_mcp.lightcurves.fit_results import TransitFit

    real = extraction.transit_fit_of

    def stub(*_: object) -> tuple[TransitFit, None]:
        return TransitFit(status="no_fit", verdict="no fit", reason="fits switched off"), None

    figures: dict[str, float] = {}
    async with Exofop() as exofop:
        await exofop.download_tags(system, kind="time_series")
        await exofop.resolve_system(system)
        for name, fit in (("without fits", stub), ("with fits", real)):
            extraction.transit_fit_of = fit  # type: ignore[assignment]
            best = math.inf
            for _ in range(2):
                cpu = time.process_time()
                report = await exofop.extract_light_curves(system, overwrite=True, plots=False)
                best = min(best, time.process_time() - cpu)
            figures[name] = best
            figures["light curves"] = report.light_curves
        repeats = []
        for _ in range(7):
            start = time.perf_counter()
            await exofop.extract_light_curves(system, plots=False)
            repeats.append(time.perf_counter() - start)
        figures["repeat"] = statistics.median(repeats)
    extraction.transit_fit_of = real
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="TOI-141 (11 tags) instead of TOI-270 (48 tags)")
    args = parser.parse_args()
    system = "TOI-141" if args.quick else "TOI-270"
    banner("fitting generated transits")
    first, times = fit_times()
    scratch = Path(tempfile.mkdtemp(prefix="bench-fit-"))
    try:
        with Replica(ReplicaConfig(cache_dir=str(scratch / "replica-cache"))) as replica:
            os.environ.update(settings_env(replica.base_url, scratch))
            banner(f"extracting every time-series tag of {system}, without plots")
            figures = asyncio.run(extraction(system))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ratio = figures["with fits"] / figures["without fits"]
    count = int(figures["light curves"])
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print_table(
        f"Transit fits; load average {load}",
        ["", "measured", "target", "verdict"],
        [
            ["first fit of a process (imports batman)", fmt_s(first), "", ""],
            [
                f"one fit, CPU (median of {FITS}; 5th-95th percentile)",
                f"{fmt_ms(statistics.median(times))} ({fmt_ms(sorted(times)[len(times) // 20])}"
                f"-{fmt_ms(sorted(times)[-max(1, len(times) // 20)])})",
                "",
                "",
            ],
            [
                f"{system} extraction without plots, CPU: without fits / with fits ({count} light curves)",
                f"{fmt_s(figures['without fits'])} / {fmt_s(figures['with fits'])}",
                "",
                "",
            ],
            ["with fits / without fits", f"{ratio:.2f}x", "< 2x", verdict(ratio < 2)],
            [
                "fit CPU per light curve in the extraction",
                fmt_ms((figures["with fits"] - figures["without fits"]) / max(count, 1)),
                "",
                "",
            ],
            [
                "repeated call (recorded fits), wall",
                fmt_ms(figures["repeat"]),
                "< 100 ms",
                verdict(figures["repeat"] < 0.1),
            ],
        ],
        note="Best of two calls each (overwrite=true, plots=false); batman is imported before either is timed.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

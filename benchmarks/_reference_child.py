"""Child process that drives the reference library ``exofop`` (PyPI) against the replica.

It runs under the reference venv's interpreter (``benchmarks/.venv-ref/bin/python``), never the
project's, and imports nothing of exofop-mcp.  The library has no base-URL setting, so the URL
constants are monkeypatched before use:

* ``exofop.download.downloaders.TagDownloader.BASE_URL`` (a class attribute read by
  ``download_tags``: ``f"{self.BASE_URL}/tess/download_tag_files_zip.php?tag={tag}"``);
* the module constants ``exofop.utils.urls.BASE_URL``, ``exofop.BASE_URL``,
  ``exofop.download.downloaders.BASE_URL`` and ``exofop.download.identifiers.BASE_URL``
  (``TOI.to_tic`` reads the latter at call time);
* ``exofop.download.identifiers.fetch_tois_data`` is replaced by ``lambda: None``: it fetches a
  hard-coded ``https://exofop.ipac.caltech.edu/tess/json/tois.json`` first, and returning None
  makes the library fall back to its own ``{BASE_URL}/tess/download_toi.php?output=pipe`` path.

As a safety net, name resolution of anything but a loopback host raises, so nothing can reach
the real site.

    python _reference_child.py lookup BASE_URL QUERY
    python _reference_child.py download BASE_URL DIR --tags 1,2 [--connections N] [--repeat]
    python _reference_child.py rss BASE_URL DIR --tag N
"""

from __future__ import annotations

import time

T_TOP_WALL = time.time()
T_TOP = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name not in LOOPBACK and not name.startswith("127."):
        raise OSError(f"benchmark guard: refusing to resolve {name!r} (only the local replica may be reached)")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def proc_status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def patch_base_url(base_url: str) -> None:
    import exofop
    import exofop.download.downloaders as downloaders
    import exofop.download.identifiers as identifiers
    import exofop.utils.urls as urls

    urls.BASE_URL = base_url
    exofop.BASE_URL = base_url
    downloaders.BASE_URL = base_url
    downloaders.TagDownloader.BASE_URL = base_url
    downloaders.ExofopTable.BASE_URL = base_url
    identifiers.BASE_URL = base_url
    identifiers.fetch_tois_data = lambda: None
    # The library logs every file at INFO and draws tqdm bars on stderr; keep stderr readable.
    logging.getLogger("exofop").setLevel(logging.WARNING)
    logging.getLogger("exofop.download").setLevel(logging.WARNING)
    logging.getLogger("exofop.download.downloaders").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def cmd_lookup(args: argparse.Namespace) -> None:
    import exofop.download.identifiers as identifiers

    patch_base_url(args.base_url)
    t_imported = time.perf_counter()
    call_start = time.time()
    c0 = time.perf_counter()
    tic = identifiers.TOI(args.query).to_tic()
    call_s = time.perf_counter() - c0
    emit(
        "answer",
        top_wall=T_TOP_WALL,
        import_s=t_imported - T_TOP,
        call_s=call_s,
        call_start=call_start,
        call_end=time.time(),
        tic=str(tic.id),
    )


def make_downloader(target_dir: str, connections: int | None) -> Any:
    from exofop.download.downloaders import TagDownloader

    if connections is None:
        return TagDownloader(target_dir=target_dir)  # library defaults: 2 connections, 5 s timeout, 1 retry
    return TagDownloader(target_dir=target_dir, max_concurrent_downloads=connections)


def cmd_download(args: argparse.Namespace) -> None:
    import exofop.download.downloaders  # noqa: F401

    patch_base_url(args.base_url)
    t_imported = time.perf_counter()
    tags = [t for t in args.tags.split(",") if t]
    downloader = make_downloader(args.dir, args.connections)
    emit("config", connections=downloader.downloader.max_concurrent_downloads, timeout=downloader.downloader.timeout)
    for phase in ["cold", "repeat"] if args.repeat else ["cold"]:
        start = time.time()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        c0 = time.perf_counter()
        counts = downloader.download_tags(tags)
        c1 = time.perf_counter()
        downloader.unzip_downloaded_files()
        c2 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        emit(
            phase,
            cpu_s=(r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            start=start,
            end=time.time(),
            wall_s=c2 - c0,
            download_s=c1 - c0,
            unzip_s=c2 - c1,
            statuses={str(k.name): v for k, v in counts.items()},
        )
    emit("done", import_s=t_imported - T_TOP)


def cmd_rss(args: argparse.Namespace) -> None:
    import gc

    import exofop.download.downloaders  # noqa: F401

    patch_base_url(args.base_url)
    downloader = make_downloader(args.dir, None)
    gc.collect()
    time.sleep(0.2)
    idle_rss = proc_status_kib("VmRSS")
    idle_hwm = proc_status_kib("VmHWM")
    reset = reset_peak_rss()
    start = time.time()
    c0 = time.perf_counter()
    counts = downloader.download_tags([str(args.tag)])
    downloader.unzip_downloaded_files()
    emit(
        "rss",
        idle_rss_kib=idle_rss,
        idle_hwm_kib=idle_hwm,
        hwm_reset=reset,
        peak_hwm_kib=proc_status_kib("VmHWM"),
        end_rss_kib=proc_status_kib("VmRSS"),
        statuses={str(k.name): v for k, v in counts.items()},
        wall_s=time.perf_counter() - c0,
        start=start,
        end=time.time(),
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="_reference_child.py")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lookup")
    p.add_argument("base_url")
    p.add_argument("query")
    p = sub.add_parser("download")
    p.add_argument("base_url")
    p.add_argument("dir")
    p.add_argument("--tags", required=True)
    p.add_argument("--connections", type=int, default=None)
    p.add_argument("--repeat", action="store_true")
    p = sub.add_parser("rss")
    p.add_argument("base_url")
    p.add_argument("dir")
    p.add_argument("--tag", type=int, required=True)
    args = parser.parse_args()
    {"lookup": cmd_lookup, "download": cmd_download, "rss": cmd_rss}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``replica`` command: serve the ExoFOP replica until interrupted.

Prints exactly one line to stdout once listening (``ExoFOP replica serving on http://127.0.0.1:PORT``);
logs go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from exofop_mcp.replica.config import FAULT_KINDS, LOOPBACK_HOSTS, ReplicaConfig, parse_size
from exofop_mcp.replica.lifecycle import Replica

DEFAULT_PORT = 8765


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _faults(text: str) -> tuple[str, ...]:
    kinds = tuple(kind.strip() for kind in text.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault kinds {unknown}; choose from {', '.join(FAULT_KINDS)}")
    return kinds


def _account(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("accounts are written USER:PASSWORD")
    return user, password


def _loopback(text: str) -> str:
    if text not in LOOPBACK_HOSTS and not text.startswith("127."):
        raise argparse.ArgumentTypeError(f"the replica only listens on loopback addresses, not {text!r}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", type=_loopback, default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="delay before each answer")
    parser.add_argument(
        "--bandwidth", type=_size, default=None, metavar="BYTES", help="per-connection cap, e.g. 4MiB (per second)"
    )
    parser.add_argument("--error-rate", type=float, default=0.0, help="probability of a random fault (0-1)")
    parser.add_argument(
        "--faults",
        type=_faults,
        default=None,
        metavar="KINDS",
        help=f"comma list of fault kinds ({','.join(FAULT_KINDS)}); default 5xx,429,reset,truncate",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--retry-after", type=int, default=1, metavar="SECONDS", help="Retry-After of 429 answers")
    parser.add_argument("--tag-size", type=_size, default=None, metavar="BYTES", help="size of every tag archive")
    parser.add_argument(
        "--account", type=_account, action="append", default=[], metavar="USER:PASSWORD", help="a login (repeatable)"
    )
    parser.add_argument("--session-ttl", type=float, default=7 * 86400, metavar="SECONDS", help="login lifetime")
    parser.add_argument("--no-session-locking", action="store_true", help="let one session run requests in parallel")
    parser.add_argument("--chunked", action="store_true", help="send archives with Transfer-Encoding: chunked")
    parser.add_argument("--cache-dir", default=None, help="where generated archives are kept (default: a temp dir)")
    parser.add_argument("--verbose", "-v", action="count", default=0, help="log requests to stderr")


def config_from_args(args: argparse.Namespace) -> ReplicaConfig:
    settings: dict[str, object] = {
        "host": args.host,
        "port": args.port,
        "latency": args.latency,
        "bandwidth": args.bandwidth,
        "error_rate": args.error_rate,
        "seed": args.seed,
        "retry_after": args.retry_after,
        "tag_size": args.tag_size,
        "accounts": dict(args.account),
        "session_ttl": args.session_ttl,
        "session_locking": not args.no_session_locking,
        "chunked": args.chunked,
        "cache_dir": args.cache_dir,
    }
    if args.faults is not None:
        settings["fault_kinds"] = args.faults
    return ReplicaConfig.model_validate(settings)


def run(args: argparse.Namespace) -> int:
    level = logging.DEBUG if args.verbose >= 2 else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("exofop_mcp.replica").setLevel(level)  # also when the caller configured logging first
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"replica: {exc}", file=sys.stderr)
        return 2
    replica = Replica(config)
    try:
        replica.start()
    except OSError as exc:
        print(f"replica: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"ExoFOP replica serving on {replica.base_url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        replica.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exofop_mcp.replica", description="Serve the ExoFOP replica.")
    add_arguments(parser)
    return run(parser.parse_args(argv))

"""Fault injection: which request fails, and how.

Random faults hit a request with probability ``error_rate``; the kind is drawn from the configured
``fault_kinds`` that make sense for that request (``corrupt`` only damages archives).  The draw is
made per request from a generator seeded with ``seed``, so faults are transient: a retry of the
same URL is a new draw and may well succeed.  ``tag_faults`` forces a kind on the archive
downloads of one tag, always or (``kind:N``) for its first N requests only; ``page_faults`` does the
same for a page: the real site's throttling (an empty ``200``, a connection that sends nothing) and
pages that drip (their body, or even their headers, a byte at a time).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from exofop_mcp.replica.config import PAGE_FAULT_KINDS, ReplicaConfig, parse_tag_fault
from exofop_mcp.replica.http_server import WireFault, WireFaultKind

ARCHIVE_PAGES = (
    "/tess/download_tag_files_zip.php",
    "/tess/download_tag_files.php",
    "/tess/download_files_zip.php",
    "/tess/download_files.php",
)


@dataclass(frozen=True)
class Fault:
    """A decided fault. ``status`` for 5xx/429; ``wire`` for reset/truncate/stall."""

    kind: str
    status: int | None = None
    wire: WireFault | None = None


class FaultInjector:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._forced_uses: dict[int | str, int] = {}

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def reset_forced_counts(self) -> None:
        with self._lock:
            self._forced_uses.clear()

    def decide(self, config: ReplicaConfig, path: str, tag: int | None) -> Fault | None:
        is_archive = path in ARCHIVE_PAGES
        with self._lock:
            if is_archive and tag is not None and tag in config.tag_faults:
                kind, times = parse_tag_fault(config.tag_faults[tag])
                used = self._forced_uses.get(tag, 0)
                if times is None or used < times:
                    self._forced_uses[tag] = used + 1
                    return self._build(kind, config)
            page_fault = self._page_fault(config, path)
            if page_fault is not None:
                return page_fault
            if config.error_rate <= 0 or not config.fault_kinds:
                return None
            if config.fault_paths and not any(path.endswith(suffix) for suffix in config.fault_paths):
                return None
            kinds = [kind for kind in config.fault_kinds if kind != "corrupt" or is_archive]
            if not kinds or self._rng.random() >= config.error_rate:
                return None
            return self._build(self._rng.choice(kinds), config)

    def _page_fault(self, config: ReplicaConfig, path: str) -> Fault | None:
        """The fault ``page_faults`` forces on ``path`` (the lock is held)."""
        for suffix, spec in config.page_faults.items():
            if not path.endswith(suffix):
                continue
            kind, times = parse_tag_fault(spec, PAGE_FAULT_KINDS)
            used = self._forced_uses.get(suffix, 0)
            if times is not None and used >= times:
                return None
            self._forced_uses[suffix] = used + 1
            if kind == "empty":
                return Fault(kind, status=200)
            wire_kind: WireFaultKind = "silent" if kind == "silent" else "drip" if kind == "drip" else "slow_head"
            wire = WireFault(wire_kind, stall_seconds=config.stall_seconds, stall_rate=config.stall_rate)
            return Fault(kind, wire=wire)
        return None

    def _build(self, kind: str, config: ReplicaConfig) -> Fault:
        if kind == "5xx":
            return Fault(kind, status=self._rng.choice((500, 502, 503)))
        if kind == "429":
            return Fault(kind, status=429)
        if kind == "reset":
            wire_kind: WireFaultKind = "reset_before" if self._rng.random() < 0.5 else "reset_mid"
            return Fault(kind, wire=WireFault(wire_kind, fraction=self._rng.uniform(0.1, 0.9)))
        if kind == "truncate":
            return Fault(kind, wire=WireFault("truncate", fraction=self._rng.uniform(0.1, 0.9)))
        if kind == "stall":
            return Fault(
                kind,
                wire=WireFault("stall", stall_seconds=config.stall_seconds, stall_rate=config.stall_rate),
            )
        return Fault(kind)

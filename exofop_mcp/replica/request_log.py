"""A thread-safe log of the requests the replica served, for tests and benchmarks to inspect."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One served request.

    Times are ``time.time()`` wall-clock seconds: the request was fully read at ``received``;
    the server began working on it at ``start`` (after waiting for its session's lock, if any);
    the last byte of the answer went out (or the connection dropped) at ``end``.
    ``session`` is the PHPSESSID the request carried, ``user`` the account it was logged in as.
    ``fault`` names the fault injected (``5xx``, ``429``, ``reset``, ``truncate``, ``corrupt``,
    ``stall``) or is None; ``completed`` is False when the body was not delivered in full.
    """

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    status: int = 0
    bytes_sent: int = 0
    session: str | None = None
    user: str | None = None
    received: float = 0.0
    start: float = 0.0
    end: float = 0.0
    fault: str | None = None
    completed: bool = True

    @property
    def duration(self) -> float:
        return self.end - self.start

    def matches(self, path_suffix: str, **query_match: Any) -> bool:
        if not self.path.endswith(path_suffix):
            return False
        return all(self.query.get(key) == str(value) for key, value in query_match.items())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(self, path_suffix: str, **query_match: Any) -> int:
        with self._lock:
            return sum(1 for record in self._records if record.matches(path_suffix, **query_match))

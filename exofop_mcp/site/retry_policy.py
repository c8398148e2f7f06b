"""When and how long to wait before trying an ExoFOP request again.

Exponential backoff with full jitter; a server's ``Retry-After`` wins when it
asks for longer, and one longer than ``max_retry_after`` is not waited for.
Only transient failures are retried: connection errors and timeouts, 429 and
5xx answers, and truncated bodies.  The policy decides; the client's one retry
loop (:meth:`exofop_mcp.site.client.ExofopClient.retrying`) asks it.

A time-boxed caller (``exofop-mcp doctor``) uses a stricter policy: few
retries, a short ``max_retry_after``, no second try after a timeout, and a
``budget`` that no wait may overrun.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: A ``Retry-After`` longer than this is not waited for: the request fails with a clear message.
    max_retry_after: float = 120.0
    #: Whether an attempt that timed out is tried again (a time-boxed caller reports it at once instead).
    retry_timeouts: bool = True
    #: Seconds all attempts of one request may take, waits included (``None``: no limit); a wait that would
    #: end past it is not taken, and the last failure is reported instead.
    budget: float | None = None

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        r = rng or random
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        jittered = backoff / 2 + r.uniform(0, backoff / 2)
        return jittered if retry_after is None else retry_after

    def next_delay(
        self,
        attempt: int,
        *,
        retry_after: float | None = None,
        timed_out: bool = False,
        elapsed: float = 0.0,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before another attempt after attempt ``attempt`` failed transiently.

        ``None`` when no attempt is left: the retries are used up, the server asks to wait longer than
        ``max_retry_after``, the attempt timed out and timeouts are not retried, or the wait would end
        past the ``budget`` (``elapsed``: seconds spent since the first attempt began).
        """
        if attempt > self.max_retries:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        if timed_out and not self.retry_timeouts:
            return None
        wait = self.delay(attempt, retry_after, rng)
        if self.budget is not None and elapsed + wait > self.budget:
            return None
        return wait


def is_retryable_status(status_code: int) -> bool:
    return status_code in RETRYABLE_STATUS


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds)

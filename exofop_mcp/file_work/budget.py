"""A time budget for one piece of file work, checked by the loops that read and parse a file.

Python cannot stop a thread from outside, so the budget is cooperative: every loop whose length
depends on a file (cards of a FITS header, rows of a table, characters of a text) calls
:func:`check_budget` now and then, and that raises :class:`~exofop_mcp.errors.FileLimitError` once the
time is spent or the caller gave up.  Together with the caps on every count read from a file, this
ends the work soon after its caller stopped waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from exofop_mcp.errors import FileLimitError

_local = threading.local()


class Budget:
    """``seconds`` of work on ``what`` (a phrase such as ``"the preview of notes.txt"``)."""

    def __init__(self, seconds: float, what: str, *, parent: Budget | None = None) -> None:
        self.seconds = seconds
        self.what = what
        #: The budget of the whole work this is a step of: spending either ends the step.
        self.parent = parent
        self.deadline = time.monotonic() + seconds
        self._stopped = threading.Event()

    def stop(self) -> None:
        """The caller stopped waiting: the next check ends the work."""
        self._stopped.set()

    @property
    def spent(self) -> bool:
        return self._stopped.is_set() or time.monotonic() > self.deadline

    def check(self) -> None:
        if self.parent is not None:
            self.parent.check()
        if self.spent:
            raise FileLimitError(
                f"{self.what} took longer than its {self.seconds:g} s budget and was stopped.",
                hint="The file is unusually large or complex; read it with other software.",
            )


def current_budget() -> Budget | None:
    """The budget of the work running in this thread, if any."""
    return getattr(_local, "budget", None)


def check_budget() -> None:
    """Raise :class:`~exofop_mcp.errors.FileLimitError` when this thread's work is past its budget."""
    budget = getattr(_local, "budget", None)
    if budget is not None:
        budget.check()


@contextmanager
def running_under(budget: Budget) -> Iterator[Budget]:
    """Make ``budget`` the one :func:`check_budget` checks in this thread, for the ``with`` block."""
    previous = getattr(_local, "budget", None)
    _local.budget = budget
    try:
        yield budget
    finally:
        _local.budget = previous

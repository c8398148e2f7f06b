"""How sizes are written for people: one formatter for every message, table and progress line."""

from __future__ import annotations

__all__ = ["format_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB")


def format_bytes(n: float) -> str:
    """A byte count in binary units, three significant digits at most, no needless ``.0``.

    ``512`` → ``512 B``; ``1536`` → ``1.5 KiB``; ``38 * 1024`` → ``38 KiB``; ``150.3 KiB`` → ``150 KiB``;
    ``3 * 2**20`` → ``3 MiB``; ``20 * 2**30`` → ``20 GiB`` (GiB is the largest unit: ``2048 GiB``).
    A size is never rounded to zero of a larger unit: 38 KiB is ``38 KiB``, not ``0.0 MiB``.
    """
    sign = "-" if n < 0 else ""
    value = abs(float(n))
    if value < 1024:
        return f"{sign}{value:.0f} B"
    for unit in _UNITS[1:]:
        value /= 1024
        text = _digits(value)
        if float(text) < 1024 or unit == _UNITS[-1]:
            return f"{sign}{text} {unit}"
    raise AssertionError("unreachable")


def _digits(value: float) -> str:
    """``1.5``, ``38``, ``38.4``, ``150``: one decimal below 100 (dropped when it is 0), none above."""
    text = f"{value:.1f}" if value < 99.95 else f"{value:.0f}"
    return text.removesuffix(".0")

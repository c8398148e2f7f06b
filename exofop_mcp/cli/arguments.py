"""Command-line arguments shared by every command: the settings flags and bounded numbers."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from exofop_mcp.settings import Settings, parse_base_url

__all__ = ["LOG_LEVELS", "add_settings_options", "bounded", "settings_from_args"]

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]

_DIRECTORIES = ("data_dir", "cache_dir", "config_dir")

N = TypeVar("N", int, float)


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """The flags that override the ``EXOFOP_*`` environment variables, and ``--log-level``."""
    group = parser.add_argument_group("settings (override the EXOFOP_* environment variables)")
    group.add_argument("--base-url", help="ExoFOP base URL (EXOFOP_BASE_URL)")
    group.add_argument("--data-dir", type=Path, help="download sandbox root (EXOFOP_MCP_DATA_DIR)")
    group.add_argument("--cache-dir", type=Path, help="catalog cache directory (EXOFOP_MCP_CACHE_DIR)")
    group.add_argument(
        "--config-dir",
        type=Path,
        help="configuration directory: login sessions, the watch list (EXOFOP_MCP_CONFIG_DIR)",
    )
    group.add_argument("--concurrency", type=int, help="simultaneous downloads (EXOFOP_MCP_CONCURRENCY)")
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, help="stderr log level")


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """``Settings.from_env(environ)`` with the settings flags that were given applied on top (validated).

    Raises :class:`~exofop_mcp.errors.ConfigurationError` for a bad variable or flag value.
    """
    base = Settings.from_env(environ)
    overrides: dict[str, object] = {}
    if getattr(args, "base_url", None):
        overrides["base_url"] = parse_base_url(args.base_url, "--base-url")
    for attr in _DIRECTORIES:
        value = getattr(args, attr, None)
        if value is not None:
            overrides[attr] = Path(value).expanduser().resolve()
    if getattr(args, "concurrency", None) is not None:
        overrides["concurrency"] = args.concurrency
    return base.with_overrides(**overrides)


def bounded(
    kind: Callable[[str], N], low: N | None = None, high: N | None = None, *, exclusive_low: bool = False
) -> Callable[[str], N]:
    """An argparse ``type``: ``kind`` (``int`` or ``float``) of the text, checked against the bounds.

    ``bounded(int, 1, 16)`` accepts 1 to 16, ``bounded(int, 1)`` any whole number from 1,
    ``bounded(float, 0, 3600, exclusive_low=True)`` more than 0 and at most 3600.  A bad value
    stops argparse with e.g. ``argument --sessions: must be between 1 and 16, got 17``.
    """
    what = "a whole number" if kind is int else "a number"
    if low is not None and high is not None:
        wanted = f"more than {low:g} and at most {high:g}" if exclusive_low else f"between {low:g} and {high:g}"
    elif low is not None:
        wanted = f"more than {low:g}" if exclusive_low else f"at least {low:g}"
    else:
        wanted = f"at most {high:g}" if high is not None else ""

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        too_low = low is not None and (value <= low if exclusive_low else value < low)
        too_high = high is not None and value > high
        if too_low or too_high or value != value:  # value != value: NaN
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text.strip()}")
        return value

    parse.__name__ = getattr(kind, "__name__", "number")
    return parse

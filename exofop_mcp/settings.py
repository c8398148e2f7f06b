"""Settings, read from the environment (and overridden by command-line flags).

Defaults come from platformdirs (per-user data, cache and config directories),
never from the package's install directory.  Invalid values raise
:class:`~exofop_mcp.errors.ConfigurationError` naming the variable, so a
misconfigured server fails at start-up with a message instead of at the first
tool call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from exofop_mcp.errors import ConfigurationError

APP_NAME = "exofop-mcp"
DEFAULT_BASE_URL = "https://exofop.ipac.caltech.edu"
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
DEFAULT_CATALOG_TTL_HOURS = 6.0
#: Most bytes a table, page or JSON answer may decode to (counted while it streams in).
DEFAULT_MAX_PAGE_BYTES = 64 << 20
#: Most bytes an archive may decode to: the same bound as ``ExtractionLimits.max_total_uncompressed``.
#: Real tags run from kilobytes to hundreds of megabytes; 4 GiB leaves room for the largest.
DEFAULT_MAX_ARCHIVE_BYTES = 4 << 30
#: Most times a compressed (``Content-Encoding``) body may grow when decoded, once past a few MiB: real
#: tables compress about 5-20 times and zips hardly at all; a decompression bomb of zeros grows 1000 times.
DEFAULT_MAX_DECODED_RATIO = 100.0
#: Seconds one table, page or JSON answer may take in all, retries included: the whole TOI table takes
#: 20 to 32 s on the real site, so a retry of it fits; a page dripping a byte at a time does not.
DEFAULT_PAGE_DEADLINE_SECONDS = 180.0


@dataclass(frozen=True)
class Settings:
    """Everything configurable about exofop-mcp, resolved and validated."""

    base_url: str = DEFAULT_BASE_URL
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    cache_dir: Path = field(default_factory=lambda: Path(platformdirs.user_cache_dir(APP_NAME)))
    config_dir: Path = field(default_factory=lambda: Path(platformdirs.user_config_dir(APP_NAME)))
    concurrency: int = DEFAULT_CONCURRENCY
    catalog_ttl_hours: float = DEFAULT_CATALOG_TTL_HOURS
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 4
    retry_base_delay: float = 0.5
    #: A download that delivers less than 16 KiB in this many seconds has stalled (and is retried once).
    stall_seconds: float = 30.0
    #: How long an archive's response headers may take (ExoFOP builds a tag's zip before the first byte);
    #: separate from the stall window, which applies once the body flows.
    header_wait_seconds: float = 300.0
    #: Overall limit for one tag's transfer, retries included.
    tag_deadline_seconds: float = 1800.0
    #: How long a tag locked by another exofop-mcp process is waited for before giving up on it.
    lock_wait_seconds: float = 900.0
    #: Most bytes one table, page or JSON answer may decode to; past it the request fails, naming the page.
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
    #: Most bytes one tag archive may decode to.
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES
    #: Most times a compressed body may grow when decoded (past its first few MiB), pages and archives alike.
    max_decoded_ratio: float = DEFAULT_MAX_DECODED_RATIO
    #: Seconds one table, page or JSON answer may take in all (headers, body, retries): a page that drips
    #: a byte at a time is given up, not waited for.
    page_deadline_seconds: float = DEFAULT_PAGE_DEADLINE_SECONDS
    #: Unpack a tag's archive while it downloads (used only if it matches the complete archive's directory).
    stream_unpack: bool = True

    @property
    def tess_url(self) -> str:
        """Root of ExoFOP-TESS pages, e.g. ``https://exofop.ipac.caltech.edu/tess``."""
        return f"{self.base_url}/tess"

    @property
    def origin(self) -> str:
        """The site's origin (``scheme://host:port``): where its login sessions, and its redirects, may go."""
        return origin_of(self.base_url)

    @property
    def catalog_ttl_seconds(self) -> float:
        return self.catalog_ttl_hours * 3600.0

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced (``None`` values are ignored), validated again."""
        clean = {k: v for k, v in changes.items() if v is not None}
        updated = replace(self, **clean)  # type: ignore[arg-type]
        return _validated(updated, source="command line")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``EXOFOP_*`` variables; unset or empty variables take the defaults."""
        env = os.environ if environ is None else environ
        base = cls()
        values: dict[str, object] = {}

        def get(name: str) -> str | None:
            raw = env.get(name)
            return raw.strip() if raw is not None and raw.strip() else None

        for var, attr, parse in _VARIABLES:
            if (raw := get(var)) is not None:
                values[attr] = parse(raw, var)
        return _validated(replace(base, **values), source="environment")  # type: ignore[arg-type]


def _validated(settings: Settings, *, source: str) -> Settings:
    parse_base_url(settings.base_url, "EXOFOP_BASE_URL")
    if not 1 <= settings.concurrency <= MAX_CONCURRENCY:
        raise ConfigurationError(
            f"EXOFOP_MCP_CONCURRENCY (from the {source}) must be between 1 and {MAX_CONCURRENCY}, "
            f"got {settings.concurrency}.",
            hint="ExoFOP is a shared service: a handful of connections is plenty.",
        )
    return settings


def parse_base_url(raw: str, var: str) -> str:
    """``raw`` as ExoFOP's base URL (http(s), no query, no trailing ``/`` or ``/tess``); ``var`` names it in errors."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{var} must be an http(s) URL such as {DEFAULT_BASE_URL}, got {raw!r}.",
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{var} must not carry a query or fragment, got {raw!r}.")
    url = raw.rstrip("/")
    if url.endswith("/tess"):
        url = url[: -len("/tess")]
    return url


def origin_of(url: str) -> str:
    """``url``'s origin as ``scheme://host:port`` (lowercase, the default port written out), for comparisons."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if scheme == "https" else 80
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


#: The origin that sessions stored without one (by earlier versions) belong to.
DEFAULT_ORIGIN = origin_of(DEFAULT_BASE_URL)


def _parse_dir(raw: str, var: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.exists() and not path.is_dir():
        raise ConfigurationError(f"{var} points to {path}, which exists and is not a directory.")
    return path


def _parse_number(raw: str, var: str, low: float, high: float, *, whole: bool) -> float:
    try:
        value: float = int(raw) if whole else float(raw)
    except ValueError:
        raise ConfigurationError(f"{var} must be a {'whole ' if whole else ''}number, got {raw!r}.") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{var} must be between {low} and {high}, got {value}.")
    return value


def _parse_int(raw: str, var: str, low: int, high: int) -> int:
    return int(_parse_number(raw, var, low, high, whole=True))


def _parse_float(raw: str, var: str, low: float, high: float) -> float:
    return _parse_number(raw, var, low, high, whole=False)


def _parse_switch(raw: str, var: str) -> bool:
    if raw.strip() not in ("0", "1"):
        raise ConfigurationError(f"{var} must be 0 or 1, got {raw!r}.")
    return raw.strip() == "1"


def _bounded(parse: Callable[[str, str, Any, Any], Any], low: float, high: float) -> Callable[[str, str], Any]:
    return lambda raw, var: parse(raw, var, low, high)


#: Every environment variable: its name, the setting it fills, and how its text is checked and converted.
_VARIABLES: tuple[tuple[str, str, Callable[[str, str], object]], ...] = (
    ("EXOFOP_BASE_URL", "base_url", parse_base_url),
    ("EXOFOP_MCP_DATA_DIR", "data_dir", _parse_dir),
    ("EXOFOP_MCP_CACHE_DIR", "cache_dir", _parse_dir),
    ("EXOFOP_MCP_CONFIG_DIR", "config_dir", _parse_dir),
    ("EXOFOP_MCP_CONCURRENCY", "concurrency", _bounded(_parse_int, 1, MAX_CONCURRENCY)),
    ("EXOFOP_MCP_CATALOG_TTL_HOURS", "catalog_ttl_hours", _bounded(_parse_float, 0.0, 24.0 * 30)),
    ("EXOFOP_MCP_MAX_RETRIES", "max_retries", _bounded(_parse_int, 0, 10)),
    ("EXOFOP_MCP_RETRY_BASE_DELAY", "retry_base_delay", _bounded(_parse_float, 0.0, 60.0)),
    ("EXOFOP_MCP_STALL_SECONDS", "stall_seconds", _bounded(_parse_float, 0.1, 3600.0)),
    ("EXOFOP_MCP_HEADER_WAIT_SECONDS", "header_wait_seconds", _bounded(_parse_float, 0.1, 86400.0)),
    ("EXOFOP_MCP_TAG_DEADLINE_SECONDS", "tag_deadline_seconds", _bounded(_parse_float, 1.0, 7 * 86400.0)),
    ("EXOFOP_MCP_LOCK_WAIT_SECONDS", "lock_wait_seconds", _bounded(_parse_float, 0.1, 7 * 86400.0)),
    ("EXOFOP_MCP_READ_TIMEOUT", "read_timeout", _bounded(_parse_float, 0.1, 3600.0)),
    ("EXOFOP_MCP_MAX_PAGE_BYTES", "max_page_bytes", _bounded(_parse_int, 1024, 1 << 40)),
    ("EXOFOP_MCP_MAX_ARCHIVE_BYTES", "max_archive_bytes", _bounded(_parse_int, 1024, 1 << 50)),
    ("EXOFOP_MCP_STREAM_UNPACK", "stream_unpack", _parse_switch),
    ("EXOFOP_MCP_MAX_DECODED_RATIO", "max_decoded_ratio", _bounded(_parse_float, 2.0, 1e6)),
    ("EXOFOP_MCP_PAGE_DEADLINE_SECONDS", "page_deadline_seconds", _bounded(_parse_float, 0.1, 86400.0)),
)

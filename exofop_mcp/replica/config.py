"""Settings of the ExoFOP replica: how the site behaves, misbehaves and who may log in."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FaultKind = Literal["5xx", "429", "reset", "truncate", "corrupt", "stall"]
TableQuirk = Literal["renamed_columns", "html", "garbage", "redirect"]
NameServiceAnswer = Literal["file_redirect", "huge", "truncated", "mistyped", "deep"]
PAGE_FAULT_KINDS: tuple[str, ...] = ("empty", "silent", "drip", "slow_headers")

FAULT_KINDS: tuple[str, ...] = ("5xx", "429", "reset", "truncate", "corrupt", "stall")
DEFAULT_FAULT_KINDS: tuple[FaultKind, ...] = ("5xx", "429", "reset", "truncate")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*(?:/s)?\s*$", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str | float | int) -> int:
    """Parse a byte count such as ``4MiB``, ``2MB``, ``512k`` or ``1048576``.

    ``KiB``/``MiB``/``GiB`` and bare ``k``/``M``/``G`` are powers of 1024; ``kB``/``MB``/``GB`` are
    powers of 1000.  A trailing ``/s`` is accepted so bandwidths read naturally (``4MiB/s``).
    """
    if isinstance(text, int | float):
        return int(text)
    match = _SIZE_PATTERN.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (try e.g. 4MiB, 500kB or 1048576)")
    number, prefix, binary, byte_suffix = match.groups()
    power = _SIZE_POWERS[prefix.lower()]
    base = 1000 if (byte_suffix and not binary and prefix) else 1024
    return int(float(number) * base**power)


def parse_tag_fault(spec: str, kinds: tuple[str, ...] = FAULT_KINDS) -> tuple[str, int | None]:
    """Split a per-tag (or per-page) fault spec ``kind`` or ``kind:N`` (fail the first N requests only)."""
    kind, _, count = spec.partition(":")
    kind = kind.strip()
    if kind not in kinds:
        raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(kinds)}")
    if not count:
        return kind, None
    times = int(count)
    if times < 0:
        raise ValueError(f"fault count must be >= 0: {spec!r}")
    return kind, times


class ReplicaConfig(BaseModel):
    """Everything that can be tuned on a running replica (see ``Replica.configure``).

    All fields have defaults; the defaults give a well-behaved, fast site with no accounts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)

    latency: float = Field(default=0.0, ge=0.0, description="seconds added before each response's headers")
    bandwidth: float | None = Field(
        default=None, gt=0, description="cap on body bytes per second, per connection (None = unlimited)"
    )

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="probability of a random fault")
    fault_kinds: tuple[FaultKind, ...] = DEFAULT_FAULT_KINDS
    fault_paths: tuple[str, ...] = Field(
        default=(), description="if set, random faults only hit paths ending with one of these"
    )
    seed: int = 0
    retry_after: int = Field(default=1, ge=0, description="Retry-After seconds sent with 429 answers")
    stall_seconds: float = Field(default=30.0, ge=0.0, description="how long a stalled response trickles")
    stall_rate: float = Field(default=2.0, ge=0.0, description="bytes per second trickled while stalled")
    tag_faults: dict[int, str] = Field(
        default_factory=dict,
        description="tag -> fault kind forced on archive downloads; 'kind:N' fails only the first N",
    )

    tag_size: int | None = Field(default=None, gt=0, description="make every tag archive about this size")
    tag_sizes: dict[int, int] = Field(default_factory=dict, description="per-tag archive sizes (bytes)")
    proprietary_tags: tuple[int, ...] = Field(
        default=(), description="tags that need a login, on top of dataset.PROPRIETARY_TAGS"
    )
    unknown_tag_status: Literal[200, 404] = 200
    chunked: bool = Field(default=False, description="serve archives with Transfer-Encoding: chunked")
    archive_header_delay: float = Field(
        default=0.0, ge=0.0, description="seconds a tag archive's headers wait (the real site builds the zip first)"
    )

    accounts: dict[str, str] = Field(default_factory=dict, repr=False)
    session_ttl: float = Field(default=7 * 86400, gt=0)
    session_locking: bool = True
    login_success: Literal["index", "ref_page", "page"] = Field(
        default="index",
        description="where a good login lands: a 302 to /tess/index.php, a 302 to the form's ref_page "
        "(/tess/), or a 200 welcome page at password_check.php itself",
    )

    toi_table_quirk: TableQuirk | None = None
    odd_tags: tuple[str, ...] = Field(
        default=(),
        description="Tag cells written over the tags of the first rows of every observation table "
        "(e.g. '0', '-5', 'abc', forty digits)",
    )
    name_multi_shape: Literal["list", "string", "comma", "html"] = Field(
        default="list",
        description="the TIC value of a gototicid.php JSON answer with num > 1: a list of strings, only the "
        "first TIC as one string, or a comma-separated string; 'html': the JSON request is answered with the "
        "HTML table of candidates (the real shape is not documented)",
    )
    name_service_accepts_tic: bool = Field(
        default=True,
        description="False: gototicid.php answers 'No object found.' to TIC-form targets (TIC 123, bare digits), "
        "as one third-party client reports of the real site",
    )
    name_service_tic: str | None = Field(
        default=None, description="the TIC value every gototicid.php JSON answer carries instead of the real one"
    )
    page_charset: str | None = Field(
        default=None,
        description="the charset every table, page and JSON answer claims in its Content-Type (e.g. "
        "'iso-8859-1') while its body stays UTF-8, as PHP's default_charset can make the real site do",
    )
    unlisted_tags: tuple[int, ...] = Field(
        default=(),
        description="tags left out of every observation table and every tag summary page "
        "(download_tag_tseries.php, ...), their archives still served: a tag ExoFOP's tables do not know",
    )
    empty_archive_tags: tuple[int, ...] = Field(
        default=(), description="tags whose archive is served as a valid zip with no entries"
    )
    inflating_pages: tuple[str, ...] = Field(
        default=(),
        description="pages (path suffixes, e.g. 'download_tseries.php') answered with a small gzip body "
        "(Content-Encoding: gzip) that decodes to inflate_bytes of zeros: a decompression bomb",
    )
    inflate_bytes: int = Field(default=300 * 1024 * 1024, gt=0, description="decoded size of an inflating body")
    foreign_redirect: str | None = Field(
        default=None,
        description="base URL of another site (e.g. a second replica); the pages of foreign_redirect_pages "
        "answer 302 to the same path and query there",
    )
    foreign_redirect_pages: tuple[str, ...] = Field(
        default=(), description="pages (path suffixes) that redirect to foreign_redirect"
    )
    broken_free_text: bool = Field(
        default=False,
        description="free text as the real site holds it: some notes (observation tables, observing notes), TOI "
        "comments and file descriptions carry a literal '|', a raw newline (the text goes on on the next line) "
        "or HTML (<br>, &nbsp;, &amp;)",
    )
    untidy_tables: bool = Field(
        default=False,
        description="pipe tables as they really look: header cells with stray spaces, decimals without a leading "
        "zero (.386554), several blank lines at the end",
    )
    page_faults: dict[str, str] = Field(
        default_factory=dict,
        description="page (path suffix, e.g. 'download_tseries.php') -> how it misbehaves, as 'kind' or 'kind:N' "
        "(only its first N requests): 'empty' answers 200 with an empty body and 'silent' accepts the request and "
        "sends nothing for stall_seconds (the real site's throttling); 'drip' sends the page whole but one byte "
        "every 1/stall_rate seconds; 'slow_headers' sends even the response headers that way",
    )
    name_service_answer: NameServiceAnswer | None = Field(
        default=None,
        description="a broken answer of gototicid.php to every JSON request: a redirect to a file:// URL, a body "
        "of 65 MiB, JSON cut short, JSON of the wrong types, or arrays nested 100,000 deep",
    )
    cache_dir: str | None = None
    keepalive_timeout: float = Field(default=15.0, gt=0)

    @field_validator("bandwidth", mode="before")
    @classmethod
    def _bandwidth_from_text(cls, value: Any) -> Any:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("inflate_bytes", mode="before")
    @classmethod
    def _inflate_from_text(cls, value: Any) -> Any:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("tag_size", mode="before")
    @classmethod
    def _tag_size_from_text(cls, value: Any) -> Any:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("tag_sizes", mode="before")
    @classmethod
    def _tag_sizes_from_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: parse_size(size) if isinstance(size, str) else size for key, size in value.items()}
        return value

    @field_validator("tag_faults")
    @classmethod
    def _check_tag_faults(cls, value: dict[int, str]) -> dict[int, str]:
        for spec in value.values():
            parse_tag_fault(spec)
        return value

    @field_validator("page_faults")
    @classmethod
    def _check_page_faults(cls, value: dict[str, str]) -> dict[str, str]:
        for spec in value.values():
            parse_tag_fault(spec, PAGE_FAULT_KINDS)
        return value

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in LOOPBACK_HOSTS and not value.startswith("127."):
            raise ValueError(f"the replica only listens on loopback addresses, not {value!r}")
        return value

    def updated(self, **changes: Any) -> ReplicaConfig:
        """A validated copy with some fields changed."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise ValueError(f"unknown replica settings: {', '.join(sorted(unknown))}")
        return type(self).model_validate({**self.model_dump(), **changes})

    def public_view(self) -> dict[str, Any]:
        """Settings as JSON-friendly data, with account passwords left out."""
        data = self.model_dump(mode="json")
        data["accounts"] = sorted(self.accounts)
        return data

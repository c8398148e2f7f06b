"""The arguments of ``download_tags`` and what happened to each tag: the models the tools publish."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from exofop_mcp.downloads.sandbox import DownloadKind
from exofop_mcp.site.observations import ObservationFilters, TagKind
from exofop_mcp.site.resolver import SystemArgument

MAX_TAGS_PER_REQUEST = 500
MAX_FILES_LISTED = 20
DEFAULT_WAIT_SECONDS = 40.0
MAX_WAIT_SECONDS = 300.0

TagStatus = Literal[
    "pending",
    "downloading",
    "downloaded",
    "already_present",
    "not_found",
    "login_required",
    "failed",
    "timed_out",
    "corrupt",
    "unsafe_archive",
    "empty",
    "locked",
    "other_star",
    "cancelled",
]
FINAL_OK: frozenset[str] = frozenset({"downloaded", "already_present"})
IN_FLIGHT: frozenset[str] = frozenset({"pending", "downloading"})
#: Statuses that asking again can change (a passing fault, a lock, a login); not_found, other_star,
#: unsafe_archive and empty come back the same.
RETRYABLE: frozenset[str] = frozenset({"failed", "timed_out", "corrupt", "locked", "cancelled", "login_required"})


def not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):  # JSON true is not tag 1
        raise ValueError("tag numbers are whole numbers, not true/false")
    return value


class DownloadTagsRequest(ObservationFilters):
    """Arguments of ``download_tags``."""

    system: Annotated[SystemArgument, Field(examples=["TOI-1130"])]
    tags: Annotated[
        list[Annotated[int, Field(strict=True, ge=1, le=10**9), BeforeValidator(not_a_bool)]] | None,
        Field(
            description="tag numbers to fetch (from list_observations' `tags`), at most "
            f"{MAX_TAGS_PER_REQUEST}; omit to fetch every tag of `kind`",
            max_length=MAX_TAGS_PER_REQUEST,
            examples=[[18493, 18598]],
        ),
    ] = None
    kind: Annotated[
        TagKind | None,
        Field(description="fetch every tag of this kind (after the filters); with `tags`, checks them against it"),
    ] = None
    unzip: Annotated[bool, Field(strict=True, description="unpack each archive into <kind>/<tag>/ (default true)")] = (
        True
    )
    overwrite: Annotated[bool, Field(strict=True, description="fetch again even tags that are already complete")] = (
        False
    )
    keep_zip: Annotated[bool, Field(strict=True, description="keep the verified archive in archives/<tag>.zip")] = False
    verify: Annotated[
        bool,
        Field(
            strict=True,
            description="check the SHA-256 of every file of the tags already on disk (not only sizes and times); "
            "a tag whose files changed is fetched again",
        ),
    ] = False
    wait_seconds: Annotated[
        float,
        Field(
            description="how long to wait before returning a progress report (the download goes on in the "
            "background; poll with download_status)",
            strict=True,
            ge=0,
            le=MAX_WAIT_SECONDS,
            allow_inf_nan=False,
        ),
    ] = DEFAULT_WAIT_SECONDS

    @model_validator(mode="after")
    def _check_request(self) -> DownloadTagsRequest:
        if self.tags is not None:
            if not self.tags:
                raise ValueError("'tags' is empty: give tag numbers, or omit it and give 'kind'")
            unique = list(dict.fromkeys(self.tags))
            if len(unique) > MAX_TAGS_PER_REQUEST:
                raise ValueError(
                    f"{len(unique)} tags requested; at most {MAX_TAGS_PER_REQUEST} per call. Split the request."
                )
            self.tags = unique
        elif self.kind is None:
            raise ValueError(
                "say what to download: 'tags' (numbers from list_observations) and/or 'kind' "
                "(time_series, spectroscopy or imaging)"
            )
        if self.tags is not None and self.filters().active():
            raise ValueError("filters apply only when downloading by 'kind' without 'tags'")
        return self

    def filters(self) -> ObservationFilters:
        return ObservationFilters.model_validate(self.model_dump(include=set(ObservationFilters.model_fields)))


class TagResult(BaseModel):
    """What happened to one tag."""

    # A value: reports of several calls may share one (a tag found complete again); change it with model_copy.
    model_config = ConfigDict(frozen=True)

    tag: int
    kind: DownloadKind | None = Field(None, description="the table that lists the tag ('other' if none)")
    status: TagStatus
    bytes: int = Field(0, description="archive bytes downloaded")
    sha256: str | None = Field(None, description="SHA-256 of the archive")
    directory: str | None = Field(None, description="the tag's files, relative to the system directory")
    files: list[str] = Field(
        default_factory=list,
        description=f"at most {MAX_FILES_LISTED} files, relative to the system directory, the ones a reader wants "
        "first (measurement tables, plots, spectra, images) leading",
    )
    file_count: int = 0
    attempts: int = 0
    message: str | None = Field(None, description="what went wrong and what to do next")

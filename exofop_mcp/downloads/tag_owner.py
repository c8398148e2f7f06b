"""Whose is a tag that a system's observation tables do not list: ExoFOP's per-tag summaries say.

``download_tag_tseries.php``, ``download_tag_spect.php`` and ``download_tag_imaging.php`` answer
the summary rows of one tag (``tag=N``), with the star's ``TIC ID`` and ``TOI`` columns.  A tag
asked for under one system but filed under another star on ExoFOP is refused (status
``other_star``) instead of being filed silently under the wrong system; a tag that no summary
lists is reported as unknown to ExoFOP's tables.  The look-ups are small requests (the client's
small lane), at most one per summary page, and asked only for tags the system's tables lack; one
call looks up at most :data:`MAX_OWNER_LOOKUPS` tags, so that a list of made-up numbers cannot turn
one call into thousands of requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from exofop_mcp.errors import ExofopMcpError, ExofopResponseError
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.observations import TagKind
from exofop_mcp.site.pipe_table import split_header
from exofop_mcp.site.resolver import ResolvedSystem

#: Most tags one ``download_tags`` call looks up in the summaries (each costs up to three requests).
MAX_OWNER_LOOKUPS = 20

#: The per-tag summary page of each kind, in the order they are asked (most tags are time series).
SUMMARY_PAGES: tuple[tuple[TagKind, str], ...] = (
    ("time_series", "download_tag_tseries.php"),
    ("spectroscopy", "download_tag_spect.php"),
    ("imaging", "download_tag_imaging.php"),
)


@dataclass(frozen=True)
class TagOwner:
    """The star and kind ExoFOP's summary of one tag names."""

    tag: int
    kind: TagKind
    tic_id: int
    #: The planet candidate the summary names (``1130.02``), if any.
    toi: str | None = None

    @property
    def system(self) -> str:
        """What to give ``download_tags`` to fetch the tag under its own star."""
        if self.toi:
            return f"TOI-{self.toi.partition('.')[0]}"
        return f"TIC {self.tic_id}"

    def describe(self) -> str:
        """``TIC 254113311 (TOI-1130.02)``, or ``TIC 123`` without a TOI."""
        return f"TIC {self.tic_id}" + (f" (TOI-{self.toi})" if self.toi else "")


@dataclass(frozen=True)
class UnlistedTag:
    """What ExoFOP's summaries say about a tag a system's tables do not list."""

    tag: int
    owner: TagOwner | None = None
    #: Why the summaries could not be read (the owner is then unknown, not absent).
    error: str | None = None
    #: Not looked up: the call had already looked up :data:`MAX_OWNER_LOOKUPS` tags.
    unchecked: bool = False

    def other_star(self, system: ResolvedSystem) -> bool:
        return self.owner is not None and self.owner.tic_id != system.tic_id

    def refusal(self, system: ResolvedSystem) -> str:
        """The message of an ``other_star`` result."""
        assert self.owner is not None
        owner = self.owner
        kind = owner.kind.replace("_", " ")
        return (
            f"tag {self.tag} is a {kind} observation of {owner.describe()}, not of {system.canonical_name} "
            f"(TIC {system.tic_id}): nothing was filed under {system.canonical_name}. Download it under its own "
            f"system: download_tags(system='{owner.system}', tags=[{self.tag}]) "
            f"(CLI: exofop-mcp download '{owner.system}' {self.tag})."
        )

    def note(self, system: ResolvedSystem) -> str | None:
        """What to say about a tag that is not another star's (``None`` if its summary names this star)."""
        if self.owner is not None:
            return None
        if self.unchecked:
            return (
                f"tag {self.tag} is in none of {system.canonical_name}'s observation tables, and whose it is was "
                f"not looked up: one call looks up at most {MAX_OWNER_LOOKUPS} such tags in ExoFOP's tag summaries. "
                f"Ask for it in a call of its own to have it checked."
            )
        if self.error is not None:
            return (
                f"tag {self.tag} is in none of {system.canonical_name}'s observation tables, and whose it is "
                f"could not be checked ({self.error}); it was filed under other/."
            )
        return (
            f"tag {self.tag} is in none of {system.canonical_name}'s observation tables, and no ExoFOP tag "
            "summary (time series, spectroscopy, imaging) lists it: the tag is unknown to ExoFOP's tables, "
            "or proprietary and hidden from this account."
        )


async def find_tag_owner(client: ExofopClient, tag: int) -> TagOwner | None:
    """The star ExoFOP files ``tag`` under, from its summary rows; ``None`` if no summary lists it.

    Raises an :class:`~exofop_mcp.errors.ExofopMcpError` when a summary page cannot be read.
    """
    for kind, page in SUMMARY_PAGES:
        text = await client.get_text(page, {"tag": tag, "output": "pipe"}, logged_in=True)
        owner = owner_from_summary(text, tag, kind, page=page)
        if owner is not None:
            return owner
    return None


async def check_unlisted_tag(client: ExofopClient, tag: int) -> UnlistedTag:
    """:func:`find_tag_owner`, with a failure to ask kept as the reason the owner is unknown."""
    try:
        return UnlistedTag(tag, owner=await find_tag_owner(client, tag))
    except ExofopMcpError as exc:
        return UnlistedTag(tag, error=str(exc))


def owner_from_summary(text: str, tag: int, kind: TagKind, *, page: str) -> TagOwner | None:
    """The owner named by the first row of one summary page's pipe table (``None`` when it has no row)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    header = split_header(lines[0])
    if "TIC ID" not in header:
        snippet = " ".join(lines[0][:80].split())
        raise ExofopResponseError(
            f"ExoFOP's {page} did not answer a table with a 'TIC ID' column (it began {snippet!r}).",
            hint="The site may be down or its interface changed; run `exofop-mcp doctor`.",
        )
    tic_at = header.index("TIC ID")
    toi_at = header.index("TOI") if "TOI" in header else None
    tag_at = header.index("Tag") if "Tag" in header else None
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) <= tic_at or not cells[tic_at].isdigit():
            continue
        if tag_at is not None and len(cells) > tag_at and cells[tag_at] and cells[tag_at] != str(tag):
            continue
        toi_cell = cells[toi_at] if toi_at is not None and len(cells) > toi_at else ""
        toi = toi_cell.upper().removeprefix("TOI").strip(" -") or None
        return TagOwner(tag=tag, kind=kind, tic_id=int(cells[tic_at]), toi=toi)
    return None

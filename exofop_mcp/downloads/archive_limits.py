"""The bounds a downloaded archive must stay within before anything of it is written."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExtractionLimits"]

_GiB = 1 << 30
_MiB = 1 << 20


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds that stop hostile archives while letting real tags through.

    Real tags run from kilobytes to hundreds of megabytes: FITS images, light-curve tables and
    plots, which compress between about 1.5x and 20x.  A "zip bomb" compresses zeros about 1000x
    with deflate (100 MiB into 100 KiB) or nests many small entries.

    Attributes:
        max_entries: most members (files and directory entries) an archive may list.
        max_total_uncompressed: most bytes all members may expand to together (default 4 GiB, the
            default ``EXOFOP_MCP_MAX_ARCHIVE_BYTES``).
        max_entry_ratio: highest allowed ratio of uncompressed to compressed size, checked for every
            member of at least ``ratio_min_size`` bytes and for the whole archive (total
            uncompressed size over archive file size) once the total reaches ``ratio_min_size``.
            Small members are exempt: a tiny text file full of blanks may legitimately compress
            100x, but cannot hurt.
        ratio_min_size: uncompressed size from which the ratio check applies (default 1 MiB).
    """

    max_entries: int = 20_000
    max_total_uncompressed: int = 4 * _GiB
    max_entry_ratio: float = 200.0
    ratio_min_size: int = 1 * _MiB

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError("ExtractionLimits.max_entries must be at least 1")
        if self.max_total_uncompressed < 0:
            raise ValueError("ExtractionLimits.max_total_uncompressed must not be negative")
        if not self.max_entry_ratio >= 1.0:
            raise ValueError("ExtractionLimits.max_entry_ratio must be at least 1")
        if self.ratio_min_size < 0:
            raise ValueError("ExtractionLimits.ratio_min_size must not be negative")

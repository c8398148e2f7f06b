"""Tag numbers for the synthetic observations, decodable back to their star and kind.

Every star gets a block of consecutive *slots*, one per distinct tag of its time series, then its
spectroscopy, then its imaging.  A slot becomes a tag number through an affine permutation modulo a
prime, which scatters one star's tags over 5,000-500,000 like real upload numbers, and inverts
exactly: tag -> slot -> star (bisect over block starts) -> kind (position inside the block).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

TAG_BASE = 5_000
TAG_MODULUS = 494_987  # prime: tags fall in [5_000, 499_987)
TAG_MULTIPLIER = 305_927
TAG_MULTIPLIER_INVERSE = 344_399  # TAG_MULTIPLIER * TAG_MULTIPLIER_INVERSE == 1 (mod TAG_MODULUS)
TAG_OFFSET = 137_771

KINDS = ("tseries", "spect", "imaging")


def distinct_tags(rows: int, repeated_rows: int | None = None) -> int:
    """How many tags ``rows`` summary rows carry: about one row in eight repeats its neighbour's tag."""
    repeats = rows // 8 if repeated_rows is None else min(repeated_rows, max(0, rows - 1))
    return rows - repeats


def slot_to_tag(slot: int) -> int:
    return TAG_BASE + (TAG_MULTIPLIER * slot + TAG_OFFSET) % TAG_MODULUS


def tag_to_slot(tag: int) -> int | None:
    if not TAG_BASE <= tag < TAG_BASE + TAG_MODULUS:
        return None
    return ((tag - TAG_BASE - TAG_OFFSET) * TAG_MULTIPLIER_INVERSE) % TAG_MODULUS


@dataclass(frozen=True)
class TagOwner:
    tic: int
    kind: str


class TagAllocation:
    """Slots for every star, in TOI-table order; ``needs`` holds per-star tag counts per kind."""

    def __init__(self, tics: Sequence[int], needs: Sequence[tuple[int, int, int]]) -> None:
        self._tics = list(tics)
        self._needs = list(needs)
        self._starts: list[int] = []
        self._index = {tic: position for position, tic in enumerate(self._tics)}
        slot = 0
        for need in self._needs:
            self._starts.append(slot)
            slot += sum(need)
        self.total = slot
        if self.total >= TAG_MODULUS:
            raise ValueError("too many tags for the tag number space")

    def tags(self, tic: int, kind: str) -> list[int]:
        """The allocated tags of one star and kind, ascending."""
        position = self._index.get(tic)
        if position is None:
            return []
        need = self._needs[position]
        kind_index = KINDS.index(kind)
        first = self._starts[position] + sum(need[:kind_index])
        return sorted(slot_to_tag(slot) for slot in range(first, first + need[kind_index]))

    def owner(self, tag: int) -> TagOwner | None:
        slot = tag_to_slot(tag)
        if slot is None or slot >= self.total:
            return None
        position = bisect.bisect_right(self._starts, slot) - 1
        local = slot - self._starts[position]
        need = self._needs[position]
        for kind_index, count in enumerate(need):
            if local < count:
                return TagOwner(self._tics[position], KINDS[kind_index])
            local -= count
        return None  # pragma: no cover - slots always fall inside a block

    def is_allocated(self, tag: int) -> bool:
        return self.owner(tag) is not None

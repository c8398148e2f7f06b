"""Keeping one page of a tool result under its byte budget (a result stays under 20 kB)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TypeVar

from pydantic import BaseModel

ItemT = TypeVar("ItemT", bound=BaseModel)


def json_size(model: BaseModel) -> int:
    """Size of the JSON a client sees (``json.dumps`` spacing, the larger of the usual renderings)."""
    return len(json.dumps(model.model_dump(mode="json", exclude_none=True)))


def fit_page(items: Iterable[ItemT], used: int, budget: int, *, separator: int = 1) -> tuple[list[ItemT], bool]:
    """The leading ``items`` whose JSON (``separator`` bytes between items) fits in ``budget`` beside ``used``.

    Always at least one item, so that a page never comes back empty while items remain; the flag says
    whether an item was left out.  ``items`` is read only as far as the page goes.
    """
    chosen: list[ItemT] = []
    for item in items:
        size = json_size(item) + separator
        if chosen and used + size > budget:
            return chosen, True
        chosen.append(item)
        used += size
    return chosen, False

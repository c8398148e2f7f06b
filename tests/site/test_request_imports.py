"""Requests search for no module again and again (a failed import is searched for on every attempt).

httpcore asks ``sniffio`` which event loop runs each time it sets up a lock, several times a request;
the project depends on sniffio so that the ask is a lookup, not a search of ``sys.path``.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections import Counter
from typing import Any

import pytest

from exofop_mcp.api import Exofop

pytestmark = pytest.mark.anyio


class _Searches(importlib.abc.MetaPathFinder):
    """Records every module name the import system searches for (then lets the other finders look)."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        self.names[fullname] += 1
        return None


async def test_requests_do_not_search_for_a_module_each_time(warm_settings, replica):
    searches = _Searches()
    async with Exofop(warm_settings) as exofop:
        await exofop.resolve_system("TOI-1130")
        sys.meta_path.insert(0, searches)
        try:
            for kind in ("time_series", "spectroscopy", "imaging"):
                await exofop.list_observations("TOI-1130", kind=kind)
            report = await exofop.download_tags("TOI-1130", tags=[18493, 18598])
        finally:
            sys.meta_path.remove(searches)
    assert report.totals == {"downloaded": 2}
    assert exofop.client.requests_sent >= 5  # three tables, two archives
    assert [name for name, count in searches.names.items() if count > 1] == []

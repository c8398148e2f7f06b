"""Observing notes (download_obsnotes.php?tid=TIC&output=pipe) read over real sockets from the replica."""

from __future__ import annotations

import httpx
import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.replica import dataset
from tests.helpers.tool_client import ok

pytestmark = pytest.mark.anyio

HEADER = "ID|TIC ID|Username|Groupname|TAG ID|Lastmod|notes"


def test_the_replica_serves_the_real_header_and_a_header_alone_without_notes(replica):
    def page(tic: int) -> str:
        return httpx.get(f"{replica.tess_url}/download_obsnotes.php", params={"tid": tic, "output": "pipe"}).text

    assert page(dataset.TOI_1130_TIC).split("\n", 1)[0] == HEADER
    assert page(dataset.EMPTY_SYSTEM_TIC) == HEADER + "\n"


async def test_observing_notes_of_a_system(warm_settings):
    async with Exofop(warm_settings) as exofop:
        notes = await exofop.observing_notes("TOI-1130")
        tags = set((await exofop.list_observations("TOI-1130", "time_series", limit=1)).tags)
        none = await exofop.observing_notes(f"TIC {dataset.EMPTY_SYSTEM_TIC}")
    assert len(notes) > 5 and none == []
    assert all(n.tic_id == dataset.TOI_1130_TIC and n.id and n.user and n.text for n in notes)
    assert {n.group for n in notes} <= {"tfopwg", None}
    assert [n.lastmod for n in notes] == sorted(n.lastmod or "" for n in notes)  # oldest first
    assert all(n.date and n.lastmod and n.lastmod.startswith(n.date) for n in notes)
    by_tag = {n.tag: n for n in notes}
    assert by_tag[19442].text == "nominal .02 with overlapping .01" and by_tag[19442].raw_text is None
    assert tags & set(by_tag)  # the notes are about the system's observations


async def test_broken_observing_notes_keep_their_rows(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        clean = await exofop.observing_notes("TOI-1130")
        replica.configure(broken_free_text=True)
        broken = await exofop.observing_notes("TOI-1130")
    assert [(n.id, n.tag, n.user, n.lastmod) for n in broken] == [(n.id, n.tag, n.user, n.lastmod) for n in clean]
    html = [n for n in broken if n.raw_text]
    assert html and all("<br>" in (n.raw_text or "") and "&nbsp;" in (n.raw_text or "") for n in html)
    assert all((n.text or "").endswith("\ndepth consistent & achromatic") for n in html)
    assert any((n.text or "").endswith(" | egress only, clouds") for n in broken)
    assert any((n.text or "").endswith("\n3|4 of the transit observed") for n in broken)


async def test_list_observations_lists_the_observing_notes(warm_settings):
    from tests.helpers.tool_client import call, text_of

    page = await ok(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "observing_notes"})
    assert page["total"] > 5 and page["rows"][0]["kind"] == "observing_notes"
    row = next(r for r in page["rows"] if r["tag"] == 19442)
    assert row["text"] == "nominal .02 with overlapping .01" and row["date"] == row["lastmod"][:10]
    assert 19442 in page["tags"]
    mine = await ok(
        warm_settings, "list_observations", {"system": "TOI-1130", "kind": "observing_notes", "user": row["user"]}
    )
    assert {r["user"] for r in mine["rows"]} == {row["user"]}
    result = await call(warm_settings, "list_observations", {"system": "TOI-1130", "kind": "observing_notes"})
    assert "nominal .02 with overlapping .01" in text_of(result)

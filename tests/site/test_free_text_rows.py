"""Free text that breaks the pipe format (a literal '|', raw newlines, HTML) never splits, shifts or retypes
a row: every table, streamed or not, over real sockets against the replica's ``broken_free_text`` switch."""

from __future__ import annotations

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.replica import dataset

pytestmark = pytest.mark.anyio

#: What each way of breaking a note (replica.untidy_text.broken) reads as once decoded.
PIPE = " | egress only, clouds"
NEWLINE = "\nsecond night: full transit, on target"
HTML = "\ndepth consistent & achromatic"
NUMBERED = "\n3|4 of the transit observed"


async def every_row(exofop: Exofop, system: str, kind: str) -> list:
    rows, offset = [], 0
    while offset is not None:
        page = await exofop.list_observations(system, kind, limit=200, offset=offset)
        rows += page.rows
        offset = page.next_offset
    return rows


@pytest.mark.parametrize(("kind", "field"), [("time_series", "notes"), ("files", "description")])
async def test_broken_notes_and_descriptions_keep_every_row_whole(settings, replica, kind, field):
    async with Exofop(settings) as exofop:
        clean = await every_row(exofop, "TIC 254113311", kind)
    replica.configure(broken_free_text=True)
    async with Exofop(settings) as exofop:
        broken = await every_row(exofop, "TIC 254113311", kind)
    assert len(broken) == len(clean) > 8  # no row split in two, none lost
    key = "tic_id" if kind == "time_series" else "file_id"
    assert all(isinstance(getattr(row, key), int) for row in broken)  # the numeric column stayed numeric
    assert sorted((r.tag, r.obs_date if kind == "time_series" else r.file_name) for r in broken) == sorted(
        (r.tag, r.obs_date if kind == "time_series" else r.file_name) for r in clean
    )  # no cell shifted into its neighbour
    texts = [getattr(row, field) or "" for row in broken]
    for ending in (PIPE, NEWLINE, HTML, NUMBERED):
        assert any(text.endswith(ending) for text in texts), ending
    decoded = [row for row in broken if (getattr(row, field) or "").endswith(HTML)]
    assert all("<br>" in getattr(row, f"{field}_raw") and "&nbsp;" in getattr(row, f"{field}_raw") for row in decoded)
    assert all(getattr(row, f"{field}_raw") is None for row in broken if row not in decoded)


async def test_the_streamed_toi_table_keeps_every_row_whole(settings, replica):
    table = dataset.Dataset().table
    rows = len(table.lines) - 1
    replica.configure(broken_free_text=True)
    async with Exofop(settings) as exofop:
        status = await exofop.catalog.refresh()
        assert status.rows == rows
        first = [table.lines[n].split(b"|", 2)[:2] for n in (1, 5, 9, 13)]  # one row broken each way
        comments = []
        for tic, toi in first:
            (entry,) = [e for e in exofop.catalog.entries_for_tic(int(tic)) if e.record.toi == toi.decode()]
            comments.append(entry.record.comments or "")
    for comment, ending in zip(comments, (PIPE, NEWLINE, HTML, NUMBERED), strict=True):
        assert comment.endswith(ending)


async def test_a_one_toi_page_with_a_broken_comment_reads_whole(settings, replica):
    replica.configure(broken_free_text=True)
    async with Exofop(settings) as exofop:
        system = await exofop.resolve_system("TOI-1130", other_names=False)  # a cold catalog: the host's page
    assert [p.toi for p in system.planets] == ["1130.01", "1130.02"]
    assert system.planets[0].comments == "TOI 1130 c" + PIPE.replace("\n", " ")
    assert system.planets[1].comments == "TOI-1130 b"

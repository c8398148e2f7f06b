"""ExoFOP's observing notes: what observers write about each observation ("egress only, clouds").

``download_obsnotes.php?tid=TIC&output=pipe`` answers ``ID|TIC ID|Username|Groupname|TAG ID|Lastmod|notes``,
one row per note; a star without notes answers the header alone.  The notes are free text as people type
it: a literal ``|``, raw newlines and HTML are all seen, so rows are read with continuation lines joined
(:mod:`exofop_mcp.site.pipe_table`) and the text decoded for display, the raw text kept beside it.
"""

from __future__ import annotations

import asyncio

from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.pipe_table import check_pipe_table
from exofop_mcp.site.records import OBSNOTES_COLUMNS, ObservingNote, read_record_table

OBSNOTES_PAGE = ObservingNote.page
__all__ = ["OBSNOTES_COLUMNS", "OBSNOTES_PAGE", "ObservingNote", "fetch_observing_notes"]


async def fetch_observing_notes(client: ExofopClient, tic: int) -> list[ObservingNote]:
    """The observing notes of TIC ``tic``, oldest first (an empty list when it has none).

    An empty answer is not "no notes" (a table with no rows is its header alone): it is reported as
    :class:`~exofop_mcp.errors.ExofopResponseError`, as is an answer that is not this table.
    """
    text = await client.get_text(OBSNOTES_PAGE, {"tid": tic, "output": "pipe"}, logged_in=True)
    check_pipe_table(text, ObservingNote.required_columns, page=OBSNOTES_PAGE)
    rows = await asyncio.to_thread(read_record_table, text, ObservingNote)
    notes = [ObservingNote.model_validate(row) for row in rows]
    return sorted(notes, key=lambda n: (n.lastmod or "", n.id or 0))

"""ExoFOP's observing notes: what observers write about each observation ("egress only, clouds").

``download_obsnotes.php?tid=TIC&output=pipe`` answers ``ID|TIC ID|Username|Groupname|TAG ID|Lastmod|notes``,
one row per note; a star without notes answers the header alone.  The notes are free text as people type
it: a literal ``|``, raw newlines and HTML are all seen, so rows are read with continuation lines joined
(:mod:`exofop_mcp.site.pipe_table`) and the text decoded for display, the raw text kept beside it.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.pipe_table import check_pipe_table
from exofop_mcp.site.records import (
    FreeText,
    Int,
    RawFreeText,
    TableRecord,
    TagNumber,
    Text,
    col,
    raw_col,
    read_record_table,
)

OBSNOTES_PAGE = "download_obsnotes.php"
#: The table's columns as the real site prints them.
OBSNOTES_COLUMNS = ("ID", "TIC ID", "Username", "Groupname", "TAG ID", "Lastmod", "notes")


class ObservingNote(TableRecord):
    """One observing note of a star (a row of ``download_obsnotes.php``)."""

    page: ClassVar[str] = OBSNOTES_PAGE
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "TAG ID", "notes")
    key_column: ClassVar[str | None] = "ID"
    free_text_columns: ClassVar[tuple[str, ...]] = ("notes",)

    id: Int = col("ID", "the note's row id on ExoFOP")
    tic_id: Int = col("TIC ID", "TIC id of the star")
    user: Text = col("Username", "ExoFOP user who wrote the note")
    group: Text = col("Groupname", "'tfopwg' or empty")
    tag: TagNumber = col("TAG ID", "upload tag the note is about (pass to download_tags)")
    lastmod: Text = col("Lastmod", "when the note was last changed (UTC, 'YYYY-MM-DD hh:mm:ss')")
    text: FreeText = col("notes", "the note as a person reads it (HTML breaks and entities decoded)")
    raw_text: RawFreeText = raw_col("notes")

    @property
    def date(self) -> str | None:
        """The day of ``lastmod`` (``YYYY-MM-DD``)."""
        return self.lastmod[:10] if self.lastmod and len(self.lastmod) >= 10 else None


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

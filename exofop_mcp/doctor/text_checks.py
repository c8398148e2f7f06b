"""``observing_notes`` and ``target_json``, and what every table check reports of the text it read.

The real site's tables are not clean: free text with a literal ``|``, raw newlines and HTML; header cells
with stray spaces, decimals without a leading zero, blank lines at the end.  The tools read all of it
(:mod:`exofop_mcp.site.pipe_table`); the doctor says which of these it saw, table by table, in the
details and in :attr:`DoctorReport.shapes <exofop_mcp.doctor.report.DoctorReport.shapes>` (``free_text``,
``table_layout``, ``observing_notes``, ``target_json``), so one paste tells how the real site looks now.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from exofop_mcp.doctor.probe import SITE_CHANGED_HINT, THROTTLED_HINT
from exofop_mcp.doctor.report import Draft, Stop
from exofop_mcp.doctor.site_checks import SiteChecks
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.site.observing_notes import OBSNOTES_COLUMNS, OBSNOTES_PAGE, ObservingNote
from exofop_mcp.site.pipe_table import RowJoiner, RowStart, free_text_index, split_row
from exofop_mcp.site.records import TableRecord, read_record_table
from exofop_mcp.site.target_info import NOT_FOUND_TEXT, TARGET_PAGE, parse_target_info

#: The keys of ``target.php?id=...&json`` as the real site answers them, in order.
TARGET_JSON_KEYS = (
    "basic_info",
    "coordinates",
    "tois",
    "ctois",
    "planet_units",
    "planet_parameters",
    "stellar_units",
    "stellar_parameters",
    "stellar_companions_units",
    "stellar_companions",
    "magnitudes",
    "imaging_units",
    "imaging",
    "spectroscopy_units",
    "spectroscopy",
    "time_series_units",
    "time_series",
    "files",
)
_HTML = re.compile(r"<\s*/?\s*[a-z]+[^<>]{0,200}>|&(?:[a-z]+|#[0-9]+);", re.IGNORECASE)
_BARE_DECIMAL = re.compile(r"(?:^|\|)-?\.[0-9]")


@dataclass
class TableText:
    """What one table's text looked like."""

    rows: int = 0
    joined_lines: int = 0
    separators_in_free_text: int = 0
    html_cells: int = 0
    padded_header_cells: int = 0
    bare_decimals: int = 0
    trailing_blank_lines: int = 0

    def free_text(self) -> str:
        return (
            f"{self.joined_lines} continuation line(s) joined to their rows, {self.separators_in_free_text} "
            f"row(s) with '|' inside the free text, {self.html_cells} free-text cell(s) with HTML"
        )

    def layout(self) -> str:
        return (
            f"{self.padded_header_cells} header cell(s) with stray spaces, {self.bare_decimals} decimal(s) "
            f"without a leading zero, {self.trailing_blank_lines} blank line(s) at the end"
        )

    def add(self, other: TableText) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def table_text(text: str, record: type[TableRecord]) -> TableText:
    """Count, in a pipe table's text, the untidy things the tools read past."""
    seen = TableText()
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
        seen.trailing_blank_lines += 1
    seen.trailing_blank_lines = max(0, seen.trailing_blank_lines - 1)  # the last line's own newline
    if not lines:
        return seen
    raw_header = lines[0].split("|")
    header = [name.strip() for name in raw_header]
    seen.padded_header_cells = sum(1 for raw, name in zip(raw_header, header, strict=True) if raw != name)
    joiner = RowJoiner(RowStart(header, record.key_column))
    rows = joiner.feed(lines[1:]) + joiner.finish()
    seen.rows, seen.joined_lines = len(rows), joiner.joined
    free_index = free_text_index(header, record.free_text_columns)
    for row in rows:
        seen.bare_decimals += len(_BARE_DECIMAL.findall(row))
        head = row.split("|")
        extra = len(head) - len(header)
        while extra > 0 and not head[-1].strip():
            head.pop()
            extra -= 1
        seen.separators_in_free_text += extra > 0
        cells = split_row(row, len(header), free_index)
        seen.html_cells += bool(_HTML.search(cells[free_index]))
    return seen


class TextChecks:
    """The checks of this module; what they see goes to ``site.shapes``."""

    def __init__(self, site: SiteChecks) -> None:
        self.site = site
        self.seen = TableText()
        self.tables: list[str] = []

    def note_table(self, draft: Draft, text: str, record: type[TableRecord], label: str) -> None:
        """Report what a table check's text looked like (details) and add it to the shapes."""
        seen = table_text(text, record)
        draft.details.append(f"free text: {seen.free_text()}")
        draft.details.append(f"layout: {seen.layout()}")
        self.seen.add(seen)
        self.tables.append(label)
        read = ", ".join(self.tables)
        self.site.shapes["free_text"] = f"{self.seen.free_text()} (in {read})"
        self.site.shapes["table_layout"] = f"{self.seen.layout()} (in {read})"

    # -- observing_notes -------------------------------------------------------------------------------

    async def observing_notes(self, draft: Draft) -> str:
        site = self.site
        if site.tic is None:
            raise Stop("SKIP", "the star's TIC is unknown (the TOI table and name resolver failed)")
        response = await site.get(draft, OBSNOTES_PAGE, {"tid": str(site.tic), "output": "pipe"})
        text = site.expect_pipe_text(draft, response, OBSNOTES_PAGE, f"the observing notes of TIC {site.tic}")
        header = site.check_columns(draft, text, ObservingNote, OBSNOTES_PAGE)
        try:
            rows = await asyncio.to_thread(read_record_table, text, ObservingNote)
            notes = [ObservingNote.model_validate(row) for row in rows]
        except ExofopMcpError as exc:
            raise Stop(
                "FAIL", f"{OBSNOTES_PAGE}: the table does not parse: {exc.message}", hint=SITE_CHANGED_HINT
            ) from None
        self.note_table(draft, text, ObservingNote, "observing notes")
        missing = [c for c in OBSNOTES_COLUMNS if c not in header]
        if missing:
            draft.warnings.append(f"documented column(s) missing: {', '.join(map(repr, missing))}")
            draft.hint = SITE_CHANGED_HINT
        count = f"{len(notes)} note(s)" if notes else "the header alone (no notes)"
        site.shapes["observing_notes"] = f"header {'|'.join(header)[:160]}; {count}"
        return f"TIC {site.tic}: {count}"

    # -- target_json -----------------------------------------------------------------------------------

    async def target_json(self, draft: Draft) -> str:
        site = self.site
        if site.tic is None:
            raise Stop("SKIP", "the star's TIC is unknown (the TOI table and name resolver failed)")
        response = await site.get(draft, TARGET_PAGE, {"id": str(site.tic), "json": ""})
        site.expect_success(draft, response, TARGET_PAGE, "HTTP 200 and the target's JSON")
        if not response.content.strip():
            site.empty_bodies.append(TARGET_PAGE)
            raise Stop("FAIL", f"{TARGET_PAGE} answered an empty body", hint=THROTTLED_HINT)
        try:
            answer: Any = json.loads(response.text)
        except ValueError:
            said = "a page saying 'No TIC object found'" if NOT_FOUND_TEXT in response.text else "something else"
            site.shapes["target_json"] = f"not_json: {said}"
            raise Stop(
                "FAIL", f"{TARGET_PAGE}?id={site.tic}&json did not answer JSON ({said})", hint=SITE_CHANGED_HINT
            ) from None
        try:
            info = parse_target_info(response.text)
        except ExofopMcpError as exc:
            said = ", ".join(map(str, answer))[:160] if isinstance(answer, dict) else type(answer).__name__
            site.shapes["target_json"] = f"other: {said}"
            raise Stop("FAIL", f"{TARGET_PAGE}: {exc.message}", hint=SITE_CHANGED_HINT) from None
        assert info is not None and isinstance(answer, dict)
        keys = list(answer)
        missing = [k for k in TARGET_JSON_KEYS if k not in keys]
        extra = [k for k in keys if k not in TARGET_JSON_KEYS]
        coordinates = answer.get("coordinates")
        ra = coordinates.get("ra") if isinstance(coordinates, dict) else None
        if isinstance(ra, str):
            ra_shape = "a sexagesimal string" if ":" in ra else "a degree string"
        else:
            ra_shape = "absent" if ra is None else type(ra).__name__
        stellar = answer.get("stellar_parameters")
        provenance = (
            "first entry a provenance header"
            if isinstance(stellar, list) and stellar and isinstance(stellar[0], dict) and "prov" in stellar[0]
            else "no provenance header"
        )
        shape = "real" if not missing else "changed"
        site.shapes["target_json"] = (
            f"{shape}: {len(keys)} keys; {len(info.star_names)} star name(s); ra is {ra_shape}; stellar_parameters "
            f"{provenance}; {len(info.files)} file(s)"
        )
        draft.details.append(f"keys: {', '.join(keys)[:300]}")
        draft.details.append(f"star names: {', '.join(info.star_names)[:300]}")
        if missing:
            draft.warnings.append(f"documented key(s) missing: {', '.join(missing)}")
            draft.hint = SITE_CHANGED_HINT
        if extra:
            draft.details.append(f"keys not documented: {', '.join(extra)[:200]}")
        return f"TIC {info.tic_id}: {len(keys)} keys, {len(info.other_names)} other name(s), {len(info.files)} file(s)"

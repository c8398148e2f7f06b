"""Free text from ExoFOP (notes, comments, file descriptions) as a person reads it.

The site stores what observers typed, often with HTML in it (``<br>``, ``&nbsp;``, ``&amp;``).
:func:`display_text` gives the text to show: line breaks for ``<br>`` and ``<p>``, the common inline
tags removed, entities decoded, non-breaking spaces as spaces.  The raw text stays available beside it
(the records' ``*_raw`` fields), since it is what the site holds.
"""

from __future__ import annotations

import html
import re

_BREAK = re.compile(r"<\s*(?:br|/?p)\s*/?\s*>", re.IGNORECASE)
#: Inline tags people paste; anything else that merely looks like a tag (``depth <1 ppt``) is kept.
_INLINE_TAG = re.compile(
    r"</?\s*(?:b|i|u|em|strong|span|div|font|sup|sub|small|a|code|pre|li|ul|ol)\b[^<>]{0,300}>", re.IGNORECASE
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
#: Longest free text decoded (a cell is bounded by the page limit already; this bounds the regexes' work).
MAX_FREE_TEXT_CHARS = 256 * 1024


def display_text(raw: str) -> str:
    """``raw`` free text as shown to a person: HTML breaks and entities decoded, spaces tidied."""
    text = raw[:MAX_FREE_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text:
        text = _INLINE_TAG.sub("", _BREAK.sub("\n", text))
    if "&" in text:
        text = html.unescape(text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def needs_decoding(raw: str) -> bool:
    """Whether ``raw`` reads differently once decoded (only then is the raw text worth keeping beside it)."""
    return display_text(raw) != raw.strip()

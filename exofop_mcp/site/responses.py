"""Recognising what ExoFOP sent: a ZIP, a login page, a "no files" page, text or binary data.

ExoFOP answers many requests with an HTML page where a table or an archive was expected (a login
form for proprietary data, "no files" for an empty tag, a maintenance page).  :func:`sniff_body`
classifies the first bytes of an answer, :func:`describe_bytes` turns them into a short line for
an error message and :func:`html_title` reads a page's title.  These are heuristics for messages,
never for security decisions.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["SNIFF_BYTES", "BodyKind", "describe_bytes", "html_title", "sniff_body"]

SNIFF_BYTES = 64 * 1024
"""How much of the start of a body is kept and looked at to tell what it is."""

BodyKind = Literal["zip", "html_login", "html_no_files", "html_not_found", "html_other", "empty", "text", "binary"]

_HTML_RE = re.compile(r"<\s*(!doctype\s+html|html|head|body|title|meta|form|div|table|script|h[1-6]|p)\b")
_PASSWORD_INPUT_RE = re.compile(r"<input\b[^<>]*\btype\s*=\s*[\"']?password")
_LOGIN_TEXT_RE = re.compile(r"\blog\s*-?\s*in\b|\bsign\s*-?\s*in\b|\blogin\b")
_NO_FILES_RE = re.compile(r"\bno\s+files?\b")
_NOT_FOUND_RE = re.compile(
    r"\bnot\s+found\b|\bdoes\s+not\s+exist\b|\bno\s+such\b|\b404\b|\bno\s+(?:\w+\s+){0,2}found\b"
)
_TAG_RE = re.compile(r"<[^<>]*>")
_TITLE_RE = re.compile(r"<title\b[^<>]*>([^<]*)", re.IGNORECASE)
# Where "log in" is a real signal: the title, headings, buttons and forms (not a navigation link).
# Every repetition is bounded so that hostile input cannot make these searches slow.
_LOGIN_PLACES_RE = re.compile(
    r"<title\b[^<>]*>([^<]*)|<h[1-6]\b[^<>]*>(.{0,300}?)</h[1-6]|<button\b[^<>]*>(.{0,300}?)</button"
    r"|<form\b(.{0,2000})",
    re.DOTALL,
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _as_text(first_bytes: bytes) -> str:
    data = first_bytes
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    return data.decode("utf-8", "replace")


def _looks_textual(first_bytes: bytes) -> bool:
    if b"\x00" in first_bytes:
        return False
    text = first_bytes.decode("utf-8", "replace")
    if not text:
        return True
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f"))
    return bad <= len(text) * 0.05


def html_title(body: bytes) -> str | None:
    """The title of an HTML page, whitespace collapsed (``'Maintenance | ExoFOP-TESS'``), or ``None``.

    Only the first :data:`SNIFF_BYTES` are searched; a page without a title, or with an empty one,
    gives ``None``.
    """
    match = _TITLE_RE.search(_as_text(body[:SNIFF_BYTES]))
    title = " ".join(match.group(1).split()) if match else ""
    return title or None


def sniff_body(first_bytes: bytes) -> BodyKind:
    """Guess what a response body is from its first bytes (a few KiB is plenty).

    * ``"zip"``: starts with a ZIP local header ``PK\\x03\\x04`` (or ``PK\\x05\\x06``, an empty zip);
    * ``"empty"``: no bytes, or only whitespace;
    * HTML (a ``<!DOCTYPE html>``, ``<html>``, ``<head>``, ``<body>``... tag near the start) is split
      by heuristics, case-insensitively and in this order: ``"html_login"`` when it has a password
      input; ``"html_no_files"`` when it says "no files"; ``"html_not_found"`` when it says "not
      found", "does not exist", "no such" or "404"; ``"html_login"`` when its title, a heading, a
      button or a form mentions logging in ("login", "log in", "sign in"); ``"html_other"``
      otherwise.  A "Login" link in a page's navigation bar alone does not make it a login page;
    * ``"text"`` for other mostly printable UTF-8, ``"binary"`` for the rest.

    Only the first :data:`SNIFF_BYTES` (64 KiB) are looked at.
    """
    first_bytes = first_bytes[:SNIFF_BYTES]
    if first_bytes.startswith(_ZIP_MAGIC):
        return "zip"
    if not first_bytes.strip():
        return "empty"
    text = _as_text(first_bytes)
    lowered = text.lower()
    stripped = lowered.lstrip()
    if stripped.startswith("<") and _HTML_RE.search(stripped[:4096]):
        if _PASSWORD_INPUT_RE.search(lowered):
            return "html_login"
        visible = _TAG_RE.sub(" ", lowered)
        if _NO_FILES_RE.search(visible):
            return "html_no_files"
        if _NOT_FOUND_RE.search(visible):
            return "html_not_found"
        places = " ".join(" ".join(m) for m in _LOGIN_PLACES_RE.findall(lowered))
        if _LOGIN_TEXT_RE.search(places):
            return "html_login"
        return "html_other"
    if first_bytes.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_textual(first_bytes):
        return "text"
    return "binary"


_KIND_LABELS: dict[str, str] = {
    "zip": "ZIP archive",
    "html_login": "HTML login page",
    "html_no_files": "HTML page saying there are no files",
    "html_not_found": "HTML page saying not found",
    "html_other": "HTML",
    "text": "text",
    "binary": "binary data",
}


def describe_bytes(first_bytes: bytes, *, total_size: int | None = None, width: int = 60) -> str:
    """A short, printable, single-line description of a body for error messages.

    For example ``'<!DOCTYPE html><html><head><title>Error' (HTML, 1,234 bytes)`` or
    ``b'\\x1f\\x8b\\x08\\x00' (binary data, 10 bytes)``.  ``total_size`` is the size of the whole body
    when ``first_bytes`` is only its beginning (defaults to ``len(first_bytes)``); it is given
    exactly, in bytes, since it is evidence.
    """
    size = len(first_bytes) if total_size is None else total_size
    first_bytes = first_bytes[:SNIFF_BYTES]
    count = f"{size:,} byte" + ("" if size == 1 else "s")
    kind = sniff_body(first_bytes)
    if kind == "empty":
        return f"nothing ({count})" if size == 0 or not first_bytes else f"only whitespace ({count})"
    label = _KIND_LABELS[kind]
    if first_bytes.startswith(b"SIMPLE  ="):
        label = "FITS file"
    elif first_bytes.startswith(b"%PDF"):
        label = "PDF document"
    elif first_bytes.startswith(b"\x1f\x8b"):
        label = "gzip data"
    if kind in ("zip", "binary"):
        snippet = repr(first_bytes[:16])
    else:
        text = " ".join(_as_text(first_bytes).split())
        snippet = repr(text[:width])
        if kind.startswith("html"):
            title = (html_title(first_bytes) or "")[:width]
            if title:
                label = f"{label} titled {title!r}"
    return f"{snippet} ({label}, {count})"

"""Broken answers of the name resolver (``gototicid.php``), for the switch ``name_service_answer``.

A site under maintenance, behind a misconfigured proxy or simply failing can answer a JSON request
with anything: a redirect to a ``file://`` URL, a body that never ends, JSON cut short, JSON whose
values have the wrong types, or arrays nested deeper than any parser's stack.  None of these says
whether the name is known.
"""

from __future__ import annotations

from collections.abc import Iterator

from exofop_mcp.replica.config import NameServiceAnswer
from exofop_mcp.replica.http_server import Response, StreamBody

HUGE_BYTES = 65 << 20
DEEP_LEVELS = 100_000
JSON_TYPE = ("Content-Type", "application/json")


def _huge_chunks(size: int) -> Iterator[bytes]:
    start = b'{"status":"OK","num":1,"TIC":"'
    yield start
    left = size - len(start)
    block = b"1" * (1 << 20)
    while left > 0:
        piece = block[: min(left, len(block))]
        left -= len(piece)
        yield piece


def broken_name_answer(kind: NameServiceAnswer) -> Response:
    """The answer of ``gototicid.php?target=...&json`` broken the way ``kind`` says."""
    if kind == "file_redirect":
        return Response(302, [("Location", "file:///etc/passwd"), ("Content-Type", "text/html")], b"")
    if kind == "huge":
        return Response(200, [JSON_TYPE], StreamBody(_huge_chunks(HUGE_BYTES), HUGE_BYTES))
    if kind == "truncated":
        return Response(200, [JSON_TYPE], b'{"status":"OK","num":1,"TIC":"2541')
    if kind == "mistyped":
        return Response(200, [JSON_TYPE], b'{"status":"OK","num":{"n":1},"TIC":{"id":[254113311]}}')
    return Response(200, [JSON_TYPE], b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS)

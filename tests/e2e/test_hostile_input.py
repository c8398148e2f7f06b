"""Hostile and malformed input: property-based parsing, and every argument of every tool.

Identifiers and pipe tables come from users and from ExoFOP; random text must either parse into
something consistent or be refused with the one documented error type.  Every tool argument is
then fed wrong types, out-of-range values, path traversal, very long and odd Unicode strings and
injection attempts through a real MCP client: each must be a short, clear tool error (or, where
the value is harmless text, an ordinary answer), must write nothing anywhere, and must not make
the server talk to any host but the configured one, nor carry the injection into a request.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopResponseError, InvalidIdentifierError
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.site.identifiers import MAX_QUERY_LENGTH, parse_identifier
from exofop_mcp.site.pipe_table import check_pipe_table, read_pipe_table
from tests.helpers.sandbox_checks import tree_snapshot
from tests.helpers.tool_client import text_of

# -- identifiers ----------------------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=300)  # surrogates, NUL, RTL, ...
HOSTILE_PIECES = st.sampled_from(
    ["TOI", "tic", "-", "_", " ", "\t", ".", "0", "1130", "01", "/", "..", "%00", "\x00", "\r\n", "\u202e",
     "\u200f", "😀", "&", "#", "@", "?", "=", "'", "*", "(", ")", "[", "]", "\\", "WASP", "b", "é", "\ufeff"]
)  # fmt: skip
HOSTILE_TEXT = st.lists(HOSTILE_PIECES, max_size=12).map("".join)
NAME_CHARS = re.compile(r"^[A-Za-z0-9 +\-_.'*/()\[\]]+$")


def check_parsed_or_refused(query: object) -> None:
    try:
        ident = parse_identifier(query)
    except InvalidIdentifierError as exc:
        message = str(exc)
        assert message
        # One printable line whatever came in: no control or format characters (CR/LF, NUL, RTL marks).
        assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in message), repr(message)
        return
    assert isinstance(query, str)
    normalized = " ".join(query.split())
    assert 0 < len(normalized) <= MAX_QUERY_LENGTH
    if ident.kind == "tic":
        assert ident.tic is not None and 1 <= ident.tic <= 9_999_999_999
        assert ident.exofop_target == str(ident.tic)
    elif ident.kind in ("toi", "planet"):
        assert ident.toi_host is not None and 1 <= ident.toi_host <= 999_999
        assert (ident.toi_suffix is None) == (ident.kind == "toi")
        assert ident.toi_suffix is None or 1 <= ident.toi_suffix <= 99
    else:  # a name travels to ExoFOP as typed, so it holds only the characters real star names use
        assert ident.name == normalized and NAME_CHARS.match(normalized)
        assert any(ch.isalpha() for ch in normalized)
    # parsing the value sent to ExoFOP gives the same identifier back
    again = parse_identifier(ident.exofop_target)
    assert (again.kind, again.tic, again.toi_host, again.toi_suffix, again.name) == (
        ident.kind,
        ident.tic,
        ident.toi_host,
        ident.toi_suffix,
        ident.name,
    )


@settings(max_examples=400, deadline=None)
@given(st.one_of(ANY_TEXT, HOSTILE_TEXT))
def test_any_text_is_an_identifier_or_a_clean_refusal(text):
    check_parsed_or_refused(text)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.binary(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    )
)
def test_anything_that_is_not_text_is_refused(value):
    with pytest.raises(InvalidIdentifierError):
        parse_identifier(value)


SEPARATORS = st.sampled_from(["", " ", "-", "_", "  ", "- ", " _ ", "\t", " - "])
CASES = st.sampled_from([str.lower, str.upper, str.title])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 999_999), st.integers(1, 99), SEPARATORS, CASES, st.booleans(), st.text(" \t", max_size=3))
def test_toi_and_planet_round_trip_in_any_spelling(host, suffix, sep, case, planet, padding):
    text = f"{padding}{case('toi')}{sep}{host}" + (f".{suffix:02d}" if planet else "") + padding
    ident = parse_identifier(text)
    assert ident.kind == ("planet" if planet else "toi")
    assert ident.toi_host == host and ident.toi_suffix == (suffix if planet else None)
    assert ident.exofop_target == (f"TOI{host}.{suffix:02d}" if planet else f"TOI{host}")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9_999_999_999), SEPARATORS, CASES, st.booleans())
def test_tic_round_trips_in_any_spelling(tic, sep, case, prefixed):
    ident = parse_identifier(f"{case('tic')}{sep}{tic}" if prefixed else str(tic))
    assert ident.kind == "tic" and ident.tic == tic and ident.exofop_target == str(tic)


NAMES = st.from_regex(r"\A[A-Za-z][A-Za-z0-9 +\-_.'*/()\[\]]{0,60}\Z").filter(
    lambda t: not re.match(r"(?i)^(tic|toi)", t.strip())
)


@settings(max_examples=300, deadline=None)
@given(NAMES, st.text(" \t", max_size=2))
def test_star_names_survive_as_typed(name, padding):
    ident = parse_identifier(padding + name + padding)
    assert ident.kind == "name"
    assert ident.name == ident.exofop_target == " ".join(name.split())


@pytest.mark.parametrize("planet_letter", ["b", "c", "h"])
def test_toi_with_a_planet_letter_is_a_name(planet_letter):
    ident = parse_identifier(f"TOI-1130 {planet_letter}")
    assert ident.kind == "name" and ident.name == f"TOI-1130 {planet_letter}"


def test_longest_query_is_accepted_and_one_more_character_refused():
    assert parse_identifier("A" * MAX_QUERY_LENGTH).kind == "name"
    with pytest.raises(InvalidIdentifierError, match="characters long"):
        parse_identifier("A" * (MAX_QUERY_LENGTH + 1))


# -- pipe tables ----------------------------------------------------------------------------------

CELL = st.text(alphabet=st.characters(blacklist_characters="|\r\n", blacklist_categories=("Cs",)), max_size=15)
NUMERIC_CELL = st.one_of(
    st.just(""),
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


def spelled(cell: str, value: Any) -> bool:
    """A parsed value is the cell's text, the number the cell spells, or None for a blank cell."""
    if not cell.strip():
        return value is None
    if isinstance(value, str):
        return value == cell.strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        number = float(cell)
    except ValueError:
        return False
    return value == number or (math.isnan(number) and math.isnan(value)) or math.isclose(value, number)


# Integers past 2**53 in a column that also holds floats become floats (astropy warns); isclose allows that.
@pytest.mark.filterwarnings("ignore:OverflowError converting to FloatType")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(NUMERIC_CELL, NUMERIC_CELL, CELL), min_size=1, max_size=8))
def test_numeric_and_text_columns_round_trip(rows):
    text = "n|x|note\n" + "\n".join("|".join(r) for r in rows) + "\n"
    parsed = read_pipe_table(text, text_columns={"note"})
    kept = [r for r in rows if "|".join(r).strip()]
    assert len(parsed) == len(kept)  # no row lost, none invented by odd characters in a cell
    for row, cells in zip(parsed, kept, strict=True):
        assert list(row) == ["n", "x", "note"]
        assert row["note"] == (cells[2].strip() or None)
        for name, cell in zip(("n", "x"), cells[:2], strict=True):
            assert spelled(cell, row[name]), (name, cell, row[name])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=6))
def test_untyped_columns_hold_their_cells_or_the_numbers_they_spell(rows):
    text = "a|b|c\n" + "\n".join("|".join(r) for r in rows) + "\n"
    parsed = read_pipe_table(text)  # no text columns declared: the parser infers every column's type
    kept = [r for r in rows if "|".join(r).strip()]
    assert len(parsed) == len(kept)
    for row, cells in zip(parsed, kept, strict=True):
        for name, cell in zip("abc", cells, strict=True):
            assert spelled(cell, row[name]), (name, cell, row[name])


GARBAGE_PIECES = st.sampled_from(
    ["|", "||", "\n", "\r\n", "\r", " ", "a", "TIC ID", "TOI", "1", "-1.5e3", "nan", "inf", '"', "'", "#", "<",
     "<html>", "\x00", "\x85", "\u2028", "\x0b", "\x1c", "\ufeff", "é", "😀", ",", "\t"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.lists(GARBAGE_PIECES, max_size=40).map("".join)), st.booleans())
def test_garbage_tables_parse_or_raise_the_documented_error(text, declare_text):
    try:
        rows = read_pipe_table(text, text_columns={"a", "TIC ID"} if declare_text else ())
    except ExofopResponseError:
        pass
    else:
        assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
    try:
        header = check_pipe_table(text, ("TIC ID",), page="download_toi.php")
    except ExofopResponseError as exc:
        assert "download_toi.php" in str(exc)
    else:
        assert "TIC ID" in header


# -- every tool argument --------------------------------------------------------------------------

LONG = "x" * 10_000
TRAVERSALS = ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "C:\\Windows\\win.ini", "~/.ssh/id_rsa"]
ODD_UNICODE = ["\u202eWASP-46", "WASP\u200f-46", "WASP-46 😀", "WASP\x00-46", "\ufeffTOI-1130", "ＴＯＩ-1130"]
INJECTIONS = [
    "WASP-46&target=x",
    "x#frag",
    "%00",
    "a\r\nX-Injected: 1",
    "WASP-46\r\n\r\nGET /evil HTTP/1.1",
    "x@evil.example",
    "//evil.example/x",
    "http://evil.example/",
    "WASP-46'; DROP TABLE tois; --",
]
STRINGS = [LONG, "", " ", *TRAVERSALS, *ODD_UNICODE, *INJECTIONS]
WRONG_TYPES: list[Any] = [None, 5, 1.5, True, [], {}, ["TOI-1130"]]


def bad_values(field: str) -> list[Any]:
    """Values of one argument that must be refused."""
    if field in ("system", "query"):
        return [*WRONG_TYPES, *STRINGS]
    if field == "list_downloads.system":  # optional: None (and "") ask for every system
        return [v for v in (*WRONG_TYPES, *STRINGS) if v not in (None, "")]
    if field == "tags":
        return ["18493", 18493, [], [0], [-5], [10**12], [1.5], [True], ["../x"], [None], [[18493]],
                list(range(1, 502)), [LONG]]  # fmt: skip
    if field == "kind":
        return [*WRONG_TYPES, "videos", "files/../x", "../../etc", LONG, "TIME_SERIES\x00"]
    if field in ("limit", "offset"):
        return [-1, "ten", 1.5, None, [], 10**30 if field == "limit" else -(10**30), 0 if field == "limit" else -1]
    if field in ("since", "until"):
        return ["2024-13-45", "yesterday", 20240101, "../../etc", LONG, "2024-01-01T00:00:00+99:00"]
    if field == "planet":
        return ["TOI-1130", "WASP-46 b", "../x", LONG, *INJECTIONS[:4], 5]
    if field in ("telescope", "instrument", "filter", "user"):
        return [5, [], {}, LONG]
    if field in ("unzip", "overwrite", "keep_zip"):
        return ["maybe", 2, [], {}]
    if field == "wait_seconds":
        return [-1, 301, 1e9, float("nan"), "soon", []]
    if field == "job_id":
        return [*WRONG_TYPES, "", LONG[:65], "../../x", "ABCDEF", "abc\x00", "abc def", "a" * 12]
    raise AssertionError(field)


# Values that are not errors but ordinary text: a filter naming a path matches no row and writes nothing.
HARMLESS: dict[str, list[Any]] = {
    "telescope": [*TRAVERSALS, *INJECTIONS, *ODD_UNICODE],
    "user": [*TRAVERSALS, *INJECTIONS],
    "instrument": ["../../etc/passwd", "%00"],
    "filter": ["../../etc", "x#frag"],
}

VALID: dict[str, dict[str, Any]] = {
    "resolve_system": {"query": "TOI-1130"},
    "list_observations": {"system": "TOI-1130"},
    "download_tags": {"system": "TOI-1130", "tags": [18493]},
    "download_status": {"job_id": "abcdef123456"},
    "cancel_download": {"job_id": "abcdef123456"},
    "list_downloads": {"system": "TOI-1130"},
    "login_status": {},
}


def cases_for(tool: str, fields: list[str]) -> list[tuple[str, dict[str, Any], str]]:
    cases: list[tuple[str, dict[str, Any], str]] = []
    for field in fields:
        for value in bad_values(f"{tool}.{field}" if tool == "list_downloads" else field):
            base = dict(VALID[tool])
            if tool == "download_tags" and field not in ("system", "tags", "wait_seconds", *bad_bools()):
                base = {"system": "TOI-1130", "kind": "time_series"}  # filters apply only with a kind
            cases.append((field, {**base, field: value}, "error"))
        for value in HARMLESS.get(field, []):
            base = dict(VALID[tool]) if tool != "download_tags" else {"system": "TOI-1130", "kind": "time_series"}
            cases.append((field, {**base, field: value}, "harmless"))
    for field in [f for f in fields if f in ("system", "query", "job_id") and tool != "list_downloads"]:
        cases.append((field, {k: v for k, v in VALID[tool].items() if k != field}, "error"))  # left out
    return cases


def bad_bools() -> tuple[str, ...]:
    return ("unzip", "overwrite", "keep_zip")


class RequestSpy:
    """Every request the process's HTTP clients actually send (host, path, query, headers)."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = httpx.AsyncHTTPTransport.handle_async_request
        spy = self

        async def handle(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
            spy.sent.append(request)
            return await original(transport, request)

        monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)


def assert_only_the_replica_was_asked(spy: RequestSpy, replica, names: list[str]) -> None:
    for request in spy.sent:
        assert (request.url.host, request.url.port) == ("127.0.0.1", replica.port), request.url
        assert request.url.path.startswith("/tess/"), request.url
        assert not request.url.fragment
        for key, value in request.headers.items():
            assert key.lower() != "x-injected" and "\r" not in value and "\n" not in value
        if request.url.path.endswith("gototicid.php"):
            assert set(request.url.params) == {"target", "json"}
    for record in replica.requests:
        assert record.path.startswith("/tess/"), record.path
        assert "evil" not in record.path and "X-Injected" not in record.path
        if record.path.endswith("gototicid.php"):
            assert set(record.query) == {"target", "json"}
            assert record.query["target"] in names, record.query  # the whole name, one parameter value


def assert_clear_error(message: str, value: Any) -> None:
    assert message.startswith("Error executing tool "), message
    assert "Traceback" not in message and "pydantic" not in message and "https://" not in message, message
    assert "For further information" not in message and "input_value" not in message
    assert len(message) < 2000 and "\x00" not in message and "\r" not in message
    if isinstance(value, str) and len(value) > 1000:
        assert value[:300] not in message, "a 10,000-character value is echoed back"


TOOL_FIELDS = {
    "resolve_system": ["query"],
    "list_observations": ["system", "kind", "telescope", "instrument", "filter", "user", "planet", "since",
                          "until", "limit", "offset"],
    "download_tags": ["system", "tags", "kind", "telescope", "user", "planet", "since", "unzip", "overwrite",
                      "keep_zip", "wait_seconds"],
    "download_status": ["job_id", "wait_seconds"],
    "cancel_download": ["job_id"],
    "list_downloads": ["system"],
    "login_status": [],
}  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize("tool", sorted(TOOL_FIELDS))
async def test_every_bad_argument_is_a_clear_tool_error(tool, warm_settings, replica, tmp_path, monkeypatch):
    spy = RequestSpy()
    spy.install(monkeypatch)
    basetemp = tmp_path.parent
    around = sorted(os.listdir(basetemp))
    passwd = Path("/etc/passwd").stat().st_mtime_ns if Path("/etc/passwd").exists() else None
    cases = cases_for(tool, TOOL_FIELDS[tool])
    if tool == "login_status":  # no arguments: an unknown one is refused by name, never acted on
        cases = [("path", {"path": p}, "unknown") for p in TRAVERSALS] + [("x", {"x": LONG}, "unknown")]
    else:  # an unknown argument cannot steer anything either: it is refused by name
        cases.append(("data_dir", {**VALID[tool], "data_dir": "/etc", "path": "../../x"}, "unknown"))
    names = [" ".join(s.split()) for s in STRINGS] + ["TOI-1130"]  # names travel whitespace-normalized
    problems = []
    async with Client(build_server(warm_settings)) as client:
        for field, args, expect in cases:
            before = tree_snapshot(tmp_path)
            result = await client.call_tool(tool, args)
            message = text_of(result)
            try:
                if expect == "error":
                    assert result.is_error, f"accepted: {result.structured_content}"
                    assert_clear_error(message, args.get(field))
                elif expect == "unknown":
                    assert result.is_error, f"accepted: {result.structured_content}"
                    assert "unknown argument" in message and repr(field) in message, message
                elif expect == "harmless":
                    assert not result.is_error, message
                    if tool == "list_observations":
                        assert result.structured_content["total"] == 0
                    if tool == "download_tags":
                        assert result.structured_content["tags_total"] == 0
                assert tree_snapshot(tmp_path) == before, "something was written"
            except AssertionError as exc:
                problems.append(f"{field}={args.get(field)!r:.80}: {exc}")
    assert problems == [], "\n".join(problems)
    # nothing appeared next to the test's directory, nor anywhere a traversal could reach
    assert sorted(os.listdir(basetemp)) == around
    assert passwd is None or Path("/etc/passwd").stat().st_mtime_ns == passwd
    assert not [p for p in tmp_path.rglob("*") if p.name in ("passwd", "x", "evil", "win.ini", "id_rsa")]
    # the calls with unknown arguments were refused before anything was written
    assert not [p for p in warm_settings.data_dir.rglob("*") if p.is_file()]
    assert_only_the_replica_was_asked(spy, replica, names)


@pytest.mark.anyio
async def test_names_cannot_change_the_host_or_smuggle_parameters(warm_settings, replica, monkeypatch):
    """Below the parser: hostile text handed straight to the client lands as one encoded parameter value."""
    spy = RequestSpy()
    spy.install(monkeypatch)
    hostile = [
        *INJECTIONS,
        "..%2F..%2Fetc",
        "\u202eabc",
        "a b/../../c?d=e",
        "WASP-46\x00",
        "x:y@127.0.0.2:99/",
        "\\\\evil.example\\share",
    ]
    async with Exofop(warm_settings) as exofop:
        for name in hostile:
            assert httpx.URL(exofop.client.url("gototicid.php", {"target": name})).host == "127.0.0.1"
            await exofop.client.get_json("gototicid.php", {"target": name, "json": True})
    assert len(spy.sent) == len(hostile) == replica.count("gototicid.php")
    assert_only_the_replica_was_asked(spy, replica, hostile)
    assert [r.query["target"] for r in replica.requests] == hostile  # exactly what was sent, decoded back
    for request in spy.sent:
        raw = request.url.raw_path.decode("ascii")
        assert raw.count("?") == 1 and "#" not in raw and " " not in raw and "\r" not in raw

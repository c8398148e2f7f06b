import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exofop_mcp.errors import ExofopResponseError
from exofop_mcp.site.pipe_table import PipeRowReader, check_pipe_table, read_pipe_table
from exofop_mcp.site.records import TimeSeriesObservation, TOIRecord

HEADER = (
    "TIC ID|TIC|TOI|Telescope|Camera|Filter|Pixel Scale|PSF|Phot Aperture Rad|Obs Date|Obs Duration|Num Obs|"
    "Obs Type|Transit Coverage|Delta Mag|User|Group|Tag|Notes"
)
ROWS = """\
254113311||TOI 1130.02|PEST (0.305 m)|ST-8XME|Rc|1.23|4.48|7.0|2020-03-30|230.0|184|Continuous|Full|8.3|tan|tfopwg|18493|
254113311||TOI 1130.02|LCO-SAAO-1m0 (1.0 m)|SINISTRO|zs|0.389|1.81|15.0|2020-06-07|272.0|260|Continuous|Full||collins|tfopwg|19442|nominal .02 with overlapping .01
"""


def test_typed_rows_empty_cells_are_none():
    rows = read_pipe_table(HEADER + "\n" + ROWS, text_columns=TimeSeriesObservation.text_columns())
    assert len(rows) == 2
    first, second = rows
    assert first["TIC ID"] == 254113311 and isinstance(first["TIC ID"], int)
    assert first["Pixel Scale"] == pytest.approx(1.23)
    assert first["Notes"] is None and first["TIC"] is None
    assert second["Delta Mag"] is None
    assert second["Notes"] == "nominal .02 with overlapping .01"
    assert first["Tag"] == 18493


def test_free_text_keeps_commas_and_quotes():
    row = '1||TOI 1.01|T|C|zs|1|1|1|2020-01-01|1|1|Continuous|Full|1|u|g|5|egress only, "odd" shape; check\'s'
    rows = read_pipe_table(HEADER + "\n" + row, text_columns=TimeSeriesObservation.text_columns())
    assert rows[0]["Notes"] == 'egress only, "odd" shape; check\'s'


def test_toi_stays_text():
    rows = read_pipe_table("TIC ID|TOI\n1|1130.10\n2|1130.01\n", text_columns={"TOI"})
    assert [r["TOI"] for r in rows] == ["1130.10", "1130.01"]


def test_header_only_is_empty_and_blank_is_empty():
    assert read_pipe_table(HEADER + "\n") == []
    assert read_pipe_table("") == []


def test_rows_with_extra_or_missing_trailing_cells():
    rows = read_pipe_table("a|b|c\n1|2|3|\n4|5\n", text_columns={"c"})
    assert rows == [{"a": 1, "b": 2, "c": "3"}, {"a": 4, "b": 5, "c": None}]


def test_mixed_numeric_column_keeps_text():
    rows = read_pipe_table("a|b\n1|x\n2|3\n")
    assert [r["b"] for r in rows] == ["x", "3"]


def test_check_pipe_table_detects_html_and_renamed_columns():
    with pytest.raises(ExofopResponseError, match="HTML"):
        check_pipe_table("<!DOCTYPE html><html>", ["TIC ID"], page="download_toi.php")
    with pytest.raises(ExofopResponseError, match="TIC ID"):
        check_pipe_table("TIC|TOI\n1|2\n", ["TIC ID", "TOI"], page="download_toi.php")
    with pytest.raises(ExofopResponseError):
        check_pipe_table("   ", ["TIC ID"], page="download_toi.php")


def test_full_snapshot_parses_into_records():
    data = Path(__file__).resolve().parents[2] / "exofop_mcp" / "replica" / "data" / "toi_table.pipe.gz"
    if not data.exists():
        pytest.skip("replica data not present")
    text = gzip.decompress(data.read_bytes()).decode()
    rows = read_pipe_table(text, text_columns=TOIRecord.text_columns())
    assert len(rows) == 7710
    records = [TOIRecord.model_validate(r) for r in rows]
    toi1130 = [r for r in records if r.toi and r.toi.startswith("1130.")]
    assert {r.toi for r in toi1130} == {"1130.01", "1130.02"}
    assert all(r.tic_id == 254113311 for r in toi1130)
    assert records[0].comments == "WASP-46 b"


cell = st.text(alphabet=st.characters(blacklist_characters="|\r\n", blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=5))
def test_text_columns_round_trip(rows):
    text = "a|b|c\n" + "\n".join("|".join(r) for r in rows) + "\n"
    parsed = read_pipe_table(text, text_columns={"a", "b", "c"})
    expected = [{k: (v.strip() or None) for k, v in zip("abc", r, strict=True)} for r in rows if "|".join(r).strip()]
    assert parsed == expected


def test_only_the_wanted_columns_are_returned():
    rows = read_pipe_table(HEADER + "\n" + ROWS, text_columns={"Notes"}, columns={"Tag", "Notes", "Missing"})
    assert rows == [{"Tag": 18493, "Notes": None}, {"Tag": 19442, "Notes": "nominal .02 with overlapping .01"}]


first_line = st.text(alphabet=st.sampled_from("ab |<>&;.,'\"0123"), max_size=15)
more_line = st.tuples(st.sampled_from("abcXYZ<&"), st.text(alphabet=st.sampled_from("ab |<>&;.0123"), max_size=12))


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**10 - 1), st.integers(0, 99), first_line, st.lists(more_line, max_size=3)),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, 4),
)
def test_continuation_lines_and_separators_stay_in_their_row(rows, batch):
    """A note holding '|' and running over several lines stays in its row, batch or streamed."""
    notes = ["\n".join([first, *(a + b for a, b in more)]) for _, _, first, more in rows]
    text = "TIC ID|Tag|Notes\n" + "".join(
        f"{tic}|{tag}|{note}\n" for (tic, tag, _, _), note in zip(rows, notes, strict=True)
    )
    # '|' at the very end of a row reads as ExoFOP's trailing separator (dropped), wherever it came from
    expected = [
        {"TIC ID": tic, "Tag": tag, "Notes": note.rstrip(" |").strip() or None}
        for (tic, tag, _, _), note in zip(rows, notes, strict=True)
    ]
    options = {"text_columns": {"Notes"}, "key_column": "TIC ID", "free_text": {"Notes"}}
    assert read_pipe_table(text, **options) == expected
    lines = text.split("\n")
    reader = PipeRowReader(lines[0], **options)
    streamed = []
    for start in range(1, len(lines), batch):
        streamed += reader.rows(lines[start : start + batch])
    assert streamed + reader.rows([], final=True) == expected


def test_extra_separators_stay_in_a_free_text_column_that_is_not_the_last():
    text = "TIC ID|Notes|Tag\n1|a | b | c|17\n2|plain|18\n"
    rows = read_pipe_table(text, text_columns={"Notes"}, key_column="TIC ID", free_text={"Notes"})
    assert rows == [{"TIC ID": 1, "Notes": "a | b | c", "Tag": 17}, {"TIC ID": 2, "Notes": "plain", "Tag": 18}]


def test_without_a_key_column_every_line_is_a_row():
    assert read_pipe_table("a|b\n1|x\ny\n") == [{"a": "1", "b": "x"}, {"a": "y", "b": None}]

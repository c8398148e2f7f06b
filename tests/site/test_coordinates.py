import gzip
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exofop_mcp.site.coordinates import parse_sexagesimal, to_degrees
from exofop_mcp.site.pipe_table import read_pipe_table

DATA = Path(__file__).resolve().parents[2] / "exofop_mcp" / "replica" / "data" / "toi_table.pipe.gz"


def test_known_values():
    assert to_degrees(["19:05:30.24"], ["-41:26:15.5"]) == [(286.376, -41.4376389)]
    assert parse_sexagesimal("-00:30:00", hours=False) == -0.5
    assert parse_sexagesimal("+10:00:00", hours=False) == 10.0
    assert parse_sexagesimal("12.5", hours=False) == 12.5


@pytest.mark.parametrize("bad", [None, "", "junk", "12:61:00", "12:00:75", "25:00:00x", "99:00:00"])
def test_bad_cells_give_none(bad):
    assert parse_sexagesimal(bad, hours=False) is None
    assert parse_sexagesimal(bad, hours=True) is None


@pytest.mark.slow  # all 7710 catalog rows through astropy
def test_every_catalog_row_matches_astropy():
    from astropy.coordinates import Angle

    rows = read_pipe_table(gzip.decompress(DATA.read_bytes()).decode(), text_columns={"RA", "Dec"})
    ra = [r["RA"] for r in rows]
    dec = [r["Dec"] for r in rows]
    ours = to_degrees(ra, dec)
    ra_ref = Angle(ra, unit="hourangle").degree
    dec_ref = Angle(dec, unit="deg").degree
    assert len(ours) == 7710
    for (r, d), r_ref, d_ref in zip(ours, ra_ref, dec_ref, strict=True):
        assert r == pytest.approx(r_ref, abs=1e-6)
        assert d == pytest.approx(d_ref, abs=1e-6)


@given(st.integers(0, 23), st.integers(0, 59), st.floats(0, 59.999, allow_nan=False))
def test_round_trip_hours(h, m, s):
    text = f"{h:02d}:{m:02d}:{s:06.3f}"
    written = float(text.rsplit(":", 1)[1])
    assert parse_sexagesimal(text, hours=True) == pytest.approx(15 * (h + m / 60 + written / 3600), abs=1e-6)


@given(st.text(max_size=30))
def test_never_crashes(text):
    parse_sexagesimal(text, hours=True)
    parse_sexagesimal(text, hours=False)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exofop_mcp.errors import InvalidIdentifierError
from exofop_mcp.site.identifiers import normalize_name, parse_identifier, star_name_of


@pytest.mark.parametrize(
    "text",
    [
        "254113311",
        "TIC 254113311",
        "TIC-254113311",
        "TIC_254113311",
        "tic254113311",
        " tic  254113311 ",
        "Tic-254113311",
    ],
)
def test_tic_forms(text):
    ident = parse_identifier(text)
    assert ident.kind == "tic"
    assert ident.tic == 254113311
    assert ident.exofop_target == "254113311"


@pytest.mark.parametrize("text", ["TOI-1130", "TOI 1130", "TOI_1130", "TOI1130", "toi-1130", "toi1130", "Toi_1130"])
def test_host_toi_forms(text):
    ident = parse_identifier(text)
    assert ident.kind == "toi"
    assert ident.toi_host == 1130
    assert ident.exofop_target == "TOI1130"


@pytest.mark.parametrize("text", ["TOI-1130.01", "toi-1130.01", "TOI 1130.01", "TOI_1130.01", "toi1130.01", "1130.01"])
def test_planet_toi_forms(text):
    ident = parse_identifier(text)
    assert ident.kind == "planet"
    assert ident.planet_toi == "1130.01"
    assert ident.exofop_target == "TOI1130.01"


def test_planet_suffix_ten_is_not_one():
    assert parse_identifier("TOI-1130.10").planet_toi == "1130.10"


@pytest.mark.parametrize("text", ["WASP-46", "Kepler-633", "TOI-1130 b", "HD 1397", "LP 791-18", "toi 1130 c"])
def test_names(text):
    ident = parse_identifier(text)
    assert ident.kind == "name"
    assert ident.name == " ".join(text.split())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "TIC",
        "TIC 12345678901",
        "TOI-",
        "TOI-abc",
        "TOI-1130.1",
        "TOI-1130.001",
        "TOI-1130.00",
        "0",
        "TOI-0",
        "<script>",
        "../../etc/passwd",
        "a" * 101,
        "WASP-46; DROP TABLE",
        "12345.5.5",
        "---",
    ],
)
def test_garbage_is_rejected_with_accepted_forms(text):
    with pytest.raises(InvalidIdentifierError) as err:
        parse_identifier(text)
    assert str(err.value)


def test_error_lists_accepted_forms():
    with pytest.raises(InvalidIdentifierError) as err:
        parse_identifier("<script>")
    assert "TOI-1130" in str(err.value) and "TIC 254113311" in str(err.value)


def test_non_string_rejected():
    with pytest.raises(InvalidIdentifierError):
        parse_identifier(254113311)


def test_normalize_and_star_name():
    assert normalize_name("WASP-46") == normalize_name("wasp 46") == normalize_name("Wasp_46") == "wasp46"
    assert star_name_of("WASP-46 b") == "WASP-46"
    assert star_name_of("LP 791-18 c") == "LP 791-18"
    assert star_name_of("Kepler-633") == "Kepler-633"


@given(st.text(max_size=120))
def test_parser_never_crashes(text):
    try:
        ident = parse_identifier(text)
    except InvalidIdentifierError:
        return
    assert ident.kind in {"tic", "toi", "planet", "name"}


@given(st.integers(min_value=1, max_value=9_999_999_999), st.sampled_from(["", "TIC ", "tic-", "TIC_"]))
def test_tic_round_trip(tic, prefix):
    assert parse_identifier(f"{prefix}{tic}").tic == tic


@given(
    st.integers(min_value=1, max_value=999_999),
    st.integers(min_value=1, max_value=99),
    st.sampled_from(["TOI-", "toi ", "TOI_", "toi", ""]),
)
def test_planet_round_trip(host, suffix, prefix):
    ident = parse_identifier(f"{prefix}{host}.{suffix:02d}")
    assert (ident.toi_host, ident.toi_suffix) == (host, suffix)
    assert parse_identifier(ident.exofop_target).planet_toi == ident.planet_toi

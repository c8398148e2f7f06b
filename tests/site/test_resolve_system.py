"""resolve_system through a real MCP client, against the replica."""

from __future__ import annotations

import pytest

from exofop_mcp.replica import dataset
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio

TOI_1130_FORMS = [
    "TOI-1130",
    "toi1130",
    "TOI 1130",
    "TOI_1130",
    "TOI_1130.02",
    "toi-1130.01",
    "1130.01",
    "tic 254113311",
    "TIC-254113311",
    "254113311",
    "TOI-1130 b",
]


@pytest.mark.parametrize("query", TOI_1130_FORMS)
async def test_every_form_gives_the_same_canonical_system(warm_settings, query):
    s = await ok(warm_settings, "resolve_system", {"query": query})
    assert s["canonical_name"] == "TOI-1130"
    assert s["tic_id"] == 254113311
    assert s["host_toi"] == 1130
    assert [p["toi"] for p in s["planets"]] == ["1130.01", "1130.02"]
    assert s["exofop_url"].endswith("/tess/target.php?id=254113311")


async def test_key_facts(warm_settings):
    s = await ok(warm_settings, "resolve_system", {"query": "TOI-1130"})
    assert s["ra_deg"] == pytest.approx(286.376, abs=0.01)
    assert s["dec_deg"] == pytest.approx(-41.44, abs=0.01)
    assert s["tess_mag"] == pytest.approx(9.8, abs=0.5)
    assert s["observation_counts"] == {"time_series": 79, "spectroscopy": 21, "imaging": 4}
    planet = s["planets"][1]
    for key in (
        "tess_disposition",
        "tfopwg_disposition",
        "period_days",
        "duration_hours",
        "depth_ppm",
        "planet_radius_earth",
    ):
        assert planet.get(key) is not None, key
    assert s["catalog"]["stale"] is False


@pytest.mark.parametrize(
    ("query", "matched_by"),
    [("TOI-1130", "toi"), ("TOI-1130.02", "planet_toi"), ("TIC 254113311", "tic"), ("WASP-46", "name_resolver")],
)
async def test_matched_by(warm_settings, query, matched_by):
    s = await ok(warm_settings, "resolve_system", {"query": query})
    assert s["matched_by"] == matched_by


async def test_common_name(warm_settings):
    s = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})
    assert s["canonical_name"] == "TOI-101"
    assert s["tic_id"] == 231663901
    assert s["matched_name"] == "WASP-46"


async def test_star_without_toi_resolves_by_tic(warm_settings):
    s = await ok(warm_settings, "resolve_system", {"query": "Kepler-633"})
    assert s["tic_id"] == dataset.KEPLER_633_TIC
    assert s["canonical_name"] == f"TIC-{dataset.KEPLER_633_TIC}"
    assert "host_toi" not in s and s["planets"] == []
    by_tic = await ok(warm_settings, "resolve_system", {"query": f"TIC {dataset.KEPLER_633_TIC}"})
    assert by_tic["canonical_name"] == s["canonical_name"]


async def test_any_tic_without_toi_is_a_star_known_by_its_tic(warm_settings, replica):
    s = await ok(warm_settings, "resolve_system", {"query": "TIC 999999999"})
    assert s["canonical_name"] == "TIC-999999999" and s["planets"] == []
    assert any("no TOI" in n for n in s["notes"])
    assert replica.count("gototicid.php") == 1  # ExoFOP was asked whether it knows the star


async def test_ambiguous_name_lists_candidates(warm_settings):
    message = await error(warm_settings, "resolve_system", {"query": dataset.AMBIGUOUS_NAME})
    for tic in dataset.AMBIGUOUS_NAME_TICS:
        assert str(tic) in message
    assert "TOI-1110" in message and "TOI-2107" in message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("TOI-999999", "not in ExoFOP's TOI table"),
        ("TOI-1130.07", "not a planet candidate of TOI-1130"),
        ("Nonexistent Star 123", "No star or planet named"),
    ],
)
async def test_unknown_targets_are_errors(warm_settings, query, expected):
    assert expected in await error(warm_settings, "resolve_system", {"query": query})


@pytest.mark.parametrize("query", ["", "<script>alert(1)</script>", "../../etc/passwd", "x" * 300, "TOI-1130.1"])
async def test_bad_input_is_a_clear_tool_error(warm_settings, query):
    message = await error(warm_settings, "resolve_system", {"query": query})
    assert message


async def test_wrong_type_is_a_tool_error(warm_settings):
    message = await error(warm_settings, "resolve_system", {"query": 1130})
    assert "query" in message


async def test_cold_toi_lookup_asks_only_for_that_toi(settings, replica):
    s = await ok(settings, "resolve_system", {"query": "TOI-1130.02"})
    assert s["canonical_name"] == "TOI-1130"
    assert s["catalog"]["source"] == "toi_page"
    assert replica.count("download_toi.php", toi="1130") == 1


async def test_legacy_handshake_gives_the_same_answer(warm_settings):
    modern = await ok(warm_settings, "resolve_system", {"query": "TOI-1130"})
    legacy = await ok(warm_settings, "resolve_system", {"query": "TOI-1130"}, mode="legacy")
    modern.pop("catalog")
    legacy.pop("catalog")
    assert modern == legacy


async def test_names_fall_back_to_the_catalog_when_the_name_resolver_fails(warm_settings, replica):
    replica.configure(fault_paths=("gototicid.php",), error_rate=1.0, fault_kinds=("5xx",))
    s = await ok(warm_settings, "resolve_system", {"query": "WASP-46"})
    assert s["canonical_name"] == "TOI-101" and s["matched_by"] == "catalog_name"
    assert any("name resolver was unreachable" in n for n in s["notes"])
    assert replica.count("gototicid.php") >= 2  # it was tried, with retries
